#include "replay/writes.hpp"

#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "replay/ledger.hpp"

namespace replay {

namespace {

// User tables as catalog.cpp sees them; drizzle's own table is left to the drizzle_rows records.
constexpr const char* k_user_tables =
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND "
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'enmap_migrate') "
    "AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%' "
    "AND NOT (n.nspname = 'drizzle' AND c.relname = '__drizzle_migrations')";

constexpr std::size_t k_exists_batch = 100;

}  // namespace

std::map<std::uint32_t, std::vector<SequenceValue>> owned_sequences(pqxx::transaction_base& tx) {
    std::map<std::uint32_t, std::vector<SequenceValue>> out;
    for (const auto& row :
         tx.exec("SELECT d.refobjid::bigint, s.oid::regclass::text, coalesce(q.last_value, q.start_value), "
                 "q.last_value IS NOT NULL "
                 "FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                 "JOIN pg_namespace n ON n.oid = s.relnamespace "
                 "JOIN pg_sequences q ON q.schemaname = n.nspname AND q.sequencename = s.relname "
                 "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
                 "AND d.deptype IN ('a', 'i') AND n.nspname NOT IN ('pg_catalog', 'information_schema', "
                 "'enmap_migrate') ORDER BY 1, 2")) {
        out[row[0].as<std::uint32_t>()].push_back(
            {row[1].c_str(), row[2].as<std::int64_t>(), row[3].as<bool>()});
    }
    return out;
}

void set_sequences(pqxx::transaction_base& tx, const std::vector<SequenceValue>& values) {
    for (const auto& q : values) {
        tx.exec("SELECT setval(" + tx.quote(q.sequence) + "::regclass, " + std::to_string(q.last_value) +
                ", " + (q.is_called ? "true" : "false") + ")");
    }
}

std::string restorable_columns(pqxx::transaction_base& tx, const std::string& identity) {
    return tx
        .exec1(
            "SELECT coalesce(string_agg(quote_ident(attname), ', ' ORDER BY attnum), '') FROM pg_attribute "
            "WHERE attrelid = " +
            tx.quote(identity) + "::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = ''")[0]
        .c_str();
}

WriteTracker::WriteTracker(pqxx::transaction_base& tx, std::int64_t run_id) : m_run_id(run_id) {
    for (const auto& row :
         tx.exec(std::string("SELECT c.oid::bigint, c.oid::regclass::text ") + k_user_tables)) {
        m_existing[row[0].as<std::uint32_t>()] = row[1].c_str();
    }
    // Which are empty: EXISTS stops at the first row, so this reads one page per table at most.
    std::vector<std::pair<std::uint32_t, std::string>> tables(m_existing.begin(), m_existing.end());
    for (std::size_t i = 0; i < tables.size(); i += k_exists_batch) {
        std::string sql;
        for (std::size_t j = i; j < tables.size() && j < i + k_exists_batch; ++j) {
            sql += std::string(sql.empty() ? "" : " UNION ALL ") + "SELECT " +
                   std::to_string(tables[j].first) + "::bigint WHERE NOT EXISTS (SELECT 1 FROM " +
                   tables[j].second + ")";
        }
        for (const auto& row : tx.exec(sql, "which existing tables are empty")) {
            m_empty.insert(row[0].as<std::uint32_t>());
        }
    }
    // Sequence values are not transactional: note them before anything runs.
    auto sequences = owned_sequences(tx);
    for (const auto& [oid, identity] : m_existing) {
        auto it = sequences.find(oid);
        if (it != sequences.end()) {
            m_sequences[oid] = it->second;
        }
    }
}

std::map<std::uint32_t, WriteCounters> WriteTracker::counters(pqxx::transaction_base& tx) const {
    std::map<std::uint32_t, WriteCounters> out;
    for (const auto& row :
         tx.exec(std::string("SELECT c.oid::bigint, pg_stat_get_xact_tuples_inserted(c.oid), "
                             "pg_stat_get_xact_tuples_updated(c.oid), "
                             "pg_stat_get_xact_tuples_deleted(c.oid), "
                             "coalesce(pg_relation_filenode(c.oid)::bigint, 0) ") +
                 k_user_tables)) {
        out[row[0].as<std::uint32_t>()] = {row[1].as<std::int64_t>(), row[2].as<std::int64_t>(),
                                           row[3].as<std::int64_t>(), row[4].as<std::int64_t>()};
    }
    return out;
}

