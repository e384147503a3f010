#pragma once
// Helpers for the snapshot tests: small real Enmap-like SQLite databases and store inspection.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "snapshot/store.hpp"

namespace snapshot_test {

/// Writes an Enmap-like database (table `points`, key/value text, ~350-byte JSON values) with
/// `rows` rows in journal mode `journal` ("wal" or "delete"); closes it cleanly.
void make_database(const std::filesystem::path& file, int rows, const std::string& journal = "wal");
/// Rewrites the value of every `step`-th row (from `first`) and closes the database cleanly.
void update_rows(const std::filesystem::path& file, int first, int step, int count, const std::string& tag);
/// Number of `page`-byte pages that differ between two files (extra pages count as different).
std::size_t differing_pages(const std::filesystem::path& a, const std::filesystem::path& b, std::size_t page);
/// Copies a fixture's enmap.sqlite and enmap.sqlite-wal/-shm (when present) into `dest`.
void copy_fixture(const std::string& name, const std::filesystem::path& dest);
/// Every file under `root` (recursively).
std::vector<std::filesystem::path> files_under(const std::filesystem::path& root);
/// The one pack file of a store (the test fails unless there is exactly one).
std::filesystem::path only_pack(const std::filesystem::path& store);
/// Flips bits (`mask`) of the byte in the middle of `file`, as a bad disk would.
void flip_middle_byte(const std::filesystem::path& file, char mask = 0x20);
/// A copy of `dest` holding the given snapshot's files, restored through Store::materialize.
std::string restored_bytes(const snapshot::Store& store, const snapshot::Hash& id, const std::string& name,
                           const std::filesystem::path& scratch);

/// Captures the database `db` exactly (no table summary) under `label`; the snapshot's id.
snapshot::Hash capture_db(snapshot::Store& store, const std::filesystem::path& db,
                          const std::string& label = {});

/// A series of snapshots of one database, and the database's bytes at each.
struct Rounds {
    std::vector<snapshot::Hash> ids;
    std::vector<std::string> versions;
};
/// `rounds` snapshots of `db`: before each, `change(round)` changes it; `label(round)` names it
/// (no label when absent or empty).
Rounds capture_rounds(snapshot::Store& store, const std::filesystem::path& db, int rounds,
                      const std::function<void(int)>& change,
                      const std::function<std::string(int)>& label = nullptr);

/// A child process that holds a database open (as a running bot does) until destroyed. POSIX
/// locks belong to a process and close() of any descriptor drops them, so the bot must not be the
/// test process itself. `sql` runs after opening; with `in_transaction`, it stays inside BEGIN IMMEDIATE.
class HeldOpen {
public:
    HeldOpen(const std::filesystem::path& db, const std::string& sql, bool in_transaction = false);
    ~HeldOpen();
    HeldOpen(const HeldOpen&) = delete;
    HeldOpen& operator=(const HeldOpen&) = delete;
    [[nodiscard]] int pid() const { return m_pid; }

private:
    int m_pid = -1;
    int m_release = -1;
};

}  // namespace snapshot_test
