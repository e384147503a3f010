#pragma once
// The snapshot store: a folder of content-addressed packs, index files and manifests, guarded by
// a lock (docs/design.md). A Store object holds the lock for its lifetime and the in-memory index.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <future>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "snapshot/hash.hpp"
#include "snapshot/lock.hpp"
#include "snapshot/pack.hpp"

namespace snapshot {

/// Chunk ids to what is known of each, with the nodes taken from one arena (`Arena`): a store of
/// a 1 GiB database indexes ~262,000 chunks, and allocating and freeing them one by one was a third
/// of opening the store and a quarter of closing it (perf, docs/BENCHMARKS.md). Memory of erased
/// nodes comes back only with the arena.
template <class Value>
using ChunkMap = std::pmr::unordered_map<Hash, Value, HashHasher>;
/// The arena of a ChunkMap, kept at a stable address.
using Arena = std::unique_ptr<std::pmr::monotonic_buffer_resource>;
/// A new arena.
inline Arena new_arena() {
    return std::make_unique<std::pmr::monotonic_buffer_resource>();
}

/// Format name written into every manifest.
inline constexpr std::string_view k_manifest_format = "enmap-migrate-snapshot/1";
/// Chunk ids per chunk-list blob (1 MiB of ids).
inline constexpr std::size_t k_ids_per_list = 32768;

/// One snapshot as `list` shows it.
struct SnapshotInfo {
    Hash id{};
    std::string time;   // UTC, ISO 8601 with microseconds
    std::string label;  // empty when none
    std::string kind;   // exact, live or export
    std::string source;
    std::uint64_t bytes_in = 0;
    nlohmann::json manifest;
};

/// How materialize treats files already in the destination.
struct MaterializeOptions {
    /// Replace existing files, and remove stale -wal, -shm and -journal files beside a restored
    /// database that the snapshot does not hold. Without it, existing files are refused.
    bool overwrite = false;
    /// fsync every file and the folder (the default). Off for scratch copies, such as the one replay
    /// decodes, where a crash loses nothing: the write is then as fast as the page cache.
    bool durable = true;
    unsigned threads = 0;  // 0: default_threads()
};

/// What verify found.
struct VerifyReport {
    std::uint64_t packs = 0;
    std::uint64_t chunks = 0;
    std::uint64_t indexes = 0;
    std::uint64_t snapshots = 0;
    std::uint64_t files = 0;            // whole files re-assembled and checked against their SHA-256
    std::vector<std::string> damaged;   // one line per damaged object, naming it
    std::vector<std::string> affected;  // ids of snapshots that cannot be restored
    [[nodiscard]] bool ok() const { return damaged.empty(); }
    /// The report as JSON.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Which snapshots prune keeps; a snapshot matching any rule is kept.
struct PrunePolicy {
    std::optional<std::size_t> keep_last;
    std::optional<std::int64_t> keep_within_seconds;
    std::vector<std::string> keep_labels;
    std::vector<Hash> remove_ids;  // remove exactly these and keep every other snapshot (cleanup --prune)
    bool dry_run = false;
};

/// What prune did.
struct PruneReport {
    std::vector<std::string> kept;
    std::vector<std::string> removed;
    std::uint64_t packs_removed = 0;
    std::uint64_t packs_repacked = 0;
    std::uint64_t chunks_removed = 0;
    std::uint64_t bytes_freed = 0;
    /// The report as JSON.
    [[nodiscard]] nlohmann::json to_json() const;
};

class PackWriter;

/// An open store. Opening takes the lock, cleans up leftovers of interrupted commands when no one
/// else uses the store, and loads the index.
class Store {
public:
    enum class Access {
        k_read,      // shared lock; the store must exist
        k_write,     // shared lock; the store is created when missing
        k_maintain,  // exclusive lock (prune, gc); the store must exist
    };
    /// Opens the store at `root`; throws StoreError (missing or damaged store) or RefusedError (locked).
    Store(std::filesystem::path root, Access access, const std::string& command);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    /// The store folder.
    [[nodiscard]] const std::filesystem::path& root() const { return m_root; }
    /// The folder for temporary files.
    [[nodiscard]] std::filesystem::path tmp_dir() const { return m_root / "tmp"; }
    /// Path of a pack file.
    [[nodiscard]] std::filesystem::path pack_path(const Hash& pack) const;

