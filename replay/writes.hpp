#pragma once
// replay/ the tables a run writes to: which tables each statement of the run changed (from the
// transaction's own statistics counters and relfilenodes), and, for tables that existed before the
// run, their state before it (row count and checksum) and a before-image in schema enmap_migrate,
// taken inside the run's transaction before the run's first write to the table. Rollback restores
// those tables from what this records (docs/rollback.md).

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction_base>
#include <set>
#include <string>
#include <vector>

namespace replay {

/// A table's write counters in the current transaction: rows inserted, updated, deleted, and its
/// relfilenode (which TRUNCATE changes).
struct WriteCounters {
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t deleted = 0;
    std::int64_t filenode = 0;
    bool operator==(const WriteCounters&) const = default;
};

/// A sequence's value, to set back with setval(sequence, last_value, is_called).
struct SequenceValue {
    std::string sequence;
    std::int64_t last_value = 0;
    bool is_called = false;
};

/// A table that existed before the run and that the run wrote to, as it was before the run.
struct BeforeState {
    std::string identity;
    std::int64_t rows = 0;
    std::string digest;                    // ledger.hpp's table_state checksum
    std::string before_image;              // enmap_migrate.<table> holding its rows; empty when it had none
    std::vector<SequenceValue> sequences;  // the sequences its columns own
};

/// One row of enmap_migrate.written_tables: a table a module (or @drizzle) wrote to.
struct WrittenTable {
    std::string module;
    std::string identity;
    bool existed_before = false;
    std::optional<BeforeState> before;  // set when existed_before
    std::int64_t rows_after = 0;        // as the run left it at COMMIT (existed_before only)
    std::string digest_after;
};

/// Follows a run's writes inside its transaction. Modules run between begin_module() and
/// commit_module()/abort_module(), each statement through run_statement().
class WriteTracker {
public:
    /// Notes the tables that exist now (before the run writes anything) and which of them are
    /// empty. Throws pqxx errors.
    WriteTracker(pqxx::transaction_base& tx, std::int64_t run_id);

    /// Starts tracking a module's writes.
    void begin_module(const std::string& module);

    /// Runs `statement` in a savepoint of `tx`. When it wrote to a non-empty table that existed
    /// before the run and has no before-image yet, it rolls back to the savepoint, takes the
    /// before-image, and runs the statement again. Rethrows what the statement throws.
    void run_statement(pqxx::dbtransaction& tx, const std::function<void(pqxx::dbtransaction&)>& statement);

    /// Keeps the module's writes and before-images (its savepoint was released).
    void commit_module();

    /// Forgets the module's writes and before-images (its savepoint was rolled back with them).
    void abort_module();

    /// Every table written, per module, with the state of existing tables now (call at COMMIT).
    std::vector<WrittenTable> finish(pqxx::transaction_base& tx) const;

private:
    std::map<std::uint32_t, WriteCounters> counters(pqxx::transaction_base& tx) const;
    BeforeState capture(pqxx::transaction_base& tx, std::uint32_t oid);

    std::int64_t m_run_id;
    std::map<std::uint32_t, std::string> m_existing;                  // oid -> identity, before the run
    std::set<std::uint32_t> m_empty;                                  // of m_existing: empty before the run
    std::map<std::uint32_t, std::vector<SequenceValue>> m_sequences;  // of m_existing, before the run
    std::map<std::uint32_t, BeforeState> m_before;                    // committed modules' before-states
    std::map<std::uint32_t, BeforeState> m_pending_before;
    std::vector<std::pair<std::string, std::uint32_t>> m_written;  // (module, oid), committed
    std::vector<std::pair<std::string, std::uint32_t>> m_pending_written;
    std::string m_module;
};

/// The values of the sequences owned by user tables (serial and identity columns), per table oid.
/// Throws pqxx errors.
std::map<std::uint32_t, std::vector<SequenceValue>> owned_sequences(pqxx::transaction_base& tx);

/// Sets sequences to the values given (setval). Throws pqxx errors.
void set_sequences(pqxx::transaction_base& tx, const std::vector<SequenceValue>& values);

/// The columns a before-image holds and a restore inserts: every column that is not generated,
/// quoted, in order, comma-separated.
std::string restorable_columns(pqxx::transaction_base& tx, const std::string& identity);

}  // namespace replay