BeforeState WriteTracker::capture(pqxx::transaction_base& tx, std::uint32_t oid) {
    const std::string& identity = m_existing.at(oid);
    auto state = table_state(tx, identity);
    auto sequences = m_sequences.find(oid);
    BeforeState s{identity, state.rows, state.digest, "",
                  sequences == m_sequences.end() ? std::vector<SequenceValue>{} : sequences->second};
    if (state.rows > 0) {
        s.before_image = "enmap_migrate.before_" + std::to_string(m_run_id) + "_" + std::to_string(oid);
        tx.exec("CREATE TABLE " + s.before_image + " AS SELECT " + restorable_columns(tx, identity) +
                    " FROM " + identity,
                "before-image of " + identity);
    }
    return s;
}

void WriteTracker::begin_module(const std::string& module) {
    m_module = module;
    m_pending_before.clear();
    m_pending_written.clear();
}

void WriteTracker::run_statement(pqxx::dbtransaction& tx,
                                 const std::function<void(pqxx::dbtransaction&)>& statement) {
    for (int attempt = 0;; ++attempt) {
        auto before = counters(tx);
        auto sequences_before = owned_sequences(tx);
        pqxx::subtransaction sp(tx, "enmap_migrate_statement");
        statement(sp);
        std::vector<std::uint32_t> written;
        std::vector<std::uint32_t> need_image;
        for (const auto& [oid, now] : counters(sp)) {
            auto it = before.find(oid);
            bool changed =
                it == before.end() ? (now.inserted | now.updated | now.deleted) != 0 : it->second != now;
            if (!changed) {
                continue;
            }
            written.push_back(oid);
            bool known = m_before.count(oid) != 0 || m_pending_before.count(oid) != 0;
            if (m_existing.count(oid) != 0 && !known && m_empty.count(oid) == 0) {
                need_image.push_back(oid);
            }
        }
        if (!need_image.empty()) {
            if (attempt > 0) {
                throw enmap::Error("a statement wrote to " + m_existing.at(need_image.front()) +
                                   " only on its first run; cannot take its before-image");
            }
            sp.abort();
            // Undo what the attempt took from sequences too, so that running it again gives the
            // same values as one run would have.
            for (const auto& [oid, values] : sequences_before) {
                set_sequences(tx, values);
            }
            for (auto oid : need_image) {
                m_pending_before[oid] = capture(tx, oid);
            }
            continue;
        }
        sp.commit();
        for (auto oid : written) {
            if (m_existing.count(oid) != 0 && m_before.count(oid) == 0 && m_pending_before.count(oid) == 0) {
                auto sequences = m_sequences.find(oid);
                m_pending_before[oid] = BeforeState{
                    m_existing.at(oid), 0, "0", "",
                    sequences == m_sequences.end() ? std::vector<SequenceValue>{} : sequences->second};
            }
            std::pair<std::string, std::uint32_t> entry{m_module, oid};
            if (std::find(m_pending_written.begin(), m_pending_written.end(), entry) ==
                m_pending_written.end()) {
                m_pending_written.push_back(entry);
            }
        }
        return;
    }
}

void WriteTracker::commit_module() {
    for (auto& [oid, s] : m_pending_before) {
        m_before[oid] = s;
    }
    for (const auto& w : m_pending_written) {
        if (std::find(m_written.begin(), m_written.end(), w) == m_written.end()) {
            m_written.push_back(w);
        }
    }
    begin_module("");
}

void WriteTracker::abort_module() {
    begin_module("");
}

std::vector<WrittenTable> WriteTracker::finish(pqxx::transaction_base& tx) const {
    std::vector<WrittenTable> out;
    std::map<std::uint32_t, TableState> after;
    for (const auto& [module, oid] : m_written) {
        WrittenTable w;
        w.module = module;
        auto existing = m_existing.find(oid);
        if (existing != m_existing.end()) {
            w.identity = existing->second;
            w.existed_before = true;
            w.before = m_before.at(oid);
            auto it = after.find(oid);
            if (it == after.end()) {
                it = after.emplace(oid, table_state(tx, w.identity)).first;
            }
            w.rows_after = it->second.rows;
            w.digest_after = it->second.digest;
        } else {
            auto r = tx.exec("SELECT oid::regclass::text FROM pg_class WHERE oid = " + std::to_string(oid));
            if (r.empty()) {
                continue;  // created and dropped again by the run
            }
            w.identity = r[0][0].c_str();
        }
        out.push_back(w);
    }
    return out;
}

}  // namespace replay