    /// True when the index knows the chunk.
    [[nodiscard]] bool has_chunk(const Hash& id) const { return m_chunks.count(id) != 0; }
    /// Reads, decompresses and checks one chunk; throws StoreError naming it and its pack.
    [[nodiscard]] std::string read_chunk(const Hash& id) const;
    /// Reads, decompresses and checks `count` chunks and returns their bytes concatenated; chunks
    /// stored next to each other are read with one pread. Throws StoreError naming a bad chunk.
    [[nodiscard]] std::string read_chunks(const Hash* ids, std::size_t count) const;
    /// The same, appending to `out` (whose capacity a caller can reuse).
    void read_chunks(const Hash* ids, std::size_t count, std::string& out) const;
    /// Reads one chunk's entry as stored (header and payload) and checks it; throws StoreError.
    [[nodiscard]] std::string read_entry(const Hash& id, EntryHeader& header) const;
    /// Every chunk the index knows.
    [[nodiscard]] const ChunkMap<Location>& chunks() const { return m_chunks; }
    /// Every pack the index knows, numbered as Location::pack.
    [[nodiscard]] const std::vector<Hash>& packs() const { return m_packs; }
    /// Records the entries of a newly written index file in memory.
    void add_index(const IndexFile& file, const Hash& index_id);

    /// Every snapshot whose manifest is sound (valid JSON, its SHA-256 its id), oldest first. A damaged
    /// manifest throws StoreError, or with `damaged` is left out and described there instead.
    [[nodiscard]] std::vector<SnapshotInfo> list(std::vector<std::string>* damaged = nullptr) const;
    /// Resolves a full id, a unique id prefix, a label (its newest snapshot) or `latest`.
    /// Throws UsageError for an ambiguous prefix and StoreError when nothing matches.
    [[nodiscard]] Hash resolve(std::string_view ref) const;
    /// Reads a manifest and checks that its SHA-256 is its id; throws StoreError.
    [[nodiscard]] nlohmann::json read_manifest(const Hash& id) const;
    /// Writes a manifest durably; returns its id (the SHA-256 of its bytes).
    Hash write_manifest(const nlohmann::json& manifest);
    /// Writes manifest bytes as they are (import); returns their id.
    Hash write_manifest_bytes(std::string_view bytes);
    /// The chunk ids of one file entry of a manifest, in order; throws StoreError.
    [[nodiscard]] std::vector<Hash> file_chunks(const nlohmann::json& file) const;
    /// How many delta bases deep a chunk is stored (0: whole, or unknown to the index).
    [[nodiscard]] std::size_t delta_depth(const Hash& id) const;
    /// Every chunk a manifest needs: its chunk-list blobs, their delta bases (unless `bases` is
    /// false: an archive stores lists whole), and the chunks they list.
    [[nodiscard]] std::vector<Hash> needed_chunks(const nlohmann::json& manifest, bool bases = true) const;

    /// Writes the files of snapshot `id` into `dest` (created 0700 when missing), checking the
    /// SHA-256 of every chunk and of each whole file; each file goes to a temporary name, is
    /// fsynced and renamed. Throws StoreError (damage), RefusedError (files exist, no overwrite).
    void materialize(const Hash& id, const std::filesystem::path& dest,
                     const MaterializeOptions& options = {}) const;
    /// Re-reads and re-hashes every pack, chunk, index and manifest (or only what snapshot `only`
    /// needs, then also re-assembling its files); never throws for damage, it reports it.
    [[nodiscard]] VerifyReport verify(const std::optional<Hash>& only = std::nullopt) const;
    /// Removes the snapshots no rule keeps, then the data only they used, repacking partly used
    /// packs. Needs Access::k_maintain; throws UsageError when no rule is given.
    PruneReport prune(const PrunePolicy& policy);
    /// Writes snapshots and every chunk they need into one checksummed archive file.
    void archive(const std::vector<Hash>& ids, const std::filesystem::path& out) const;
    /// Brings an archive's snapshots and chunks into this store; returns the snapshot ids.
    /// Throws InputError when the archive is damaged (nothing of it becomes visible then).
    std::vector<Hash> import_archive(const std::filesystem::path& archive);

private:
    friend class PackWriter;
    /// The block holding chunk `id` at `loc`, decompressed (members not yet checked); cached per
    /// thread, so it stays valid until this thread reads another block.
    const Block& read_block(const Hash& id, const Location& loc) const;
    /// Appends chunk ids[0] (a block member at `loc`) and the chunks after it that follow it in the
    /// same block, each checked against its SHA-256; returns how many. Throws StoreError.
    std::size_t append_members(const Hash* ids, std::size_t count, const Location& loc,
                               std::string& out) const;
    void create_layout();
    void load_index();
    void clean_up_leftovers();
    int pack_fd(std::uint32_t pack) const;

