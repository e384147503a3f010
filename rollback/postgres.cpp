#include "rollback/postgres.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <pqxx/pqxx>
#include <set>

#include "enmap/error.hpp"
#include "replay/catalog.hpp"
#include "replay/ledger.hpp"
#include "replay/url.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/store.hpp"

namespace rollback {

namespace {

constexpr const char* k_drizzle_step = "@drizzle";

struct LedgerObject {
    std::string module;
    std::string kind;
    std::string identity;
    std::optional<std::int64_t> rows_at_end;
};

std::string drop_statement(pqxx::transaction_base& tx, const LedgerObject& o) {
    const std::string& id = o.identity;
    bool relation = o.kind == "table" || o.kind == "view" || o.kind == "materialized view" ||
                    o.kind == "sequence" || o.kind == "index" || o.kind == "foreign table";
    if (relation && tx.exec1("SELECT to_regclass(" + tx.quote(id) + ") IS NULL")[0].as<bool>()) {
        return "";  // gone already, with the table that owned it
    }
    if (o.kind == "table") {
        return "DROP TABLE IF EXISTS " + id;
    }
    if (o.kind == "view" || o.kind == "materialized view" || o.kind == "sequence" || o.kind == "index" ||
        o.kind == "foreign table") {
        std::string kind = o.kind;
        std::transform(kind.begin(), kind.end(), kind.begin(), ::toupper);
        return "DROP " + kind + " IF EXISTS " + id;
    }
    if (o.kind == "type") {
        auto r = tx.exec("SELECT typtype FROM pg_type WHERE oid = to_regtype(" + tx.quote(id) + ")");
        if (r.empty()) {
            return "";
        }
        return std::string(r[0][0].c_str()) == "d" ? "DROP DOMAIN IF EXISTS " + id
                                                   : "DROP TYPE IF EXISTS " + id;
    }
    if (o.kind == "function" || o.kind == "procedure" || o.kind == "aggregate") {
        std::string kind = o.kind;
        std::transform(kind.begin(), kind.end(), kind.begin(), ::toupper);
        return "DROP " + kind + " IF EXISTS " + id;
    }
    if (o.kind == "schema") {
        return "DROP SCHEMA IF EXISTS " + id;
    }
    if (o.kind == "extension") {
        return "DROP EXTENSION IF EXISTS " + id;
    }
    throw enmap::DatabaseError("the ledger names a " + o.kind + " " + id + " that rollback cannot drop",
                               "drop it by hand, then run rollback postgres again");
}

bool relation_exists(pqxx::transaction_base& tx, const std::string& identity) {
    return !tx.exec1("SELECT to_regclass(" + tx.quote(identity) + ") IS NULL")[0].as<bool>();
}

// A table that existed before the run and that the modules being undone wrote to.
struct ToRestore {
    std::string identity;
    std::int64_t rows_before = 0;
    std::string digest_before;
    std::string image;
    nlohmann::json sequences = nlohmann::json::array();
    std::int64_t rows_after = 0;
    std::string digest_after;
    std::set<std::string> modules;
};

// The existing tables the modules in `module_filter` wrote to, from enmap_migrate.written_tables
// (absent in a ledger written before it was recorded: then there is nothing to restore).
std::vector<ToRestore> tables_to_restore(pqxx::transaction_base& tx, const std::string& run,
                                         const std::string& module_filter, const std::string& only_module) {
    std::vector<ToRestore> out;
    if (!replay::written_tables_exist(tx)) {
        spdlog::warn(
            "the ledger of run {} predates enmap_migrate.written_tables: rollback cannot tell which "
            "existing tables the run wrote to, and restores none",
            run);
        return out;
    }
    std::map<std::string, std::size_t> index;
    for (const auto& row :
         tx.exec("SELECT w.identity, w.rows_before, w.digest_before, coalesce(w.before_image, ''), "
                 "w.sequences::text, "
                 "w.rows_after, w.digest_after, w.module FROM enmap_migrate.written_tables w "
                 "JOIN enmap_migrate.modules m ON m.run_id = w.run_id AND m.name = w.module "
                 "WHERE w.existed_before AND w.run_id = " +
                 run + module_filter + " ORDER BY w.identity")) {
        std::string identity = row[0].c_str();
        auto it = index.find(identity);
        if (it == index.end()) {
            ToRestore t{identity,
                        row[1].as<std::int64_t>(),
                        row[2].c_str(),
                        row[3].c_str(),
                        nlohmann::json::parse(row[4].c_str()),
                        row[5].as<std::int64_t>(),
                        row[6].c_str(),
                        {}};
            it = index.emplace(identity, out.size()).first;
            out.push_back(t);
        }
        out[it->second].modules.insert(row[7].c_str());
    }
    if (!only_module.empty()) {
        for (const auto& t : out) {
            auto other = tx.exec(
                "SELECT w.module FROM enmap_migrate.written_tables w JOIN enmap_migrate.modules m "
                "ON m.run_id = w.run_id AND m.name = w.module WHERE w.run_id = " +
                run + " AND m.status = 'committed' AND w.identity = " + tx.quote(t.identity) +
                " AND w.module <> " + tx.quote(only_module) + " LIMIT 1");
            if (!other.empty()) {
                throw enmap::RefusedError(
                    "module '" + only_module + "' of run " + run + " wrote to " + t.identity +
                        ", which existed before the run and which module '" + other[0][0].c_str() +
                        "' wrote to as well: its state before the run would undo both",
                    "roll back the whole run (without --module); nothing was rolled back");
            }
        }
    }
    return out;
}

std::string list_of(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) {
        out += (out.empty() ? "" : ", ") + i;
    }
    return out;
}

// Puts each table back as it was before the run: emptied, then refilled from its before-image,
// its sequences set back, and checked against the count and checksum recorded before the run.
void restore_tables(pqxx::dbtransaction& tx, const std::string& run, const std::vector<ToRestore>& tables,
                    std::vector<RestoredTable>& restored) {
    if (tables.empty()) {
        return;
    }
    std::vector<std::string> identities;
    identities.reserve(tables.size());
    for (const auto& t : tables) {
        identities.push_back(t.identity);
    }
    // One TRUNCATE empties tables that reference each other; a table referenced from outside the
    // set cannot be truncated, so those are emptied with DELETE, children first (retried).
    try {
        pqxx::subtransaction sub(tx, "enmap_migrate_truncate");
        sub.exec("TRUNCATE " + list_of(identities), "rollback: empty the tables the run wrote to");
        sub.commit();
    } catch (const pqxx::sql_error& e) {
        spdlog::debug("TRUNCATE of {} failed ({}); deleting their rows instead", list_of(identities),
                      e.what());
        std::vector<std::string> pending = identities;
        while (!pending.empty()) {
            std::vector<std::string> blocked;
            std::string reason;
            for (const auto& id : pending) {
                try {
                    pqxx::subtransaction sub(tx, "enmap_migrate_delete");
                    sub.exec("DELETE FROM " + id, "rollback: empty " + id);
                    sub.commit();
                } catch (const pqxx::foreign_key_violation& fk) {
                    blocked.push_back(id);
                    reason = fk.what();
                }
            }
            if (blocked.size() == pending.size()) {
                throw enmap::RefusedError("cannot empty " + blocked.front() +
                                              " to restore it as it was before run " + run + ": " + reason,
                                          "rows outside the run reference it; nothing was rolled back");
            }
            pending = blocked;
        }
    }
    std::vector<const ToRestore*> pending;
    for (const auto& t : tables) {
        if (!t.image.empty()) {
            pending.push_back(&t);
        }
    }
    while (!pending.empty()) {
        std::vector<const ToRestore*> blocked;
        std::string reason;
        for (const auto* t : pending) {
            std::string columns = replay::restorable_columns(tx, t->identity);
            try {
                pqxx::subtransaction sub(tx, "enmap_migrate_refill");
                sub.exec("INSERT INTO " + t->identity + " (" + columns + ") OVERRIDING SYSTEM VALUE SELECT " +
                             columns + " FROM " + t->image,
                         "rollback: refill " + t->identity + " from " + t->image);
                sub.commit();
            } catch (const pqxx::foreign_key_violation& fk) {
                blocked.push_back(t);
                reason = fk.what();
            }
        }
        if (blocked.size() == pending.size()) {
            throw enmap::RefusedError("cannot refill " + blocked.front()->identity +
                                          " from its before-image " + blocked.front()->image + ": " + reason,
                                      "nothing was rolled back");
        }
        pending = blocked;
    }
    for (const auto& t : tables) {
        for (const auto& q : t.sequences) {
            tx.exec("SELECT setval(" + tx.quote(q["sequence"].get<std::string>()) + "::regclass, " +
                    std::to_string(q["last_value"].get<std::int64_t>()) + ", " +
                    (q["is_called"].get<bool>() ? "true" : "false") + ")");
        }
        auto now = replay::table_state(tx, t.identity);
        if (now.rows != t.rows_before || now.digest != t.digest_before) {
            throw enmap::RefusedError(
                "after restoring " + t.identity + " it holds " + std::to_string(now.rows) +
                    " rows (checksum " + now.digest + "), but the ledger recorded " +
                    std::to_string(t.rows_before) + " rows (checksum " + t.digest_before + ") before run " +
                    run + (t.image.empty() ? "" : "; its before-image " + t.image + " does not give it back"),
                "nothing was rolled back. A trigger on the table may change rows as they are inserted; "
                "see docs/rollback.md");
        }
        restored.push_back(
            {t.identity, t.rows_before, t.image.empty() ? "emptied" : "before-image", t.image});
    }
    for (const auto& t : tables) {
        if (!t.image.empty()) {
            tx.exec("DROP TABLE " + t.image);
        }
    }
}

std::string utc_stamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y%m%dT%H%M%SZ", &tm);
    return text;
}

