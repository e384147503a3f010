#include "replay/ledger.hpp"

#include <cmath>
#include <pqxx/pqxx>

#include "replay/url.hpp"
#include "replay/validate.hpp"

namespace replay {

namespace {

constexpr const char* k_ddl = R"sql(
CREATE SCHEMA IF NOT EXISTS enmap_migrate;
CREATE TABLE IF NOT EXISTS enmap_migrate.runs (
    id bigserial PRIMARY KEY,
    source_id text NOT NULL,
    source text NOT NULL,
    plan_digest text NOT NULL,
    plan_dir text,
    mode text NOT NULL,
    status text NOT NULL,
    database text NOT NULL,
    tool_version text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    rows bigint NOT NULL DEFAULT 0,
    modules_committed integer NOT NULL DEFAULT 0,
    modules_failed integer NOT NULL DEFAULT 0,
    catalog_fingerprint text,
    options jsonb NOT NULL DEFAULT '{}',
    lossy jsonb NOT NULL DEFAULT '{}',
    error text
);
CREATE TABLE IF NOT EXISTS enmap_migrate.modules (
    run_id bigint NOT NULL REFERENCES enmap_migrate.runs (id) ON DELETE CASCADE,
    position integer NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    load_ms bigint NOT NULL DEFAULT 0,
    transform_ms bigint NOT NULL DEFAULT 0,
    verify_ms bigint NOT NULL DEFAULT 0,
    total_ms bigint NOT NULL DEFAULT 0,
    error text,
    PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS enmap_migrate.tables (
    run_id bigint NOT NULL REFERENCES enmap_migrate.runs (id) ON DELETE CASCADE,
    module text NOT NULL,
    enmap text NOT NULL,
    table_name text NOT NULL,
    rows bigint NOT NULL,
    source_digest text NOT NULL,
    PRIMARY KEY (run_id, table_name)
);
CREATE TABLE IF NOT EXISTS enmap_migrate.objects (
    run_id bigint NOT NULL REFERENCES enmap_migrate.runs (id) ON DELETE CASCADE,
    module text NOT NULL,
    seq integer NOT NULL,
    kind text NOT NULL,
    schema_name text NOT NULL,
    name text NOT NULL,
    identity text NOT NULL,
    rows_at_end bigint,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS enmap_migrate.drizzle_rows (
    run_id bigint NOT NULL REFERENCES enmap_migrate.runs (id) ON DELETE CASCADE,
    id bigint NOT NULL,
    hash text NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (run_id, id)
);
CREATE TABLE IF NOT EXISTS enmap_migrate.table_states (
    run_id bigint NOT NULL REFERENCES enmap_migrate.runs (id) ON DELETE CASCADE,
    identity text NOT NULL,
    rows bigint NOT NULL,
    digest text NOT NULL,
    PRIMARY KEY (run_id, identity)
);
CREATE TABLE IF NOT EXISTS enmap_migrate.written_tables (
    run_id bigint NOT NULL REFERENCES enmap_migrate.runs (id) ON DELETE CASCADE,
    module text NOT NULL,
    identity text NOT NULL,
    existed_before boolean NOT NULL,
    rows_before bigint,
    digest_before text,
    before_image text,
    sequences jsonb NOT NULL DEFAULT '[]',
    rows_after bigint,
    digest_after text,
    PRIMARY KEY (run_id, module, identity)
);
ALTER TABLE enmap_migrate.runs ADD COLUMN IF NOT EXISTS kind text;
-- The run's transaction ids: every row it wrote has an xmin in [xid_first, xid_end), and a row
-- written after it has one at or past xid_end (rollback postgres --force lists those rows).
ALTER TABLE enmap_migrate.runs ADD COLUMN IF NOT EXISTS xid_first bigint;
ALTER TABLE enmap_migrate.runs ADD COLUMN IF NOT EXISTS xid_end bigint;
ALTER TABLE enmap_migrate.runs ADD COLUMN IF NOT EXISTS base_run bigint;
)sql";

std::string ms(double seconds) {
    return std::to_string(std::llround(seconds * 1000.0));
}

std::string opt_text(pqxx::transaction_base& tx, const std::string& s) {
    return s.empty() ? "NULL" : tx.quote(s);
}

}  // namespace

void ensure_ledger(pqxx::transaction_base& tx) {
    tx.exec(k_ddl, "create the enmap_migrate ledger");
}

bool ledger_exists(pqxx::transaction_base& tx) {
    return !tx.exec1("SELECT to_regclass('enmap_migrate.runs') IS NULL")[0].as<bool>();
}

std::int64_t begin_run(pqxx::transaction_base& tx, const RunRecord& run) {
    auto row = tx.exec1(
        "INSERT INTO enmap_migrate.runs (source_id, source, plan_digest, plan_dir, mode, status, database, "
        "tool_version, catalog_fingerprint, options, kind, base_run) VALUES (" +
        tx.quote(run.source_id) + ", " + tx.quote(run.source) + ", " + tx.quote(run.plan_digest) + ", " +
        opt_text(tx, run.plan_dir) + ", " + tx.quote(run.mode) + ", 'running', " + tx.quote(run.database) +
        ", " + tx.quote(std::string(ENMAP_MIGRATE_VERSION)) + ", " + opt_text(tx, run.catalog_fingerprint) +
        ", " + tx.quote(run.options.dump()) + "::jsonb, " + opt_text(tx, run.kind) + ", " +
        (run.base_run > 0 ? std::to_string(run.base_run) : std::string("NULL")) + ") RETURNING id");
    return row[0].as<std::int64_t>();
}

void record_module(pqxx::transaction_base& tx, std::int64_t run_id, const ModuleRecord& m) {
    std::string id = std::to_string(run_id);
    tx.exec(
        "INSERT INTO enmap_migrate.modules (run_id, position, name, status, rows, load_ms, transform_ms, "
        "verify_ms, total_ms, error) VALUES (" +
        id + ", " + std::to_string(m.position) + ", " + tx.quote(m.name) + ", " + tx.quote(m.status) + ", " +
        std::to_string(m.rows) + ", " + ms(m.load_seconds) + ", " + ms(m.transform_seconds) + ", " +
        ms(m.verify_seconds) + ", " + ms(m.seconds) + ", " + opt_text(tx, m.error) + ")");
    for (const auto& t : m.tables) {
        tx.exec(
            "INSERT INTO enmap_migrate.tables (run_id, module, enmap, table_name, rows, source_digest) "
            "VALUES (" +
            id + ", " + tx.quote(m.name) + ", " + tx.quote(t.enmap) + ", " + tx.quote(t.table) + ", " +
            std::to_string(t.rows) + ", " + tx.quote(t.source_digest) + ")");
    }
    auto next =
        tx.exec1("SELECT coalesce(max(seq), 0) FROM enmap_migrate.objects WHERE run_id = " + id)[0].as<int>();
    for (std::size_t i = 0; i < m.objects.size(); ++i) {
        const auto& o = m.objects[i];
        std::int64_t rows = i < m.object_rows.size() ? m.object_rows[i] : -1;
        tx.exec(
            "INSERT INTO enmap_migrate.objects (run_id, module, seq, kind, schema_name, name, identity, "
            "rows_at_end) VALUES (" +
            id + ", " + tx.quote(m.name) + ", " + std::to_string(++next) + ", " + tx.quote(o.kind) + ", " +
            tx.quote(o.schema) + ", " + tx.quote(o.name) + ", " + tx.quote(o.identity) + ", " +
            (rows < 0 ? std::string("NULL") : std::to_string(rows)) + ")");
    }
}

void record_drizzle_rows(pqxx::transaction_base& tx, std::int64_t run_id,
                         const std::vector<DrizzleRow>& rows) {
    for (const auto& r : rows) {
        tx.exec("INSERT INTO enmap_migrate.drizzle_rows (run_id, id, hash, created_at) VALUES (" +
                std::to_string(run_id) + ", " + std::to_string(r.id) + ", " + tx.quote(r.hash) + ", " +
                std::to_string(r.created_at) + ")");
    }
}

TableState table_state(pqxx::transaction_base& tx, const std::string& identity) {
    std::string columns =
        tx.exec1(
              "SELECT coalesce(string_agg(attname || ' ' || format_type(atttypid, atttypmod), ',' ORDER BY "
              "attnum), '') FROM pg_attribute WHERE attrelid = " +
              tx.quote(identity) + "::regclass AND attnum > 0 AND NOT attisdropped")[0]
            .c_str();
    std::string row_text = columns == "key text,value jsonb" ? k_raw_row_text : "t::text";
    auto row = tx.exec1("SELECT count(*), " + checksum_sql(row_text) + " FROM " + identity + " t");
    return {identity, row[0].as<std::int64_t>(), row[1].c_str()};
}

void record_table_states(pqxx::transaction_base& tx, std::int64_t run_id,
                         const std::vector<TableState>& states) {
    for (const auto& s : states) {
        tx.exec("INSERT INTO enmap_migrate.table_states (run_id, identity, rows, digest) VALUES (" +
                std::to_string(run_id) + ", " + tx.quote(s.identity) + ", " + std::to_string(s.rows) + ", " +
                tx.quote(s.digest) + ")");
    }
}

void record_written_tables(pqxx::transaction_base& tx, std::int64_t run_id,
                           const std::vector<WrittenTable>& tables) {
    for (const auto& w : tables) {
        std::string before = "NULL, NULL, NULL, '[]'";
        if (w.before) {
            nlohmann::json sequences = nlohmann::json::array();
            for (const auto& q : w.before->sequences) {
                sequences.push_back(
                    {{"sequence", q.sequence}, {"last_value", q.last_value}, {"is_called", q.is_called}});
            }
            before = std::to_string(w.before->rows) + ", " + tx.quote(w.before->digest) + ", " +
                     opt_text(tx, w.before->before_image) + ", " + tx.quote(sequences.dump()) + "::jsonb";
        }
        std::string after =
            w.existed_before ? std::to_string(w.rows_after) + ", " + tx.quote(w.digest_after) : "NULL, NULL";
        tx.exec(
            "INSERT INTO enmap_migrate.written_tables (run_id, module, identity, existed_before, "
            "rows_before, "
            "digest_before, before_image, sequences, rows_after, digest_after) VALUES (" +
            std::to_string(run_id) + ", " + tx.quote(w.module) + ", " + tx.quote(w.identity) + ", " +
            (w.existed_before ? "true" : "false") + ", " + before + ", " + after + ")");
    }
}

bool written_tables_exist(pqxx::transaction_base& tx) {
    return !tx.exec1("SELECT to_regclass('enmap_migrate.written_tables') IS NULL")[0].as<bool>();
}

namespace {

// The run's transaction ids: its top-level id, and one past the newest id it has used. A write in a
// fresh savepoint gets a new subtransaction id, newer than every id the run's savepoints used
// before (ids are handed out in order); the row it writes carries it in xmin.
void record_xid_span(pqxx::transaction_base& tx, std::int64_t run_id) {
    std::string id = std::to_string(run_id);
    tx.exec("SAVEPOINT enmap_migrate_xid_span");
    auto r = tx.exec1("UPDATE enmap_migrate.runs SET xid_first = txid_current() WHERE id = " + id +
                      " RETURNING xmin::text::bigint, txid_current()");
    tx.exec("RELEASE SAVEPOINT enmap_migrate_xid_span");
    constexpr std::int64_t k_wrap = std::int64_t{1} << 32;
    auto newest32 = r[0].as<std::int64_t>();
    auto top = r[1].as<std::int64_t>();
    std::int64_t newest = (top / k_wrap) * k_wrap + newest32;
    if (newest < top) {
        newest += k_wrap;  // the 32-bit counter wrapped after the run's first id
    }
    tx.exec("UPDATE enmap_migrate.runs SET xid_end = " + std::to_string(newest + 1) + " WHERE id = " + id);
}

}  // namespace

void finish_run(pqxx::transaction_base& tx, std::int64_t run_id, const std::string& status,
                std::uint64_t rows, int modules_committed, int modules_failed, const std::string& error,
                const nlohmann::json& lossy) {
    tx.exec("UPDATE enmap_migrate.runs SET status = " + tx.quote(status) +
            ", finished_at = clock_timestamp(), rows = " + std::to_string(rows) +
            ", modules_committed = " + std::to_string(modules_committed) +
            ", modules_failed = " + std::to_string(modules_failed) + ", error = " + opt_text(tx, error) +
            ", lossy = " + tx.quote(lossy.dump()) + "::jsonb WHERE id = " + std::to_string(run_id));
    record_xid_span(tx, run_id);
}

std::vector<nlohmann::json> active_runs(pqxx::transaction_base& tx) {
    std::vector<nlohmann::json> out;
    if (!ledger_exists(tx)) {
        return out;
    }
    for (const auto& row :
         tx.exec("SELECT id, source_id, coalesce(finished_at::text, '') FROM enmap_migrate.runs "
                 "WHERE status IN ('committed', 'partial') ORDER BY id DESC")) {
        out.push_back({{"id", row[0].as<std::int64_t>()},
                       {"source_id", row[1].c_str()},
                       {"finished_at", row[2].c_str()}});
    }
    return out;
}

nlohmann::json read_ledger(pqxx::transaction_base& tx, int limit) {
    nlohmann::json out = {{"runs", nlohmann::json::array()}};
    if (!ledger_exists(tx)) {
        return out;
    }
    auto rows_json = [&](const std::string& query) {
        auto r = tx.exec1("SELECT coalesce(json_agg(q), '[]')::text FROM (" + query + ") q");
        return nlohmann::json::parse(r[0].c_str());
    };
    // A ledger written before kinds and written tables were recorded has neither.
    bool has_kind = !tx.exec(
                           "SELECT 1 FROM pg_attribute WHERE attrelid = 'enmap_migrate.runs'::regclass "
                           "AND attname = 'kind' AND NOT attisdropped")
                         .empty();
    bool has_base = !tx.exec(
                           "SELECT 1 FROM pg_attribute WHERE attrelid = 'enmap_migrate.runs'::regclass "
                           "AND attname = 'base_run' AND NOT attisdropped")
                         .empty();
    bool has_actions = !tx.exec1("SELECT to_regclass('enmap_migrate.actions') IS NULL")[0].as<bool>();
    bool has_written = written_tables_exist(tx);
    nlohmann::json runs = rows_json(
        std::string("SELECT id, source_id, source, plan_digest, plan_dir, mode, ") +
        (has_kind ? "kind" : "NULL AS kind") + (has_base ? ", base_run" : ", NULL AS base_run") +
        ", status, database, tool_version, started_at, "
        "finished_at, rows, modules_committed, modules_failed, catalog_fingerprint, options, lossy, error "
        "FROM enmap_migrate.runs ORDER BY id DESC LIMIT " +
        std::to_string(limit));
    for (auto& run : runs) {
        std::string id = std::to_string(run["id"].get<std::int64_t>());
        if (run["kind"].is_null()) {
            bool rehearsal =
                has_actions && !tx.exec("SELECT 1 FROM enmap_migrate.actions WHERE run_id = " + id +
                                        " AND action = 'rehearse'")
                                    .empty();
            run["kind"] = run["mode"] == "dry-run" ? "dry-run" : (rehearsal ? "rehearsal" : "replay");
        }
        run["written_tables"] =
            has_written ? rows_json(
                              "SELECT module, identity, existed_before, rows_before, digest_before, "
                              "before_image, rows_after, digest_after FROM enmap_migrate.written_tables "
                              "WHERE run_id = " +
                              id + " ORDER BY module, identity")
                        : nlohmann::json::array();
        run["modules"] = rows_json(
            "SELECT position, name, status, rows, load_ms, transform_ms, verify_ms, total_ms, error "
            "FROM enmap_migrate.modules WHERE run_id = " +
            id + " ORDER BY position");
        run["tables"] = rows_json(
            "SELECT module, enmap, table_name, rows, source_digest FROM enmap_migrate.tables "
            "WHERE run_id = " +
            id + " ORDER BY table_name");
        run["objects"] = rows_json(
            "SELECT seq, module, kind, schema_name, name, identity, rows_at_end "
            "FROM enmap_migrate.objects WHERE run_id = " +
            id + " ORDER BY seq");
        run["drizzle_rows"] =
            rows_json("SELECT id, hash, created_at FROM enmap_migrate.drizzle_rows WHERE run_id = " + id +
                      " ORDER BY id");
    }
    out["runs"] = runs;
    return out;
}

nlohmann::json read_ledger_of(const std::string& database, int limit) {
    auto conn = connect(database);
    try {
        pqxx::read_transaction tx(*conn);
        return read_ledger(tx, limit);
    } catch (const pqxx::sql_error& e) {
        throw enmap::DatabaseError("cannot read the ledger: " + redact_message(e.what(), database));
    }
}

}  // namespace replay
