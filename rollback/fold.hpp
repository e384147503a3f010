#pragma once
// Folding an SQLite database: SQLite itself checkpoints its -wal into it (and rolls back a hot
// -journal), so that one self-contained file holds the content the database and its -wal held.
// SQLite's crash safety covers every step: a kill leaves the file with its -wal (partly copied
// back, still read through the -wal) or without it, and both read as the same content.
// `rollback files` uses it to swap whole sets of files with single renames (docs/rollback.md).

#include <filesystem>
#include <string_view>

namespace rollback {

/// True when a -wal or -journal of more than zero bytes lies beside `database`: then the file
/// alone does not hold its content, or may not.
bool needs_fold(const std::filesystem::path& database);

/// Folds `database`: opens it read-write with SQLite (no other process may have it open), reads
/// its schema (which recovers the -wal or rolls back a hot -journal), checkpoints with TRUNCATE
/// and closes it, after which SQLite has removed the -wal and -shm. The journal mode recorded in
/// the file stays as it was. `step` names its kill points for the crash tests ("<step>:read",
/// "<step>:checkpointed", "<step>:closed"). Throws InputError naming the file when SQLite
/// cannot read it or the fold is incomplete (a -wal or hot -journal with content remains).
void fold_database(const std::filesystem::path& database, std::string_view step);

}  // namespace rollback