std::int64_t choose_run(pqxx::transaction_base& tx, const PostgresOptions& options) {
    if (!replay::ledger_exists(tx)) {
        throw enmap::RefusedError("the database has no enmap_migrate ledger: no run to roll back",
                                  "check --database; `enmap-migrate status` lists the runs");
    }
    if (!options.run_id) {
        auto runs = replay::active_runs(tx);
        if (runs.empty()) {
            throw enmap::RefusedError("the database holds no committed run to roll back",
                                      "`enmap-migrate status` lists the runs and their status");
        }
        return runs.front()["id"].get<std::int64_t>();
    }
    auto id = *options.run_id;
    auto r = tx.exec("SELECT status FROM enmap_migrate.runs WHERE id = " + std::to_string(id));
    if (r.empty()) {
        throw enmap::RefusedError("there is no run " + std::to_string(id) + " in the ledger",
                                  "`enmap-migrate status` lists the runs");
    }
    std::string status = r[0][0].c_str();
    if (status != "committed" && status != "partial") {
        throw enmap::RefusedError(
            "run " + std::to_string(id) + " is " + status + ": nothing of it to roll back",
            "`enmap-migrate status` lists the runs that still hold data");
    }
    auto later = tx.exec("SELECT id FROM enmap_migrate.runs WHERE id > " + std::to_string(id) +
                         " AND status IN ('committed', 'partial') ORDER BY id DESC LIMIT 1");
    if (!later.empty()) {
        throw enmap::RefusedError("run " + std::string(later[0][0].c_str()) + " came after run " +
                                      std::to_string(id) + " and still holds data",
                                  "roll back run " + std::string(later[0][0].c_str()) + " first");
    }
    return id;
}

}  // namespace

