#pragma once
// rollback/ undoing a replay in PostgreSQL from its ledger: one transaction that drops, in reverse
// module order, every object the run created and deletes the Drizzle rows it added, refuses to
// lose data written after the run (or saves it with --force), and checks the catalog fingerprint.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace rollback {

/// What `rollback postgres` was asked to do.
struct PostgresOptions {
    std::string database_url;
    std::optional<std::int64_t> run_id;  // default: the newest committed or partial run
    std::string module;                  // empty: every module of the run
    bool force = false;                  // save changed tables under the store, then drop them
    std::filesystem::path store;         // where --force saves tables
};

/// A table the run created whose contents changed after the run.
struct ChangedTable {
    std::string identity;
    std::int64_t rows_then = 0;
    std::int64_t rows_now = 0;
};

/// What `rollback postgres` did.
struct PostgresReport {
    std::int64_t run_id = 0;
    std::string module;                // empty: the whole run
    std::string status;                // the run's status afterwards
    std::vector<std::string> dropped;  // "kind identity", in the order dropped
    std::size_t drizzle_rows_deleted = 0;
    std::vector<ChangedTable> changed;
    std::string saved_file;  // the COPY dump of the changed tables (--force)
    bool fingerprint_checked = false;
    bool fingerprint_matches = false;
    std::string fingerprint;  // the catalog's fingerprint now
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Rolls back a run (or one module of it). Throws RefusedError (no run to undo, a later run, data
/// written after the run without force), ValidationError (the catalog does not match the
/// fingerprint recorded before the run, without force; nothing is changed then), DatabaseError.
PostgresReport rollback_postgres(const PostgresOptions& options);

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
