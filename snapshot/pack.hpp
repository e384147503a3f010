#pragma once
// Pack files and index files: the on-disk format of chunks (docs/design.md describes it byte by byte).
// A pack is "EMSPACK1" followed by entries; each entry is a header (type, lengths, chunk id and,
// for a delta, its base chunk id) and its payload: one zstd-compressed chunk, or a block of up to
// 64 KiB of chunks (a member table and one zstd frame of their plaintexts). A pack is named by the
// SHA-256 of all its bytes. An index file lists, for a set of packs, where each chunk lives.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "snapshot/hash.hpp"

namespace snapshot {

/// First 8 bytes of every pack file.
inline constexpr std::string_view k_pack_magic = "EMSPACK1";
/// First 8 bytes of every index file.
inline constexpr std::string_view k_index_magic = "EMSINDX1";

/// How an entry's payload encodes the chunk.
enum class EntryType : std::uint8_t {
    k_zstd = 0,        // a zstd frame of the whole chunk
    k_zstd_delta = 1,  // reserved: a zstd frame compressed with the base chunk as its dictionary
    k_zstd_block = 2,  // a block: a member table, then one zstd frame of the members' plaintexts
};

/// The header in front of every chunk in a pack: 44 bytes, plus 32 for a delta's base id.
struct EntryHeader {
    EntryType type = EntryType::k_zstd;
    std::uint32_t plain_size = 0;   // bytes of the chunk (of a block: of all its members)
    std::uint32_t stored_size = 0;  // bytes of the payload after the header
    Hash id{};                      // SHA-256 of the chunk's plaintext (of a block: of its member table)
    Hash base{};                    // the base chunk of a delta; zero otherwise

    /// Size of the encoded header.
    [[nodiscard]] std::size_t encoded_size() const { return type == EntryType::k_zstd_delta ? 76 : 44; }
    /// Appends the encoded header.
    void encode(std::string& out) const;
    /// Decodes a header from the start of bytes; std::nullopt when bytes are too short or invalid.
    static std::optional<EntryHeader> decode(std::string_view bytes);
};

/// Smallest size an encoded header can have.
inline constexpr std::size_t k_entry_header_min = 44;

/// Where one chunk lives: pack number (into Index::packs), entry offset and sizes.
struct Location {
    std::uint32_t pack = 0;
    std::uint32_t offset = 0;        // of the entry header inside the pack
    std::uint32_t stored_size = 0;   // of the entry's payload (a block's, for a block member)
    std::uint32_t plain_size = 0;    // of the chunk
    std::uint32_t inner_offset = 0;  // a block member: where it starts in the block's plaintext
    std::uint32_t block_plain = 0;   // a block member: the block's plaintext size
    EntryType type = EntryType::k_zstd;
    Hash base{};
};

/// Size of the header of an entry of this type in a pack.
inline std::size_t entry_header_size(EntryType type) {
    return type == EntryType::k_zstd_delta ? 76 : 44;
}

/// The zstd level chunks are compressed at unless --compression says otherwise; also the level of
/// the blocks prune and archive rebuild.
inline constexpr int k_default_compression = 3;

/// Plaintext a block gathers before it is compressed: 16 SQLite pages of 4 KiB.
inline constexpr std::size_t k_block_target = 65536;

/// One chunk of a block: its id, size and offset in the block's plaintext.
struct BlockMember {
    Hash id{};
    std::uint32_t size = 0;
    std::uint32_t offset = 0;
};

/// Gathers chunks into one block entry. Compressing 16 pages as one zstd frame is about twice as
/// fast and a third smaller than compressing each alone (docs/design.md), while every chunk keeps
/// its own id, so deduplication stays per page.
class BlockBuilder {
public:
    /// Appends a chunk.
    void add(const Hash& id, std::string_view plain);
    [[nodiscard]] bool empty() const { return m_members.empty(); }
    /// True once the block holds k_block_target bytes or more.
    [[nodiscard]] bool full() const { return m_plain.size() >= k_block_target; }
    /// Compresses the gathered chunks at `level` into an entry's header and payload, and starts over.
    std::pair<EntryHeader, std::string> finish(int level);

private:
    std::vector<BlockMember> m_members;
    std::string m_plain;
};

/// A decompressed block: its members and their plaintexts, back to back.
struct Block {
    std::vector<BlockMember> members;
    std::string plain;
};

/// Parses a block payload's member table and checks it against the header (its SHA-256 is the
/// header's id); throws StoreError naming `where` when they differ.
std::vector<BlockMember> block_members(const EntryHeader& header, std::string_view payload,
                                       const std::string& where);
/// The same, into `members` (its storage reused).
void block_members(const EntryHeader& header, std::string_view payload, const std::string& where,
                   std::vector<BlockMember>& members);
/// Decompresses a block payload. With `check_members`, also checks every member's SHA-256.
/// Throws StoreError naming `where` and the first bad member.
Block decode_block(const EntryHeader& header, std::string_view payload, const std::string& where,
                   bool check_members);
/// The same, into `block`, reusing its buffers (a block cache's slot); on a throw `block` holds
/// nothing usable.
void decode_block(const EntryHeader& header, std::string_view payload, const std::string& where,
                  bool check_members, Block& block);

/// One index file's content: packs and, per pack, its entries.
struct IndexFile {
    struct Entry {
        Hash id{};
        Location location;  // location.pack indexes `packs`
    };
    std::vector<Hash> packs;
    std::vector<Entry> entries;

    /// Encodes the file ("EMSINDX1", packs with their entries).
    [[nodiscard]] std::string encode() const;
    /// Decodes an index file; throws StoreError naming `name` when it is malformed.
    static IndexFile decode(std::string_view bytes, const std::string& name);
};

/// zstd-compresses a chunk at `level`; throws on a zstd failure.
std::string compress_chunk(std::string_view plain, int level);
/// zstd-compresses a chunk with `base` (another chunk's plaintext) as its prefix dictionary, as
/// `zstd --patch-from` does; throws on a zstd failure.
std::string compress_delta(std::string_view plain, std::string_view base, int level);
/// Decodes a delta entry's payload with its base chunk's plaintext and checks its size and SHA-256;
/// throws StoreError naming the chunk and `where`.
std::string decode_delta(const EntryHeader& header, std::string_view payload, std::string_view base,
                         const std::string& where);
/// How many deltas a chunk may be away from a whole chunk (git's --depth): reading one never
/// decompresses more than this many bases.
inline constexpr std::size_t k_max_delta_depth = 8;
/// Decodes an entry's payload into its plaintext and checks its size and SHA-256 against the
/// header (a block: every member's); throws StoreError naming the chunk and `where` when they differ.
/// A delta cannot be decoded alone (Store::read_chunk reads its base): it throws StoreError.
std::string decode_entry(const EntryHeader& header, std::string_view payload, const std::string& where);

}  // namespace snapshot