    std::filesystem::path m_root;
    std::unique_ptr<StoreLock> m_lock;
    std::vector<Hash> m_packs;
    std::unordered_map<Hash, std::uint32_t, HashHasher> m_pack_numbers;
    Arena m_chunk_arena = new_arena();  // before m_chunks, which it outlives
    ChunkMap<Location> m_chunks{m_chunk_arena.get()};
    std::vector<Hash> m_index_files;
    mutable std::mutex m_fd_mutex;
    mutable std::unordered_map<std::uint32_t, int> m_pack_fds;
};

/// Adds chunks to new pack files (about 16 MiB each) and, at finish(), writes one index file
/// for them. Packs are durable when written, but only an index makes them part of the store.
class PackWriter {
public:
    /// Starts writing into `store`; with `skip_known`, chunks the store's index knows are skipped.
    explicit PackWriter(Store& store, bool skip_known = true, std::uint64_t pack_target = 16U << 20);
    ~PackWriter();
    PackWriter(const PackWriter&) = delete;
    PackWriter& operator=(const PackWriter&) = delete;
    /// True when the store or this writer already holds the chunk.
    [[nodiscard]] bool contains(const Hash& id) const;
    /// Adds an entry (header + payload) unless the chunk is already held; true when added. A block
    /// is added when it holds a chunk not yet held, and only those chunks are indexed to it.
    bool add(const EntryHeader& header, std::string_view payload);
    /// Adds a plaintext chunk as a zstd delta against `base` (whose plaintext is `base_plain`); true
    /// when added. The caller keeps chains short (Store::delta_depth below k_max_delta_depth).
    bool add_delta(std::string_view plain, const Hash& base, std::string_view base_plain, int level);
    /// Adds a chunk's plaintext to the block being gathered (written once it holds 64 KiB, or at
    /// flush/finish), compressed at `level`; nothing when the chunk is already held.
    void add_chunk(const Hash& id, std::string_view plain, int level);
    /// Adds a plaintext chunk, compressing it at `level`; true when added.
    bool add_plain(std::string_view plain, int level);
    /// Makes room for `chunks` more new chunks, so that the writer's tables do not grow step by step.
    void reserve(std::size_t chunks);
    /// Closes the current pack; returns the entries of every pack written so far.
    IndexFile flush();
    /// Flushes and writes the index file for the new packs, making them part of the store.
    void finish();
    /// Payload and header bytes written to packs.
    [[nodiscard]] std::uint64_t bytes_stored() const { return m_bytes_stored; }
    /// Chunks added.
    [[nodiscard]] std::uint64_t chunks_added() const { return m_chunks_added; }

private:
    void write_entry(const EntryHeader& header, std::string_view payload,
                     const std::vector<BlockMember>& members);
    void flush_pending(int level);
    void close_pack();
    void wait_for_commits(std::size_t keep);
    Store& m_store;
    bool m_skip_known;
    std::uint64_t m_pack_target;
    struct OpenPack;
    std::unique_ptr<OpenPack> m_open;
    std::deque<std::future<void>> m_commits;  // packs being fsynced and renamed in the background
    IndexFile m_done;
    Arena m_added_arena = new_arena();  // before m_added, which it outlives
    ChunkMap<bool> m_added{m_added_arena.get()};
    std::uint64_t m_bytes_stored = 0;
    std::uint64_t m_chunks_added = 0;
    BlockBuilder m_pending;  // add_chunk's block being gathered
    int m_pending_level = 3;
};

/// Current UTC time as ISO 8601 with microseconds.
std::string now_iso8601();
/// Parses the time format of now_iso8601 into seconds since the epoch; throws InputError.
std::int64_t parse_iso8601(std::string_view text);

}  // namespace snapshot
