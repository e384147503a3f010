#pragma once
// rollback/: undoing a migration. This header restores the exact Enmap files of a snapshot into a
// bot's data folder, crash-safely: a kill -9 at any point leaves files that read as the old set or
// as the new one, and the next command finishes the interrupted one (docs/rollback.md, "The file
// protocol"; the journal fallback is the exception documented there).

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "snapshot/store.hpp"

namespace rollback {

/// The folder inside the data folder that holds the staged files and the journal.
inline constexpr const char* k_work_dir = ".enmap-migrate-rollback";

/// What `rollback files` was asked to do.
struct FilesOptions {
    std::filesystem::path data_dir;
    std::string snapshot_ref;
    bool force = false;  // restore even while a process has the database open
};

/// One file of the data folder, before and after.
struct FileChange {
    std::string name;
    std::string before;  // sha256 hex, empty when absent
    std::string after;   // sha256 hex, empty when absent
    std::uint64_t size = 0;
    /// A -wal or -journal found without its database: the name it was moved aside to (not deleted).
    std::string kept_as;
    /// "replaced", "created", "removed" or "unchanged".
    [[nodiscard]] std::string change() const;
};

/// What `rollback files` did.
struct FilesReport {
    std::string snapshot_id;
    std::string safety_snapshot_id;  // empty when nothing had to change
    std::string safety_label;
    std::string recovered;        // what recovery did first: "", "completed" or "discarded"
    std::string protocol;         // "atomic", "journal" (the fallback), or empty when nothing changed
    std::string fallback_reason;  // why the journal protocol was used
    std::vector<FileChange> files;
    bool changed = false;
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Finishes an interrupted `rollback files` in `data_dir` (its journal is written: roll forward)
/// or discards its staged files (no journal, or an atomic run whose folder a process changed
/// since: the files there stay). Returns "completed", "discarded" or "" when there was nothing to
/// do. Throws StoreError when a staged file is gone, InputError when SQLite cannot fold the old set.
std::string recover_files(const std::filesystem::path& data_dir);

/// Restores the files of a snapshot into the data folder: open-database check (RefusedError
/// unless force), recovery, safety snapshot labelled pre-rollback-<UTC time>, staging with
/// SHA-256 checks, folding, journal, renames, stale -wal/-shm removal, final SHA-256 check.
/// Idempotent. Throws InputError (not a database snapshot), RefusedError, StoreError.
FilesReport rollback_files(snapshot::Store& store, const FilesOptions& options);

/// Lowercase hex SHA-256 of a file's bytes; throws InputError naming it.
std::string file_sha256(const std::filesystem::path& path);

}  // namespace rollback
