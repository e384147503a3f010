#pragma once
// How a file is cut into chunks. SQLite rewrites whole pages in place, so a database file is cut
// at its page boundaries and a -wal file at its frame boundaries: an unchanged page is then an
// unchanged chunk, whatever changed around it. Other files are cut into fixed 64 KiB pieces.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace snapshot {

/// Chunk boundaries: one chunk of `first` bytes (none when 0), then chunks of `size` bytes.
struct ChunkLayout {
    std::string kind;  // "sqlite-pages", "wal-frames" or "fixed"
    std::uint64_t first = 0;
    std::uint64_t size = 65536;
    /// The layout as the manifest records it, e.g. "sqlite-pages:4096".
    [[nodiscard]] std::string describe() const;
};

/// The layout a manifest describes ("sqlite-pages:4096", "wal-frames:4096", "fixed:65536"), or
/// std::nullopt when the description is not one of those.
std::optional<ChunkLayout> parse_layout(std::string_view description);

/// Where chunk `index` of a file cut with `layout` starts.
inline std::uint64_t chunk_offset(const ChunkLayout& layout, std::uint64_t index) {
    if (layout.first == 0) {
        return index * layout.size;
    }
    return index == 0 ? 0 : layout.first + (index - 1) * layout.size;
}

/// Fixed-size chunk of files that are not SQLite files.
inline constexpr std::uint64_t k_fixed_chunk = 65536;

/// The page size in a SQLite header (bytes 16-17, big-endian; 1 means 65536), or 0 when `header`
/// (the first 100 bytes) is not a SQLite database header.
std::uint32_t sqlite_page_size(const unsigned char* header, std::size_t size);

/// Picks the layout for a file from its first bytes: a SQLite database, a WAL file
/// (32-byte header, then frames of 24 + page size bytes), or anything else.
ChunkLayout choose_layout(const std::filesystem::path& file);

}  // namespace snapshot
