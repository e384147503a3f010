#pragma once
// enmap/decode/ text primitives and the output sink: the byte classes the grammars share, UTF-8
// sequence checking, JSON.stringify's control escapes, and Sink, the output buffer one decode
// appends its canonical JSON to.

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace enmap::decode {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Bytes a JSON string may hold raw and canonical JSON writes unchanged: printable ASCII except " and \.
constexpr std::array<bool, 256> make_plain_table() {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 0x80; ++c) {
        table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    }
    return table;
}
inline constexpr std::array<bool, 256> k_plain = make_plain_table();

inline bool is_ident_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

inline bool is_ident_start(unsigned char c) {
    return is_ident_char(c) && !(c >= '0' && c <= '9');
}

inline bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

inline int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// JSON.stringify's escape of a control character below 0x20.
template <typename Out>
void append_control_escape(unsigned char c, Out& out) {
    switch (c) {
        case '\b':
            out += "\\b";
            return;
        case '\f':
            out += "\\f";
            return;
        case '\n':
            out += "\\n";
            return;
        case '\r':
            out += "\\r";
            return;
        case '\t':
            out += "\\t";
            return;
        default:
            break;
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    out += "\\u00";
    out += k_hex[c >> 4];
    out += k_hex[c & 0xF];
}

/// Length of the UTF-8 sequence at p: {length, valid}. An invalid one has the length of its
/// maximal valid prefix (at least 1), which is replaced by one U+FFFD (the WHATWG/Unicode practice).
inline std::pair<std::size_t, bool> utf8_sequence(const unsigned char* p, const unsigned char* end) {
    const unsigned char c = *p;
    std::size_t need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2;
        lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) {
        need = 2;
        hi = 0x9F;
    } else if (c == 0xF0) {
        need = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) {
        need = 3;
        hi = 0x8F;
    } else {
        return {1, false};
    }
    for (std::size_t i = 1; i <= need; ++i) {
        if (p + i >= end || p[i] < lo || p[i] > hi) {
            return {i, false};
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return {need + 1, true};
}

/// The output of one decode: appends into the caller's std::string through a raw cursor, so

/// the hot path appends without std::string's per-call bookkeeping. The destructor trims the
/// string to what was written.
class Sink {
public:
    Sink(std::string& s, std::size_t expected) : m_s(s), m_length(s.size()) {
        m_s.resize(m_length + expected + 64);
        m_data = m_s.data();
    }
    ~Sink() { m_s.resize(m_length); }
    Sink(const Sink&) = delete;
    Sink& operator=(const Sink&) = delete;

    [[nodiscard]] std::size_t size() const { return m_length; }
    [[nodiscard]] const char* data() const { return m_data; }
    /// Truncates to `length` (never longer than what was written).
    void resize(std::size_t length) { m_length = length; }
    [[gnu::always_inline]] void operator+=(char c) {
        if (m_length == m_s.size()) [[unlikely]] {
            grow(1);
        }
        m_data[m_length++] = c;
    }
    [[gnu::always_inline]] void append(const char* p, std::size_t n) {
        if (n > m_s.size() - m_length) [[unlikely]] {
            grow(n);
        }
        std::memcpy(m_data + m_length, p, n);
        m_length += n;
    }
    [[gnu::always_inline]] void operator+=(std::string_view text) { append(text.data(), text.size()); }
    void append(std::string_view text) { append(text.data(), text.size()); }
    /// Makes room for n more bytes and returns where they go; commit() says how many were used.
    char* reserve(std::size_t n) {
        if (n > m_s.size() - m_length) [[unlikely]] {
            grow(n);
        }
        return m_data + m_length;
    }
    void commit(std::size_t n) { m_length += n; }

private:
    // Doubles, but never past the capacity the caller reserved when that is enough: a 300 MB value
    // whose string was reserved for it must not be copied into a 600 MB one (tests/cli/test_dump.cpp).
    void grow(std::size_t n) {
        std::size_t need = m_length + n;
        std::size_t next = std::max(m_s.size() * 2, need + 64);
        if (need <= m_s.capacity()) {
            next = std::min(next, m_s.capacity());
        }
        m_s.resize(next);
        m_data = m_s.data();
    }

    std::string& m_s;
    std::size_t m_length;
    char* m_data;
};

/// `text` with each invalid UTF-8 sequence replaced by U+FFFD, so that paths and details built
/// from raw member names or cut source text are always printable (and serializable) text.
std::string valid_utf8(std::string text);

}  // namespace enmap::decode
