#pragma once
// rollback/ undoing a replay in PostgreSQL from its ledger: one transaction that drops, in reverse
// module order, every object the run created, deletes the Drizzle rows it added, puts the tables
// that existed before the run and that it wrote to back as they were (checked by count and
// checksum), refuses to lose data written after the run (or saves it with --force), and checks
// the catalog fingerprint.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "rollback/saved_tables.hpp"

namespace rollback {

/// What `rollback postgres` was asked to do.
struct PostgresOptions {
    std::string database_url;
    std::optional<std::int64_t> run_id;  // default: the newest committed or partial run
    std::string module;                  // empty: every module of the run
    bool force = false;                  // save changed tables under the store, then drop them
    std::filesystem::path store;         // where --force saves tables
    std::string pg_dump;                 // --force: "" finds the pg_dump that suits the server,
                                         // "none" builds the tables' definitions from the catalog
};

/// A table the run created whose contents changed after the run.
struct ChangedTable {
    std::string identity;
    std::int64_t rows_then = 0;
    std::int64_t rows_now = 0;
};

/// A table that existed before the run, put back as it was then.
struct RestoredTable {
    std::string identity;
    std::int64_t rows = 0;     // its rows before the run, and now
    std::string how;           // "emptied" (it was empty) or "before-image"
    std::string before_image;  // the enmap_migrate table it was refilled from (dropped since)
};

/// What `rollback postgres` did.
struct PostgresReport {
    std::int64_t run_id = 0;
    std::string module;                // empty: the whole run
    std::string status;                // the run's status afterwards
    std::vector<std::string> dropped;  // "kind identity", in the order dropped
    std::size_t objects = 0;           // the ledger's objects undone (status counts these): dropped,
                                       // or gone with the table that owned them
    std::size_t drizzle_rows_deleted = 0;
    bool drizzle_table_dropped = false;   // the run created drizzle.__drizzle_migrations and it is gone
    std::vector<RestoredTable> restored;  // tables the run wrote to that existed before it
    std::string cleanup_archive;          // the run was cleaned up (--force): the archive cleanup recorded
    std::vector<ChangedTable> changed;
    std::string saved_file;  // the changed tables, whole, with their definitions (--force)
    SaveReport saved;        // that file, how it was made, and the rows written since the run
    bool fingerprint_checked = false;
    bool fingerprint_matches = false;
    std::string fingerprint;  // the catalog's fingerprint now
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Rolls back a run (or one module of it). Throws RefusedError (no run to undo, a later run, data
/// written after the run without force, a cleaned-up run without force, an existing table it
/// cannot restore: no before-image, or a count or checksum that differs after restoring), ValidationError
/// (the catalog does not match the fingerprint recorded before the run, without force; nothing is changed
/// then), DatabaseError.
PostgresReport rollback_postgres(const PostgresOptions& options);

/// Rolls back the newest run and, while the run just undone was a catch-up (replay --since), the
/// run it rested on: the whole chain down to its full replay, newest first, each exactly as
/// rollback_postgres does it and in a transaction of its own. `options.run_id` and `module` must be
/// unset. Throws what rollback_postgres throws; the runs undone before a failure stay undone (a
/// warning names them).
std::vector<PostgresReport> rollback_chain(const PostgresOptions& options);

/// Creates enmap_migrate.actions (rollbacks, rehearsals, cleanups) when missing.
void ensure_actions(pqxx::transaction_base& tx);

/// Records one action on a run in enmap_migrate.actions.
void record_action(pqxx::transaction_base& tx, std::int64_t run_id, const std::string& action,
                   const nlohmann::json& details);

/// Writes the tables as a psql script (CREATE SCHEMA/TABLE, then COPY ... FROM stdin with their
/// rows) to `out` through a temporary file in `tmp_dir`; load it back with `psql -f`.
void save_tables(pqxx::transaction_base& tx, const std::vector<std::string>& identities,
                 const std::filesystem::path& tmp_dir, const std::filesystem::path& out);

}  // namespace rollback
