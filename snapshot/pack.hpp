#pragma once
// Pack files and index files: the on-disk format of chunks (docs/design.md describes it byte by byte).
// A pack is "EMSPACK1" followed by entries; each entry is a header (type, lengths, chunk id and,
// for a delta, its base chunk id) and the zstd-compressed chunk. A pack is named by the SHA-256
// of all its bytes. An index file lists, for a set of packs, where each chunk lives.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
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
};

/// The header in front of every chunk in a pack: 44 bytes, plus 32 for a delta's base id.
struct EntryHeader {
    EntryType type = EntryType::k_zstd;
    std::uint32_t plain_size = 0;   // bytes of the chunk
    std::uint32_t stored_size = 0;  // bytes of the payload after the header
    Hash id{};                      // SHA-256 of the chunk's plaintext
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
    std::uint32_t offset = 0;  // of the entry header inside the pack
    std::uint32_t stored_size = 0;
    std::uint32_t plain_size = 0;
    EntryType type = EntryType::k_zstd;
    Hash base{};
};

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
/// Decodes an entry's payload into its plaintext and checks its size and SHA-256 against the
/// header; throws StoreError naming the chunk and `where` when they differ.
std::string decode_entry(const EntryHeader& header, std::string_view payload, const std::string& where);

}  // namespace snapshot
