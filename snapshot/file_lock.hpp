#pragma once
// snapshot/ an exclusive lock on one file, naming its holder: `rollback files` holds one in the
// data folder for its whole run.

#include <filesystem>
#include <string>

#include "snapshot/fsutil.hpp"

namespace snapshot {

/// An exclusive flock(2) on one file (created when missing, never removed: removing it would let two
/// holders lock two different files), holding the holder's pid and command for a refusal to name.
class FileLock {
public:
    /// Takes the lock without waiting; throws RefusedError naming the holder when it is taken,
    /// StoreError when the file cannot be created.
    FileLock(const std::filesystem::path& file, const std::string& command);
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

private:
    Fd m_fd;
};

}  // namespace snapshot
