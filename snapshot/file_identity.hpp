#pragma once
// snapshot/ telling whether a file changed: what `snapshot create` compares before and after an
// exact copy, and `rollback files` before it changes the data folder.

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>

namespace snapshot {

/// What says that a file did not change: inode, size, modification and change times to the
/// nanosecond and, for a database, the header's file change counter (bytes 24..27).
struct FileIdentity {
    bool exists = false;
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::int64_t size = 0;
    timespec mtime{};
    timespec ctime{};
    std::uint32_t counter = 0;
};

/// The identity of `path` now (exists false when it does not, or when it is an empty sidecar:
/// `database` false); `database` reads the change counter.
FileIdentity file_identity(const std::filesystem::path& path, bool database);

/// What changed between two identities of the file `path` ("... was written to"), or "" when nothing did.
std::string file_identity_change(const FileIdentity& before, const FileIdentity& after,
                                 const std::filesystem::path& path);

}  // namespace snapshot
