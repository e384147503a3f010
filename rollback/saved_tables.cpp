#include "rollback/saved_tables.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <string_view>
#include <system_error>

#include "enmap/error.hpp"
#include "replay/process.hpp"
#include "replay/url.hpp"
#include "snapshot/fsutil.hpp"

namespace rollback {
namespace {

namespace fs = std::filesystem;

struct Relation {
    std::string schema;     // quoted
    std::string qualified;  // quoted schema.name
};

Relation relation(pqxx::transaction_base& tx, const std::string& identity) {
    auto meta = tx.exec1(
        "SELECT quote_ident(n.nspname), quote_ident(n.nspname) || '.' || quote_ident(c.relname) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = " +
        tx.quote(identity) + "::regclass");
    return {meta[0].c_str(), meta[1].c_str()};
}

// Copies the table's rows (or a query's) in COPY text format into the file, ending with "\.".
void copy_rows(pqxx::transaction_base& tx, const std::string& source, snapshot::AtomicFile& file) {
    pqxx::stream_from stream(tx, source);
    std::string line;
    while (stream.get_raw_line(line)) {
        if (line.empty() || line.back() != '\n') {
            line += '\n';
        }
        file.write(line);
    }
    stream.complete();
    file.write("\\.\n");
}

// ---- pg_dump ---------------------------------------------------------------------------------

struct PgDump {
    std::string path;
    std::string version;  // "15.10"
    int major = 0;
};

std::optional<PgDump> probe(const std::string& path) {
    if (::access(path.c_str(), X_OK) != 0) {
        return std::nullopt;
    }
    try {
        auto result = replay::run_process({path, "--version"});
        // "pg_dump (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)"
        auto at = result.output.find(") ");
        if (result.status != 0 || at == std::string::npos) {
            return std::nullopt;
        }
        std::string version = result.output.substr(at + 2);
        version = version.substr(0, version.find_first_of(" \n"));
        return PgDump{path, version, std::atoi(version.c_str())};
    } catch (const enmap::Error&) {
        return std::nullopt;
    }
}

// The installed pg_dumps: Debian's versioned folders, then PATH.
std::vector<PgDump> installed_pg_dumps() {
    std::vector<std::string> paths;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        paths.push_back((entry.path() / "bin" / "pg_dump").string());
    }
    if (const char* path_env = std::getenv("PATH")) {
        std::string_view rest(path_env);
        while (!rest.empty()) {
            auto colon = rest.find(':');
            std::string_view dir = rest.substr(0, colon);
            if (!dir.empty()) {
                paths.push_back(std::string(dir) + "/pg_dump");
            }
            rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
        }
    }
    std::vector<PgDump> out;
    for (const auto& p : paths) {
        std::error_code canon_ec;
        auto real = fs::weakly_canonical(p, canon_ec);
        std::string key = canon_ec ? p : real.string();
        if (std::any_of(out.begin(), out.end(), [&](const PgDump& d) { return d.path == key; })) {
            continue;
        }
        if (auto d = probe(key)) {
            out.push_back(*d);
        }
    }
    return out;
}

// The pg_dump of the server's major version, else the oldest newer one (pg_dump reads older servers,
// never newer ones); the reason when there is none.
std::optional<PgDump> choose_pg_dump(const std::string& wanted, int server_major, std::string& why_not) {
    if (wanted == "none") {
        why_not = "pg_dump not used (ENMAP_MIGRATE_PG_DUMP=none)";
        return std::nullopt;
    }
    std::vector<PgDump> found;
    if (!wanted.empty()) {
        if (auto d = probe(wanted)) {
            found.push_back(*d);
        }
    } else {
        found = installed_pg_dumps();
    }
    std::optional<PgDump> best;
    for (const auto& d : found) {
        if (d.major < server_major) {
            continue;
        }
        if (!best || (d.major == server_major && best->major != server_major) ||
            (best->major != server_major && d.major < best->major)) {
            best = d;
        }
    }
    if (!best) {
        std::string seen;
        for (const auto& d : found) {
            seen += (seen.empty() ? "" : ", ") + d.version;
        }
        why_not = "no pg_dump of version " + std::to_string(server_major) + " or later" +
                  (found.empty() ? std::string(" is installed") : " (found " + seen + ")");
    }
    return best;
}

// pg_dump of the tables, in the exported snapshot, to `out`; false (and why) when it fails.
bool run_pg_dump(const PgDump& dump, const std::string& url, const std::string& snapshot_id,
                 const std::vector<Relation>& relations, const fs::path& out, std::string& why_not) {
    auto split = replay::split_password(url);
    std::vector<std::string> argv{dump.path,
                                  "--dbname=" + split.conninfo,
                                  "--snapshot=" + snapshot_id,
                                  "--no-owner",
                                  "--no-privileges",
                                  "--strict-names",
                                  "--format=plain",
                                  "--file=" + out.string()};
    for (const auto& r : relations) {
        argv.push_back("--table=" + r.qualified);
    }
    std::vector<std::pair<std::string, std::string>> env;
    if (!split.password.empty()) {
        env.emplace_back("PGPASSWORD", split.password);
    }
    auto result = replay::run_process(argv, {}, env);
    if (result.status != 0) {
        why_not = "pg_dump " + dump.version + " failed (status " + std::to_string(result.status) +
                  "): " + replay::redact_message(result.output, url);
        return false;
    }
    return true;
}

// ---- the catalog -----------------------------------------------------------------------------

// One table's definition and rows, from the catalog: the fallback without a suitable pg_dump.
void write_from_catalog(pqxx::transaction_base& tx, const std::string& identity, const Relation& r,
                        snapshot::AtomicFile& file) {
    std::string oid = tx.quote(identity) + "::regclass";
    // Sequences a serial column owns, made before the table whose default calls them.
    std::string sequences_before;
    std::string sequences_after;
    for (const auto& row :
         tx.exec("SELECT quote_ident(n.nspname) || '.' || quote_ident(s.relname) FROM pg_depend d "
                 "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                 "JOIN pg_namespace n ON n.oid = s.relnamespace "
                 "WHERE d.refobjid = " +
                 oid + " AND d.classid = 'pg_class'::regclass AND d.deptype = 'a' ORDER BY 1")) {
        std::string seq = row[0].c_str();
        auto state = tx.exec1("SELECT last_value, is_called FROM " + seq);
        sequences_before += "CREATE SEQUENCE IF NOT EXISTS " + seq + ";\n";
        sequences_after += "SELECT setval(" + tx.quote(seq) + ", " + state[0].c_str() + ", " +
                           (state[1].as<bool>() ? "true" : "false") + ");\n";
    }
    std::string columns;
    std::string names;
    for (const auto& row :
         tx.exec("SELECT quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                 "a.attidentity, "
                 "a.attgenerated, pg_get_expr(d.adbin, d.adrelid), pg_get_serial_sequence(" +
                 tx.quote(r.qualified) +
                 ", a.attname) FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND "
                 "d.adnum = "
                 "a.attnum WHERE a.attrelid = " +
                 oid + " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
        std::string column = std::string("    ") + row[0].c_str() + " " + row[1].c_str();
        std::string identity_kind = row[3].c_str();
        std::string generated = row[4].c_str();
        if (!identity_kind.empty()) {
            column +=
                identity_kind == "a" ? " GENERATED ALWAYS AS IDENTITY" : " GENERATED BY DEFAULT AS IDENTITY";
            if (!row[6].is_null()) {
                auto state = tx.exec1(std::string("SELECT last_value, is_called FROM ") + row[6].c_str());
                sequences_after += "SELECT setval(pg_get_serial_sequence(" + tx.quote(r.qualified) + ", " +
                                   tx.quote(std::string(row[0].c_str())) + "), " + state[0].c_str() + ", " +
                                   (state[1].as<bool>() ? "true" : "false") + ");\n";
            }
        } else if (generated == "s" && !row[5].is_null()) {
            column += std::string(" GENERATED ALWAYS AS (") + row[5].c_str() + ") STORED";
        } else if (!row[5].is_null()) {
            column += std::string(" DEFAULT ") + row[5].c_str();
        }
        if (row[2].as<bool>()) {
            column += " NOT NULL";
        }
        columns += (columns.empty() ? "" : ",\n") + column;
        if (generated != "s") {  // COPY cannot write a generated column
            names += (names.empty() ? "" : ", ") + std::string(row[0].c_str());
        }
    }
    file.write("\nCREATE SCHEMA IF NOT EXISTS " + r.schema + ";\n" + sequences_before + "CREATE TABLE " +
               r.qualified + " (\n" + columns + "\n);\nCOPY " + r.qualified + " (" + names +
               ") FROM stdin;\n");
    copy_rows(tx, "(SELECT " + names + " FROM " + r.qualified + ")", file);
    file.write(sequences_after);
    // Constraints after the rows (foreign keys last: they may name a table saved later), then the
    // indexes that no constraint owns.
    for (const auto& row : tx.exec(
             "SELECT quote_ident(conname), pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = " +
             oid + " AND contype IN ('p', 'u', 'c', 'x', 'f') ORDER BY contype = 'f', conname")) {
        file.write("ALTER TABLE " + r.qualified + " ADD CONSTRAINT " + row[0].c_str() + " " + row[1].c_str() +
                   ";\n");
    }
    for (const auto& row :
         tx.exec("SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = " + oid +
                 " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
                 "i.indexrelid) ORDER BY i.indexrelid")) {
        file.write(std::string(row[0].c_str()) + ";\n");
    }
}

void append_file(const fs::path& from, snapshot::AtomicFile& to) {
    std::ifstream in(from, std::ios::binary);
    std::array<char, 1 << 16> buf{};
    while (in) {
        in.read(buf.data(), buf.size());
        if (in.gcount() > 0) {
            to.write(buf.data(), static_cast<std::size_t>(in.gcount()));
        }
    }
}

}  // namespace

std::string written_after_condition(std::int64_t xid_end) {
    constexpr std::int64_t k_wrap = std::int64_t{1} << 32;
    std::int64_t end32 = xid_end % k_wrap;
    return "((xmin::text::bigint - " + std::to_string(end32) + " + " + std::to_string(k_wrap) + ") % " +
           std::to_string(k_wrap) + ") < " + std::to_string(k_wrap / 2);
}

SaveReport save_changed_tables(pqxx::transaction_base& tx, const SaveRequest& request) {
    SaveReport report;
    std::vector<Relation> relations;
    std::string lock;
    for (const auto& t : request.tables) {
        relations.push_back(relation(tx, t.identity));
        lock += (lock.empty() ? "" : ", ") + relations.back().qualified;
    }
    // No writer gets in between the save and the drop; pg_dump's reads still do.
    tx.exec("LOCK TABLE " + lock + " IN SHARE MODE");

    // ---- the tables, whole ----
    int server_major = tx.exec1("SELECT current_setting('server_version_num')::int / 10000")[0].as<int>();
    std::string why_not;
    auto dump = choose_pg_dump(request.pg_dump, server_major, why_not);
    fs::path dumped = request.tmp_dir / ("pg_dump-" + std::to_string(::getpid()) + ".sql");
    bool by_pg_dump = false;
    if (dump) {
        std::string snapshot_id = tx.exec1("SELECT pg_export_snapshot()")[0].c_str();
        by_pg_dump = run_pg_dump(*dump, request.database_url, snapshot_id, relations, dumped, why_not);
    }
    {
        snapshot::AtomicFile file(request.tmp_dir);
        file.write(
            "-- enmap-migrate rollback postgres --force: the tables the bot changed after the run, whole,\n"
            "-- saved before they were dropped or restored.\n"
            "-- Load them back into a database without these tables (docs/rollback.md):\n"
            "--   psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f THIS_FILE\n");
        if (by_pg_dump) {
            report.method = "pg_dump " + dump->version + " (" + dump->path + ")";
            file.write("-- Written by " + report.method + ".\n");
            append_file(dumped, file);
        } else {
            report.method = "catalog (" + why_not + ")";
            file.write("-- Built from the catalog: " + why_not +
                       ".\n-- Columns, defaults, identity, owned sequences, constraints and indexes; not "
                       "triggers, policies or grants.\nSET client_encoding = 'UTF8';\n");
            for (std::size_t i = 0; i < request.tables.size(); ++i) {
                write_from_catalog(tx, request.tables[i].identity, relations[i], file);
            }
        }
        fs::path out = request.base;
        out += ".sql";
        file.commit(out);
        report.tables_file = out.string();
    }
    std::error_code ec;
    fs::remove(dumped, ec);
    if (!by_pg_dump && dump) {
        spdlog::warn("{}; the tables were saved from the catalog instead", why_not);
    }

    // ---- the rows written since the run ----
    for (std::size_t i = 0; i < request.tables.size(); ++i) {
        SavedTable saved;
        saved.identity = request.tables[i].identity;
        saved.rows_now = tx.exec1("SELECT count(*) FROM " + relations[i].qualified)[0].as<std::int64_t>();
        report.tables.push_back(saved);
    }
    if (!request.xid_end) {
        return report;
    }
    std::string after = written_after_condition(*request.xid_end);
    snapshot::AtomicFile file(request.tmp_dir);
    file.write(
        "-- enmap-migrate rollback postgres --force: only the rows written since the run (inserted, or\n"
        "-- updated: the row as it is now), one table enmap_migrate_saved.\"<table>\" per changed table.\n"
        "-- Load with: psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f THIS_FILE\n"
        "-- then merge them into the new tables with INSERT ... SELECT (docs/rollback.md).\n"
        "SET client_encoding = 'UTF8';\nCREATE SCHEMA IF NOT EXISTS enmap_migrate_saved;\n");
    for (std::size_t i = 0; i < request.tables.size(); ++i) {
        auto& saved = report.tables[i];
        const auto& r = relations[i];
        std::int64_t written =
            tx.exec1("SELECT count(*) FROM " + r.qualified + " WHERE " + after)[0].as<std::int64_t>();
        saved.rows_written_after = written;
        saved.rows_gone =
            std::max<std::int64_t>(0, request.tables[i].rows_at_end - (saved.rows_now - written));
        saved.changes_table = "enmap_migrate_saved." + tx.quote_name(saved.identity);
        std::string columns;
        std::string names;
        for (const auto& row : tx.exec("SELECT quote_ident(attname), format_type(atttypid, atttypmod) FROM "
                                       "pg_attribute WHERE attrelid = " +
                                       tx.quote(saved.identity) +
                                       "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum")) {
            columns +=
                std::string(columns.empty() ? "" : ",\n") + "    " + row[0].c_str() + " " + row[1].c_str();
            names += std::string(names.empty() ? "" : ", ") + row[0].c_str();
        }
        file.write("\n-- " + saved.identity + ": " + std::to_string(written) +
                   " row(s) written after the run, " + std::to_string(saved.rows_gone) +
                   " row(s) the run left are gone (deleted, or replaced by an update)\nCREATE TABLE " +
                   saved.changes_table + " (\n" + columns + "\n);\nCOPY " + saved.changes_table + " (" +
                   names + ") FROM stdin;\n");
        copy_rows(tx, "(SELECT " + names + " FROM " + r.qualified + " WHERE " + after + ")", file);
    }
    fs::path out = request.base;
    out += ".changes.sql";
    file.commit(out);
    report.changes_file = out.string();
    return report;
}

}  // namespace rollback
