#pragma once
// enmap/ UTF-8 output: one code point to its UTF-8 bytes, shared by the decoder and the export
// reader. (The encoder model in encode.cpp keeps its own on purpose: it is the tests' independent
// oracle.)

#include <cstdint>

namespace enmap {

/// Appends code point `cp` (at most 0x10FFFF) as UTF-8 to `out`, anything with `+= char`.
template <typename Out>
inline void append_utf8(std::uint32_t cp, Out& out) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

}  // namespace enmap
