#pragma once
// The store's lock: flock(2) on <store>/lock, shared for commands that add or read data,
// exclusive for prune and for cleaning up leftovers. Each holder also writes
// <store>/locks/<pid>-<n>.json saying who it is, so a refusal can name the holder.

#include <filesystem>
#include <string>

#include "snapshot/fsutil.hpp"

namespace snapshot {

/// A held lock on a store; released on destruction.
class StoreLock {
public:
    enum class Mode { k_shared, k_exclusive };
    /// Takes the lock without waiting; throws RefusedError naming the holders when it is taken. With
    /// `reader`, a store this process may not write (a read-only mount, no write permission) is
    /// locked through a read-only descriptor, or not at all when even that fails (restic's
    /// --no-lock): nobody can change such a store through this machine's view of it anyway.
    StoreLock(const std::filesystem::path& store, Mode mode, const std::string& command, bool reader = false);
    ~StoreLock();
    StoreLock(const StoreLock&) = delete;
    StoreLock& operator=(const StoreLock&) = delete;
    /// True when the store could not be opened for writing (see the constructor's `reader`).
    [[nodiscard]] bool read_only() const { return m_read_only; }
    /// Tries to turn a shared lock into an exclusive one without waiting; false when others hold it.
    bool try_upgrade();
    /// Turns an exclusive lock back into a shared one; throws RefusedError when that fails.
    void downgrade();
    /// The current mode.
    [[nodiscard]] Mode mode() const { return m_mode; }
    /// Removes the holder files of processes that no longer hold the lock (call while exclusive).
    void remove_stale_holder_files() const;

private:
    void write_holder_file();
    std::filesystem::path m_store;
    std::string m_command;
    std::filesystem::path m_holder_file;
    Fd m_fd;
    bool m_read_only = false;
    Mode m_mode;
};

/// A readable description of the processes that hold the store's lock, from their holder files.
std::string describe_lock_holders(const std::filesystem::path& store);

}  // namespace snapshot
