#pragma once
// rollback/: undoing a migration. This header restores the exact Enmap files of a snapshot into a
// bot's data folder, crash-safely: a kill -9 at any point leaves the old set of files or the new
// one, once the next command has run (docs/rollback.md, "The file protocol").

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
    /// "replaced", "created", "removed" or "unchanged".
    [[nodiscard]] std::string change() const;
};

/// What `rollback files` did.
struct FilesReport {
    std::string snapshot_id;
    std::string safety_snapshot_id;  // empty when nothing had to change
    std::string safety_label;
    std::string recovered;  // what recovery did first: "", "completed" or "discarded"
    std::vector<FileChange> files;
    bool changed = false;
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Finishes an interrupted `rollback files` in `data_dir` (its journal is written: roll forward)
/// or discards its staged files (no journal: the old set stays). Returns "completed",
/// "discarded" or "" when there was nothing to do. Throws StoreError when a staged file is gone.
std::string recover_files(const std::filesystem::path& data_dir);

/// Restores the files of a snapshot into the data folder: recovery, open-database check
/// (RefusedError unless force), safety snapshot labelled pre-rollback-<UTC time>, staging with
/// SHA-256 checks, journal, renames, stale -wal/-shm removal, final SHA-256 check. Idempotent.
/// Throws InputError (not a database snapshot), RefusedError, StoreError.
FilesReport rollback_files(snapshot::Store& store, const FilesOptions& options);

/// Lowercase hex SHA-256 of a file's bytes; throws InputError naming it.
std::string file_sha256(const std::filesystem::path& path);

}  // namespace rollback