nlohmann::json PostgresReport::to_json() const {
    nlohmann::json changed_json = nlohmann::json::array();
    for (const auto& c : changed) {
        changed_json.push_back({{"table", c.identity}, {"rows_then", c.rows_then}, {"rows_now", c.rows_now}});
    }
    nlohmann::json saved_json = nullptr;
    if (!saved.tables_file.empty()) {
        nlohmann::json tables = nlohmann::json::array();
        for (const auto& t : saved.tables) {
            tables.push_back(
                {{"table", t.identity},
                 {"rows_now", t.rows_now},
                 {"rows_written_after",
                  t.rows_written_after < 0 ? nlohmann::json(nullptr) : nlohmann::json(t.rows_written_after)},
                 {"rows_gone", t.rows_gone < 0 ? nlohmann::json(nullptr) : nlohmann::json(t.rows_gone)},
                 {"changes_table",
                  t.changes_table.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.changes_table)}});
        }
        saved_json = {{"tables_file", saved.tables_file},
                      {"method", saved.method},
                      {"changes_file", saved.changes_file.empty() ? nlohmann::json(nullptr)
                                                                  : nlohmann::json(saved.changes_file)},
                      {"tables", tables}};
    }
    nlohmann::json restored_json = nlohmann::json::array();
    for (const auto& r : restored) {
        restored_json.push_back({{"table", r.identity},
                                 {"rows", r.rows},
                                 {"how", r.how},
                                 {"before_image", r.before_image.empty() ? nlohmann::json(nullptr)
                                                                         : nlohmann::json(r.before_image)}});
    }
    return {{"run", run_id},
            {"module", module.empty() ? nlohmann::json(nullptr) : nlohmann::json(module)},
            {"restored", restored_json},
            {"drizzle_table_dropped", drizzle_table_dropped},
            {"cleanup_archive",
             cleanup_archive.empty() ? nlohmann::json(nullptr) : nlohmann::json(cleanup_archive)},
            {"status", status},
            {"dropped", dropped},
            {"objects", objects},
            {"drizzle_rows_deleted", drizzle_rows_deleted},
            {"changed_tables", changed_json},
            {"saved_file", saved_file.empty() ? nlohmann::json(nullptr) : nlohmann::json(saved_file)},
            {"saved", saved_json},
            {"fingerprint_checked", fingerprint_checked},
            {"fingerprint_matches", fingerprint_matches},
            {"fingerprint", fingerprint}};
}

