#include "replay/tx_guard.hpp"

#include <fstream>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "replay/sql_text.hpp"
#include "replay/url.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw enmap::InputError("cannot read " + path.string());
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

bool relation_exists(pqxx::transaction_base& tx, const std::string& name) {
    return !tx.exec1("SELECT to_regclass(" + tx.quote(name) + ") IS NULL")[0].as<bool>();
}

std::int64_t drizzle_max_id(pqxx::transaction_base& tx) {
    if (!relation_exists(tx, "drizzle.__drizzle_migrations")) {
        return 0;
    }
    return tx.exec1("SELECT coalesce(max(id), 0) FROM drizzle.__drizzle_migrations")[0].as<std::int64_t>();
}

}  // namespace

void check_transaction_control(const Plan& plan, const std::vector<DrizzleMigration>& drizzle) {
    std::vector<fs::path> files;
    files.reserve(drizzle.size());
    for (const auto& m : drizzle) {
        files.push_back(m.file);
    }
    for (const auto& module : plan.modules) {
        files.insert(files.end(), module.transform.begin(), module.transform.end());
        files.insert(files.end(), module.incremental.begin(), module.incremental.end());
        files.insert(files.end(), module.verify.begin(), module.verify.end());
    }
    std::string problems;
    for (const auto& file : files) {
        for (const auto& statement : split_sql(read_text(file))) {
            std::string command = transaction_control(statement.sql);
            if (!command.empty()) {
                problems += "\n  " + file.string() + ":" + std::to_string(statement.line) + ": " + command;
            }
        }
    }
    if (!problems.empty()) {
        throw enmap::InputError(
            "the plan's SQL holds transaction control, which would end replay's one transaction:" + problems,
            "remove these statements: replay runs the whole plan in one transaction (a savepoint per "
            "module) and commits it itself; VACUUM, CREATE INDEX CONCURRENTLY and the like cannot run "
            "inside it, so run them after the migration");
    }
}

void TransactionGuard::start(pqxx::transaction_base& tx) {
    m_txid = tx.exec1("SELECT txid_current()::text")[0].c_str();
    m_before = catalog_objects(tx);
    m_drizzle_max = drizzle_max_id(tx);
}

void TransactionGuard::check(pqxx::transaction_base& tx, const std::string& where,
                             const std::string& step) const {
    auto r = tx.exec1("SELECT txid_current_if_assigned()::text", "enmap-migrate transaction check");
    if (r[0].is_null() || m_txid != r[0].c_str()) {
        throw TransactionEscaped(where, step);
    }
}

std::string TransactionGuard::record_escape(const std::string& database_url, std::int64_t run_id,
                                            const std::vector<ModuleRecord>& done, const std::string& step,
                                            const std::string& error) const {
    auto conn = connect(database_url);
    pqxx::work tx(*conn);
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(k_advisory_lock_key) + ")");
    auto now = catalog_objects(tx);
    auto made = catalog_diff(m_before, now);
    bool run_committed =
        ledger_exists(tx) &&
        !tx.exec("SELECT 1 FROM enmap_migrate.runs WHERE id = " + std::to_string(run_id)).empty();
    std::string list;
    for (const auto& o : made) {
        list += (list.empty() ? "" : ", ") + o.kind + " " + o.identity;
    }
    if (!run_committed) {
        tx.abort();
        if (made.empty()) {
            return "PostgreSQL rolled back everything replay had done; nothing was committed";
        }
        return "replay's work was rolled back, but these objects were made outside any transaction and "
               "were committed: " +
               list + " (no run records them: drop them by hand)";
    }
    std::set<std::uint32_t> recorded;
    int committed = 0;
    std::vector<ModuleRecord> records;
    for (const auto& record : done) {
        if (record.status != "committed") {
            continue;
        }
        for (const auto& o : record.objects) {
            recorded.insert(o.oid);
        }
        records.push_back(record);
    }
    ModuleRecord escaped;
    escaped.name = step;
    escaped.status = "committed";
    escaped.error = error;
    for (const auto& o : made) {
        if (recorded.count(o.oid) == 0) {
            escaped.objects.push_back(o);
        }
    }
    records.push_back(escaped);
    std::vector<TableState> states;
    int position = 0;
    for (auto& record : records) {
        record.position = position++;
        record.object_rows.clear();
        for (const auto& o : record.objects) {
            if (o.kind == "table" && relation_exists(tx, o.identity)) {
                states.push_back(table_state(tx, o.identity));
                record.object_rows.push_back(states.back().rows);
            } else {
                record.object_rows.push_back(-1);
            }
        }
        record_module(tx, run_id, record);
        ++committed;
    }
    record_table_states(tx, run_id, states);
    std::vector<DrizzleRow> rows;
    if (relation_exists(tx, "drizzle.__drizzle_migrations")) {
        for (const auto& row :
             tx.exec("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations WHERE id > " +
                     std::to_string(m_drizzle_max) + " ORDER BY id")) {
            rows.push_back({row[0].as<std::int64_t>(), row[1].c_str(),
                            row[2].is_null() ? 0 : row[2].as<std::int64_t>()});
        }
    }
    record_drizzle_rows(tx, run_id, rows);
    finish_run(tx, run_id, "partial", 0, committed, 1, error, nlohmann::json::object());
    tx.commit();
    std::string what = "PostgreSQL committed what replay had done until then: " +
                       (list.empty() ? std::string("no objects") : list);
    if (!rows.empty()) {
        what += ", and " + std::to_string(rows.size()) + " drizzle.__drizzle_migrations row(s)";
    }
    return what + "; the ledger records it as run " + std::to_string(run_id) + " (partial)";
}

}  // namespace replay
