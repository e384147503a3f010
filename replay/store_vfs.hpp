#pragma once
// replay/ a read-only SQLite VFS that serves a snapshot's database file straight out of the store:
// each page SQLite reads is its chunk (a database is chunked at its page boundaries), read,
// decompressed and checked against its SHA-256 by snapshot::Store. Replay reads the snapshot
// without first writing the whole file back out (materialize) and reading it again.
//
// Every page read is checked against its chunk id, the ids come from chunk lists checked against
// theirs, and those from the manifest, checked against the snapshot id: the same chain of
// SHA-256s that materialize's whole-file check rests on, for the pages SQLite reads.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace snapshot {
class Store;
}

namespace replay {

/// One snapshot file served to SQLite for as long as the object lives (and the store with it).
class StoreFile {
public:
    /// The name of the VFS (registered with SQLite on first use).
    static const char* vfs_name();
    /// The database file entry of `manifest` when it can be served this way: the snapshot holds
    /// that one file (no -wal to apply), chunked at its SQLite pages. Null otherwise.
    static const nlohmann::json* servable(const nlohmann::json& manifest);

    /// Serves `file` (an entry servable() returned) of `store`; throws StoreError when its
    /// chunk lists are damaged.
    StoreFile(const snapshot::Store& store, const nlohmann::json& file);
    ~StoreFile();
    StoreFile(const StoreFile&) = delete;
    StoreFile& operator=(const StoreFile&) = delete;

    /// The name to open with the VFS (an absolute path no file system holds).
    [[nodiscard]] const std::string& name() const { return m_name; }
    /// Pages read and chunks decompressed so far, for the log.
    [[nodiscard]] std::uint64_t chunks_read() const;
    /// Why the last failed read failed (a damaged chunk), or empty: SQLite only reports an I/O error.
    [[nodiscard]] std::string read_error() const;

    struct Served;  // what the VFS reads from (store_vfs.cpp)

private:
    std::string m_name;
    std::shared_ptr<Served> m_served;
};

}  // namespace replay