void ensure_actions(pqxx::transaction_base& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS enmap_migrate.actions (id bigserial PRIMARY KEY, run_id bigint, "
        "action text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), "
        "details jsonb NOT NULL DEFAULT '{}')");
}

void record_action(pqxx::transaction_base& tx, std::int64_t run_id, const std::string& action,
                   const nlohmann::json& details) {
    tx.exec("INSERT INTO enmap_migrate.actions (run_id, action, details) VALUES (" +
            (run_id > 0 ? std::to_string(run_id) : std::string("NULL")) + ", " + tx.quote(action) + ", " +
            tx.quote(details.dump()) + "::jsonb)");
}

PostgresReport rollback_postgres(const PostgresOptions& options) {
    auto conn = replay::connect(options.database_url);
    PostgresReport report;
    report.module = options.module;
    try {
        pqxx::work tx(*conn);
        tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(replay::k_advisory_lock_key) + ")");
        report.run_id = choose_run(tx, options);
        std::string run = std::to_string(report.run_id);
        ensure_actions(tx);

        // The modules to undo, newest first, and what each created.
        std::string module_filter = " AND m.status = 'committed'";
        if (!options.module.empty()) {
            auto r = tx.exec("SELECT status FROM enmap_migrate.modules WHERE run_id = " + run +
                             " AND name = " + tx.quote(options.module));
            if (r.empty()) {
                throw enmap::UsageError("run " + run + " has no module '" + options.module + "'",
                                        "`enmap-migrate status` lists the modules of each run");
            }
            if (std::string(r[0][0].c_str()) != "committed") {
                throw enmap::RefusedError("module '" + options.module + "' of run " + run + " is " +
                                          r[0][0].c_str() + ": nothing of it to roll back");
            }
            module_filter += " AND m.name = " + tx.quote(options.module);
        }
        std::vector<LedgerObject> objects;
        std::set<std::string> modules;
        for (const auto& row :
             tx.exec("SELECT o.module, o.kind, o.identity, o.rows_at_end FROM enmap_migrate.objects o "
                     "JOIN enmap_migrate.modules m ON m.run_id = o.run_id AND m.name = o.module "
                     "WHERE o.run_id = " +
                     run + module_filter + " ORDER BY o.seq DESC")) {
            LedgerObject o{row[0].c_str(), row[1].c_str(), row[2].c_str(), std::nullopt};
            if (!row[3].is_null()) {
                o.rows_at_end = row[3].as<std::int64_t>();
            }
            objects.push_back(o);
        }
        for (const auto& row :
             tx.exec("SELECT m.name FROM enmap_migrate.modules m WHERE m.run_id = " + run + module_filter)) {
            modules.insert(row[0].c_str());
        }

        // After cleanup the raw_ tables and the snapshot are gone from here: the run is live.
        auto cleaned = tx.exec(
            "SELECT at::text, coalesce(details->>'archive', '') FROM enmap_migrate.actions WHERE run_id = " +
            run + " AND action = 'cleanup' ORDER BY id DESC LIMIT 1");
        if (!cleaned.empty()) {
            report.cleanup_archive = cleaned[0][1].c_str();
            std::string what = "run " + run + " was cleaned up at " + cleaned[0][0].c_str() +
                               " (its raw_ tables dropped; the pre-migration snapshot archived to " +
                               (report.cleanup_archive.empty() ? std::string("(no archive recorded)")
                                                               : report.cleanup_archive) +
                               ")";
            if (!options.force) {
                throw enmap::RefusedError(
                    what + ": rolling it back now drops the tables the bot has been using since go-live",
                    "nothing was dropped. If that is what you want, pass --force (tables changed since the "
                    "run "
                    "are saved first); restore the Enmap files from the archive with `enmap-migrate --store "
                    "DIR "
                    "snapshot import ARCHIVE`, then `rollback files`");
            }
            spdlog::warn("{}; rolling it back anyway (--force)", what);
        }

        // The tables that existed before the run and that it wrote to.
        auto restore = tables_to_restore(tx, run, module_filter, options.module);
        for (const auto& t : restore) {
            if (!relation_exists(tx, t.identity)) {
                throw enmap::RefusedError(
                    "cannot restore " + t.identity + ": it existed before run " + run +
                        ", the run wrote to it, and it no longer exists",
                    "re-create it (its rows before the run are in " +
                        (t.image.empty() ? std::string("no before-image: it was empty") : t.image) +
                        "), then run rollback postgres again; nothing was rolled back");
            }
            if (t.rows_before > 0 && (t.image.empty() || !relation_exists(tx, t.image))) {
                throw enmap::RefusedError(
                    "cannot restore " + t.identity + ": it held " + std::to_string(t.rows_before) +
                        " rows before run " + run + " and its before-image " +
                        (t.image.empty() ? std::string("was never taken") : t.image + " is missing"),
                    "nothing was rolled back. Restore the table from a backup of the database, or drop the "
                    "run's rows from it by hand");
            }
        }

        // Never lose data that arrived after the run.
        std::map<std::string, replay::TableState> recorded;
        for (const auto& row : tx.exec("SELECT identity, rows, digest FROM enmap_migrate.table_states "
                                       "WHERE run_id = " +
                                       run)) {
            recorded[row[0].c_str()] = {row[0].c_str(), row[1].as<std::int64_t>(), row[2].c_str()};
        }
        for (const auto& o : objects) {
            if (o.kind != "table" || !relation_exists(tx, o.identity)) {
                continue;
            }
            auto now = replay::table_state(tx, o.identity);
            auto it = recorded.find(o.identity);
            if (it != recorded.end()) {
                if (now.rows != it->second.rows || now.digest != it->second.digest) {
                    report.changed.push_back({o.identity, it->second.rows, now.rows});
                }
            } else if (o.rows_at_end && *o.rows_at_end != now.rows) {
                report.changed.push_back({o.identity, *o.rows_at_end, now.rows});
            }
        }
        for (const auto& t : restore) {
            auto now = replay::table_state(tx, t.identity);
            if (now.rows != t.rows_after || now.digest != t.digest_after) {
                report.changed.push_back({t.identity, t.rows_after, now.rows});
            }
        }
        if (!report.changed.empty()) {
            std::string list;
            for (const auto& c : report.changed) {
                list += "\n  " + c.identity + ": " + std::to_string(c.rows_then) + " rows after the run, " +
                        std::to_string(c.rows_now) + " now";
            }
            if (!options.force) {
                throw enmap::RefusedError(
                    "these tables of run " + run + " changed after the run (the bot wrote to them):" + list,
                    "nothing was dropped. Pass --force to save them (whole, with their definitions, and the "
                    "rows written since the run in a file of their own) under the store's saved/ folder, "
                    "and then roll back");
            }
            snapshot::Store store(options.store, snapshot::Store::Access::k_write,
                                  "enmap-migrate rollback postgres");
            rollback::SaveRequest save;
            save.database_url = options.database_url;
            save.tmp_dir = store.tmp_dir();
            save.base = store.root() / "saved" / ("run-" + run + "-" + utc_stamp());
            save.pg_dump = options.pg_dump;
            auto xid = tx.exec1("SELECT xid_end FROM enmap_migrate.runs WHERE id = " + run)[0];
            if (!xid.is_null()) {
                save.xid_end = xid.as<std::int64_t>();
            }
            for (const auto& c : report.changed) {
                save.tables.push_back({c.identity, c.rows_then});
            }
            report.saved = save_changed_tables(tx, save);
            report.saved_file = report.saved.tables_file;
            spdlog::warn("saved the changed tables of run {} to {} ({}) before dropping them:{}", run,
                         report.saved.tables_file, report.saved.method, list);
            if (report.saved.changes_file.empty()) {
                spdlog::warn(
                    "run {} has no recorded transaction span (a ledger older than this version): "
                    "no list of the rows written since the run",
                    run);
            } else {
                std::string rows;
                for (const auto& t : report.saved.tables) {
                    rows += "\n  " + t.identity + ": " + std::to_string(t.rows_written_after) +
                            " row(s) written since the run, " + std::to_string(t.rows_gone) +
                            " of its rows gone";
                }
                spdlog::warn("the rows written since the run are in {}:{}", report.saved.changes_file, rows);
            }
        }

        // Drizzle rows first: their table may be among the objects to drop.
        if (modules.count(k_drizzle_step) != 0 && relation_exists(tx, "drizzle.__drizzle_migrations")) {
            auto r = tx.exec(
                "DELETE FROM drizzle.__drizzle_migrations d USING enmap_migrate.drizzle_rows r "
                "WHERE r.run_id = " +
                run + " AND d.id = r.id AND d.hash = r.hash");
            report.drizzle_rows_deleted = static_cast<std::size_t>(r.affected_rows());
        }
        // Reverse creation order, with indexes and sequences (which a dropped table takes along)
        // after the rest and schemas and extensions last. Creation order misses dependencies
        // added later (a foreign key added by ALTER TABLE), so a drop that another object of the
        // run still blocks is retried after the others; each drop has its own savepoint.
        auto rank = [](const std::string& k) {
            return k == "schema" || k == "extension" ? 2 : k == "index" || k == "sequence" ? 1 : 0;
        };
        std::stable_sort(objects.begin(), objects.end(), [&](const LedgerObject& a, const LedgerObject& b) {
            return rank(a.kind) < rank(b.kind);
        });
        report.objects = objects.size();
        std::vector<LedgerObject> pending = objects;
        while (!pending.empty()) {
            std::vector<LedgerObject> blocked;
            std::string reason;
            for (const auto& o : pending) {
                auto sql = drop_statement(tx, o);
                if (sql.empty()) {
                    continue;
                }
                try {
                    pqxx::subtransaction sub(tx, "enmap_migrate_drop");
                    sub.exec(sql, "rollback: drop " + o.kind + " " + o.identity);
                    sub.commit();
                    report.dropped.push_back(o.kind + " " + o.identity);
                } catch (const pqxx::sql_error& e) {
                    if (e.sqlstate() != "2BP01") {
                        throw;
                    }
                    blocked.push_back(o);
                    reason = e.what();
                }
            }
            if (blocked.size() == pending.size()) {
                throw enmap::RefusedError(
                    "cannot drop " + blocked.front().kind + " " + blocked.front().identity + " of run " +
                        run + ": " + reason,
                    "an object made outside the run depends on it: drop that object first, "
                    "then run rollback postgres again (nothing was rolled back)");
            }
            pending = blocked;
        }

        restore_tables(tx, run, restore, report.restored);
        report.drizzle_table_dropped =
            std::find(report.dropped.begin(), report.dropped.end(), "table drizzle.__drizzle_migrations") !=
            report.dropped.end();

        tx.exec("UPDATE enmap_migrate.modules m SET status = 'rolled_back' WHERE m.run_id = " + run +
                module_filter);
        auto left = tx.exec1("SELECT count(*) FROM enmap_migrate.modules WHERE run_id = " + run +
                             " AND status = 'committed'")[0]
                        .as<std::int64_t>();
        report.fingerprint = replay::catalog_fingerprint(tx);
        if (left == 0) {
            std::string recorded_fp =
                tx.exec1(
                      "SELECT coalesce(catalog_fingerprint, '') FROM enmap_migrate.runs "
                      "WHERE id = " +
                      run)[0]
                    .c_str();
            report.fingerprint_checked = true;
            report.fingerprint_matches = report.fingerprint == recorded_fp;
            if (!report.fingerprint_matches && !options.force) {
                throw enmap::ValidationError(
                    "after dropping what run " + run +
                        " created, the catalog does not match the fingerprint recorded before the run",
                    "nothing was changed (the rollback was itself rolled back). Something outside the run "
                    "changed the schema since; compare with `enmap-migrate status --json`, or pass --force");
            }
            tx.exec("UPDATE enmap_migrate.runs SET status = 'rolled_back' WHERE id = " + run);
            report.status = "rolled_back";
        } else {
            report.status = tx.exec1("SELECT status FROM enmap_migrate.runs WHERE id = " + run)[0].c_str();
        }
        auto details = report.to_json();
        details.erase("run");
        record_action(tx, report.run_id, options.module.empty() ? "rollback" : "rollback-module", details);
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        throw enmap::DatabaseError(
            "the connection to PostgreSQL was lost: " +
                replay::redact_message(e.what(), options.database_url),
            "nothing was rolled back (the transaction did not commit); run rollback postgres again");
    } catch (const pqxx::sql_error& e) {
        throw enmap::DatabaseError(
            "PostgreSQL refused the rollback: " + replay::redact_message(e.what(), options.database_url),
            "nothing was rolled back (the transaction did not commit)");
    }
    return report;
}

std::vector<PostgresReport> rollback_chain(const PostgresOptions& options) {
    std::vector<PostgresReport> out;
    PostgresOptions one = options;
    one.run_id.reset();
    one.module.clear();
    while (true) {
        try {
            out.push_back(rollback_postgres(one));
        } catch (const enmap::Error&) {
            if (!out.empty()) {
                std::string done;
                for (const auto& r : out) {
                    done += (done.empty() ? "" : ", ") + std::to_string(r.run_id);
                }
                spdlog::warn(
                    "rollback postgres --all: run(s) {} of the chain are rolled back; the next one failed",
                    done);
            }
            throw;
        }
        auto conn = replay::connect(options.database_url);
        pqxx::read_transaction tx(*conn);
        auto row = tx.exec1("SELECT base_run FROM enmap_migrate.runs WHERE id = " +
                            std::to_string(out.back().run_id));
        if (row[0].is_null()) {
            return out;  // a full replay: the chain's first run
        }
    }
}

}  // namespace rollback
