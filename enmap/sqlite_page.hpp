#pragma once
// enmap/ internal: reading SQLite's on-disk page format directly, for the places where walking the
// pages ourselves is much cheaper than SQLite's own walk (key_boundaries.cpp, page_summary.cpp).
// Every read is bounds-checked; a layout that is not the expected one throws PageLayoutUnexpected,
// and the caller then falls back to SQLite. The format: https://www.sqlite.org/fileformat2.html

#include <cstdint>

namespace enmap::sqlite_page {

/// The pages were not laid out as the reader expects: use SQLite instead.
struct PageLayoutUnexpected {};

inline constexpr unsigned char k_interior_index = 0x02;
inline constexpr unsigned char k_interior_table = 0x05;
inline constexpr unsigned char k_leaf_index = 0x0A;
inline constexpr unsigned char k_leaf_table = 0x0D;

/// A big-endian 16-bit number.
inline std::uint32_t get_u16(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 8) | p[1];
}

/// A big-endian 32-bit number.
inline std::uint32_t get_u32(const unsigned char* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

/// SQLite's varint at `p` (1 to 9 bytes), not reading at or past `end`; advances `p`.
inline std::uint64_t varint(const unsigned char*& p, const unsigned char* end) {
    std::uint64_t v = 0;
    for (int i = 0; i < 9; ++i) {
        if (p >= end) {
            throw PageLayoutUnexpected{};
        }
        unsigned char b = *p++;
        if (i == 8) {
            return (v << 8) | b;
        }
        v = (v << 7) | (b & 0x7F);
        if ((b & 0x80) == 0) {
            return v;
        }
    }
    return v;
}

}  // namespace enmap::sqlite_page
