#pragma once
// rollback/ saved tables: what `rollback postgres --force` keeps of the tables the bot changed after
// a run, before it drops or restores them. Two files under the store's saved/ folder:
//   BASE.sql          every changed table whole, with its full definition: the output of the
//                     pg_dump that suits the server when one is installed, else built from the
//                     catalog (columns, defaults, identity, sequences, constraints, indexes);
//   BASE.changes.sql  only the rows written since the run (inserted or updated after it, told by
//                     their xmin against the run's recorded transaction span), each table's into a
//                     table of its own in the schema enmap_migrate_saved.
// docs/rollback.md says how to load each back.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace rollback {

/// One changed table to save.
struct SaveTable {
    std::string identity;          // regclass text, e.g. public.tags
    std::int64_t rows_at_end = 0;  // the rows the run left in it
};

/// What was saved of one table.
struct SavedTable {
    std::string identity;
    std::string changes_table;  // enmap_migrate_saved."<identity>", in the changes file
    std::int64_t rows_now = 0;
    std::int64_t rows_written_after = -1;  // inserted or updated after the run; -1: unknown
    std::int64_t rows_gone = -1;           // rows the run left that are gone now (deleted or updated)
};

struct SaveRequest {
    std::string database_url;  // for pg_dump, which connects on its own with the transaction's snapshot
    std::vector<SaveTable> tables;
    std::optional<std::int64_t> xid_end;  // enmap_migrate.runs.xid_end; none: a ledger older than it
    std::filesystem::path tmp_dir;        // the store's tmp/ folder
    std::filesystem::path base;           // writes BASE.sql and BASE.changes.sql
    std::string pg_dump;                  // "": search for a suitable one; "none": the catalog; else a path
};

struct SaveReport {
    std::string tables_file;   // BASE.sql
    std::string method;        // "pg_dump 15.10 (/usr/lib/postgresql/15/bin/pg_dump)" or "catalog (...why)"
    std::string changes_file;  // BASE.changes.sql; empty when the run has no recorded xid span
    std::vector<SavedTable> tables;
};

/// Locks the tables against writers (SHARE), then writes both files. Throws StoreError (the files),
/// DatabaseError.
SaveReport save_changed_tables(pqxx::transaction_base& tx, const SaveRequest& request);

/// The SQL condition, on a row's xmin, "written after the transaction span that ended at xid_end"
/// (32-bit transaction ids compared the way PostgreSQL does, modulo 2^32).
std::string written_after_condition(std::int64_t xid_end);

}  // namespace rollback
