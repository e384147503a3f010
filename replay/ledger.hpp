#pragma once
// replay/ the ledger: schema enmap_migrate in the target database, recording every run, its
// modules, the raw_ tables it loaded, every object it created and the Drizzle rows it added.
// Rollback reads it; docs/replay.md documents its tables.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "replay/catalog.hpp"
#include "replay/drizzle.hpp"
#include "replay/writes.hpp"

namespace replay {

/// The ledger's schema name.
constexpr const char* k_ledger_schema = "enmap_migrate";

/// The key of the pg_advisory_xact_lock every replay and rollback takes (ASCII "enmapmig").
constexpr std::int64_t k_advisory_lock_key = 0x656e6d61706d6967;

/// A run as begin_run() records it.
struct RunRecord {
    std::string source_id;
    std::string source;
    std::string plan_digest;
    std::string plan_dir;
    std::string mode;      // "replay" or "dry-run"
    std::string database;  // redacted URL
    std::string catalog_fingerprint;
    nlohmann::json options = nlohmann::json::object();
    std::string kind;           // "replay" (a go-live), "rehearsal" or "dry-run"
    std::int64_t base_run = 0;  // a catch-up run's base (replay --since); 0 for a full replay
};

/// One raw_ table a module loaded.
struct TableRecord {
    std::string enmap;
    std::string table;
    std::uint64_t rows = 0;
    std::string source_digest;
};

/// One module's outcome as the ledger keeps it.
struct ModuleRecord {
    int position = 0;
    std::string name;
    std::string status;  // committed, failed, skipped
    std::uint64_t rows = 0;
    double load_seconds = 0;
    double transform_seconds = 0;
    double verify_seconds = 0;
    double seconds = 0;
    std::string error;
    std::vector<TableRecord> tables;
    std::vector<CatalogObject> objects;
    std::vector<std::int64_t> object_rows;  // per object: rows of a table at the end of the module, else -1
};

/// A table a run created, as the run left it at COMMIT; rollback compares it with the table now.
struct TableState {
    std::string identity;
    std::int64_t rows = 0;
    std::string digest;  // order-independent: validate.hpp's checksum over the rows (see table_state)
};

/// Creates the ledger schema and tables when missing (idempotent).
void ensure_ledger(pqxx::transaction_base& tx);

/// True when the ledger schema exists.
bool ledger_exists(pqxx::transaction_base& tx);

/// Inserts a run with status "running" and returns its id.
std::int64_t begin_run(pqxx::transaction_base& tx, const RunRecord& run);

/// Records one module with its tables and created objects.
void record_module(pqxx::transaction_base& tx, std::int64_t run_id, const ModuleRecord& module);

/// Records the rows a run added to drizzle.__drizzle_migrations.
void record_drizzle_rows(pqxx::transaction_base& tx, std::int64_t run_id,
                         const std::vector<DrizzleRow>& rows);

/// Counts and digests the rows of a table (order-independent, so a re-created table compares
/// equal): the sum, mod 2^64, of hashtextextended over each row's text, where the row text of a
/// table shaped like a raw_ table (key text, value jsonb) is validation's (key TAB value::text),
/// so a replay records its raw_ tables' states from validation's read-back without another
/// scan, and of any other table its row as text (t::text). Throws pqxx errors.
TableState table_state(pqxx::transaction_base& tx, const std::string& identity);

/// Records the state of each table a run created, as it leaves them.
void record_table_states(pqxx::transaction_base& tx, std::int64_t run_id,
                         const std::vector<TableState>& states);

/// Records the tables each module wrote to, with the state before the run of those that existed.
void record_written_tables(pqxx::transaction_base& tx, std::int64_t run_id,
                           const std::vector<WrittenTable>& tables);

/// True when the ledger has enmap_migrate.written_tables (a ledger from before it has not).
bool written_tables_exist(pqxx::transaction_base& tx);

/// Sets a run's final status (committed, partial, failed), totals and error, and records the run's
/// transaction id span (runs.xid_first, runs.xid_end).
void finish_run(pqxx::transaction_base& tx, std::int64_t run_id, const std::string& status,
                std::uint64_t rows, int modules_committed, int modules_failed, const std::string& error,
                const nlohmann::json& lossy);

/// Runs that still hold data in the database: status committed or partial, newest first, as
/// {"id", "source_id", "finished_at"}.
std::vector<nlohmann::json> active_runs(pqxx::transaction_base& tx);

/// The ledger as JSON: {"runs": [... newest first, each with "kind", "modules", "tables",
/// "objects", "drizzle_rows", "written_tables"]}, at most `limit` runs. Empty runs when there is no ledger.
nlohmann::json read_ledger(pqxx::transaction_base& tx, int limit);

/// read_ledger over a connection of its own to `database` (a read-only transaction), for `status`.
/// Throws enmap::DatabaseError, with the URL's secrets masked, when it cannot connect or read.
nlohmann::json read_ledger_of(const std::string& database, int limit);

}  // namespace replay
