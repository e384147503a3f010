#include "enmap/decode.hpp"

#include <pthread.h>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "enmap/js_date.hpp"
#include "enmap/js_number.hpp"
#include "enmap/utf8.hpp"

namespace enmap {

namespace {

constexpr std::string_view k_replacement = "\xEF\xBF\xBD";  // U+FFFD

// Bytes a JSON string may hold raw and canonical JSON writes unchanged: printable ASCII except " and \.
constexpr std::array<bool, 256> make_plain_table() {
    std::array<bool, 256> table{};
    for (int c = 0x20; c < 0x80; ++c) {
        table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
    }
    return table;
}
constexpr std::array<bool, 256> k_plain = make_plain_table();

bool is_ident_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

bool is_ident_start(unsigned char c) {
    return is_ident_char(c) && !(c >= '0' && c <= '9');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

int hex_value(char c) {
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
std::pair<std::size_t, bool> utf8_sequence(const unsigned char* p, const unsigned char* end) {
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
    void grow(std::size_t n) {
        m_s.resize(std::max(m_s.size() * 2, m_length + n + 64));
        m_data = m_s.data();
    }

    std::string& m_s;
    std::size_t m_length;
    char* m_data;
};

/// `text` with each invalid UTF-8 sequence replaced by U+FFFD, so that paths and details built
/// from raw member names or cut source text are always printable (and serializable) text.
std::string valid_utf8(std::string text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end && *p < 0x80) {
        ++p;
    }
    if (p == end) {
        return text;
    }
    std::string result(text.data(), static_cast<std::size_t>(reinterpret_cast<const char*>(p) - text.data()));
    while (p < end) {
        if (*p < 0x80) {
            result += static_cast<char>(*p++);
            continue;
        }
        auto [length, valid] = utf8_sequence(p, end);
        if (valid) {
            result.append(reinterpret_cast<const char*>(p), length);
        } else {
            result += k_replacement;
        }
        p += length;
    }
    return result;
}

/// What a value parse produced: a value, or nothing (undefined or an omitted function).
enum class Emitted : std::uint8_t { k_value, k_undefined, k_function };

/// The kind of the last scalar written, for the Map key rule.
enum class KeyKind : std::uint8_t { k_string, k_number, k_bigint, k_other };

struct PathSegment {
    enum class Kind : std::uint8_t { k_raw_key, k_out_key, k_index };
    Kind kind;
    const char* raw = nullptr;  // k_raw_key: the escaped key text after its opening quote
    std::size_t a = 0;          // k_index: the index; k_out_key: offset of the key in the output
    std::size_t b = 0;          // k_out_key: end offset of the key in the output
};

/// One Map entry, or one element of a serialize-javascript sparse array, while it is collected.
struct Entry {
    std::size_t key_begin, key_end;  // offsets into the output (sparse arrays: unused)
    std::size_t value_begin, value_end;
    std::uint64_t index;  // sparse arrays: the element index
    KeyKind key_kind;
    bool omitted;
};

/// The buffers one decode needs, kept per thread so that decoding many values allocates nothing.
struct Workspace {
    std::vector<PathSegment> path;
    std::vector<Entry> entries;
    std::vector<char> js_stack;
    std::string scratch;
    std::string scratch_date;
    std::string regexp_source;
    std::string regexp_flags;
    bool busy = false;
};

/// Thrown inside the decoder when a value nests deeper than the caller's stack budget allows.
struct NeedsBigStack {};

/// Most output room reserved up front: decode_value_prefix's text may be a whole export file.
constexpr std::size_t k_max_reserve = 1 << 20;

/// Stack the recursion may use on the caller's thread; deeper values move to a thread of their own.
constexpr std::size_t k_inline_stack_budget = std::size_t{64} * 1024;

class Transcoder {
public:
    Transcoder(std::string_view text, const DecodeOptions& options, std::string& out,
               std::vector<Violation>& violations, LossyCounts& counts, Workspace& work,
               std::size_t stack_budget, bool big_stack)
        : m_begin(text.data()),
          m_p(text.data()),
          m_end(text.data() + text.size()),
          m_options(options),
          m_out(out, std::min<std::size_t>(text.size(), k_max_reserve)),
          m_violations(violations),
          m_counts(counts),
          m_work(work),
          m_stack_base(reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0))),
          m_stack_budget(stack_budget),
          m_big_stack(big_stack) {
        m_path.clear();
        m_entries.clear();
    }

    /// Decodes the one value at the start; returns the bytes it took (leading whitespace included).
    std::size_t run(Encoding encoding) {
        m_js = encoding == Encoding::k_serialize_javascript;
        skip_ws();
        if (m_p == m_end) {
            fail("empty value text");
        }
        Emitted emitted = encoding == Encoding::k_better_serialize ? bs_value(0) : value(0);
        if (emitted != Emitted::k_value) {
            m_out += "null";
            if (emitted == Emitted::k_undefined) {
                ++m_counts.undefined_dropped;
            }
        }
        return static_cast<std::size_t>(m_p - m_begin);
    }

    void expect_end() {
        skip_ws();
        if (m_p != m_end) {
            fail("unexpected text after the value");
        }
    }

    [[nodiscard]] bool saw_js() const { return m_saw_js; }

private:
    // ---- errors, violations and paths ------------------------------------------------------

    [[noreturn]] void fail(const std::string& message) const {
        throw DecodeError(message, static_cast<std::size_t>(m_p - m_begin));
    }

    [[noreturn]] void fail_at(const std::string& message, const char* where) const {
        throw DecodeError(message, static_cast<std::size_t>(where - m_begin));
    }

    [[noreturn]] void fail_expected(const char* what) const {
        if (m_p >= m_end) {
            fail(std::string("truncated value: expected ") + what);
        }
        fail(std::string("expected ") + what);
    }

    /// Every level of nesting passes here: refuses nesting beyond max_depth, and never lets the
    /// recursion outgrow its stack budget (on the caller's stack it asks for a larger stack instead).
    void check_depth(std::size_t depth) const {
        if (depth >= m_options.max_depth) {
            fail("nesting deeper than " + std::to_string(m_options.max_depth) + " levels");
        }
        const auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        if (m_stack_base - here > m_stack_budget) [[unlikely]] {
            if (!m_big_stack) {
                throw NeedsBigStack{};
            }
            fail("nesting too deep for the decoder's stack (" + std::to_string(depth) + " levels)");
        }
    }

    static std::string unescape_for_path(std::string_view escaped) {
        std::string name;
        for (std::size_t i = 0; i < escaped.size(); ++i) {
            char c = escaped[i];
            if (c != '\\' || i + 1 >= escaped.size()) {
                name += c;
                continue;
            }
            char e = escaped[++i];
            if (e == 'u' && i + 4 < escaped.size()) {
                std::uint32_t cp = 0;
                bool ok = true;
                for (std::size_t j = 1; j <= 4; ++j) {
                    int h = hex_value(escaped[i + j]);
                    ok = ok && h >= 0;
                    cp = cp * 16 + static_cast<std::uint32_t>(h < 0 ? 0 : h);
                }
                if (ok && cp != 0 && (cp < 0xD800 || cp > 0xDFFF)) {
                    append_utf8(cp, name);
                    i += 4;
                    continue;
                }
                if (ok && cp >= 0xD800 && cp <= 0xDBFF && i + 10 < escaped.size() && escaped[i + 5] == '\\' &&
                    escaped[i + 6] == 'u') {
                    std::uint32_t low = 0;
                    for (std::size_t j = 7; j <= 10; ++j) {
                        const int h = hex_value(escaped[i + j]);
                        low = h < 0 ? 0 : low * 16 + static_cast<std::uint32_t>(h);
                    }
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        append_utf8(0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00), name);
                        i += 10;
                        continue;
                    }
                }
                name += "\\u";
                continue;
            }
            switch (e) {
                case 'n':
                    name += '\n';
                    break;
                case 't':
                    name += '\t';
                    break;
                case 'r':
                    name += '\r';
                    break;
                case 'b':
                    name += '\b';
                    break;
                case 'f':
                    name += '\f';
                    break;
                default:
                    name += e;
            }
        }
        return name;
    }

    static void append_path_key(const std::string& name, std::string& path) {
        bool identifier = !name.empty() && is_ident_start(static_cast<unsigned char>(name[0]));
        for (char c : name) {
            identifier = identifier && is_ident_char(static_cast<unsigned char>(c)) &&
                         static_cast<unsigned char>(c) < 0x80;
        }
        if (identifier) {
            path += '.';
            path += name;
            return;
        }
        path += "[\"";
        for (char c : name) {
            auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                path += '\\';
                path += c;
            } else if (u < 0x20) {
                append_control_escape(u, path);
            } else {
                path += c;
            }
        }
        path += "\"]";
    }

    [[nodiscard]] std::string current_path() const {
        std::string path = "$";
        for (const auto& segment : m_path) {
            switch (segment.kind) {
                case PathSegment::Kind::k_index:
                    path += '[';
                    path += std::to_string(segment.a);
                    path += ']';
                    break;
                case PathSegment::Kind::k_raw_key: {
                    // Find the key's closing quote (the key may not be parsed to its end yet).
                    const char* e = segment.raw;
                    while (e < m_end && *e != '"') {
                        e += (*e == '\\' && e + 1 < m_end) ? 2 : 1;
                    }
                    append_path_key(
                        unescape_for_path(std::string_view(
                            segment.raw, static_cast<std::size_t>(std::min(e, m_end) - segment.raw))),
                        path);
                    break;
                }
                case PathSegment::Kind::k_out_key: {
                    std::string_view key(m_out.data() + segment.a, segment.b - segment.a);
                    if (!key.empty() && key.front() == '"' && key.size() >= 2) {
                        append_path_key(unescape_for_path(key.substr(1, key.size() - 2)), path);
                    } else {
                        append_path_key(std::string(key), path);
                    }
                    break;
                }
            }
        }
        return valid_utf8(std::move(path));
    }

    /// Applies --invalid-text to one bad code unit or byte run and writes U+FFFD in its place.
    template <typename Out>
    void invalid_text(Out& out, const std::string& detail) {
        out += k_replacement;
        if (m_options.invalid_text == InvalidTextPolicy::k_replace) {
            ++m_counts.text_replaced;
        } else {
            m_violations.push_back({Violation::Kind::k_invalid_text, current_path(), detail});
        }
    }

    static std::string hex_unit(std::uint32_t unit) {
        static constexpr char k_hex[] = "0123456789abcdef";
        std::string s = "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) {
            s += k_hex[(unit >> shift) & 0xF];
        }
        return s;
    }

    // ---- lexical helpers -----------------------------------------------------------------

    [[gnu::always_inline]] void skip_ws() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t')) {
            ++m_p;
        }
    }

    [[gnu::always_inline]] void expect(char c, const char* what) {
        if (m_p < m_end && *m_p == c) [[likely]] {
            ++m_p;
            return;
        }
        skip_ws();
        if (m_p >= m_end || *m_p != c) {
            fail_expected(what);
        }
        ++m_p;
    }

    [[gnu::always_inline]] bool consume_word(std::string_view word) {
        if (static_cast<std::size_t>(m_end - m_p) < word.size() ||
            std::memcmp(m_p, word.data(), word.size()) != 0) {
            return false;
        }
        if (m_p + word.size() < m_end && is_ident_char(static_cast<unsigned char>(m_p[word.size()]))) {
            return false;
        }
        m_p += word.size();
        return true;
    }

    /// True when, after whitespace, the text goes on with "=>" (an arrow function's parameter).
    [[nodiscard]] bool arrow_follows(const char* q) const {
        while (q < m_end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t')) {
            ++q;
        }
        return q + 1 < m_end && q[0] == '=' && q[1] == '>';
    }

    // ---- strings ---------------------------------------------------------------------------

    /// Parses a JSON string at m_p (which is at its opening quote) and appends its canonical
    /// contents, without quotes, to `out`.
    template <typename Out>
    void string_contents(Out& out) {
        ++m_p;
        for (;;) {
            const char* start = m_p;
            // Eight bytes at a time while none is '"', '\\', a control character or non-ASCII.
            constexpr std::uint64_t k_ones = 0x0101010101010101ULL;
            constexpr std::uint64_t k_highs = 0x8080808080808080ULL;
            while (m_end - m_p >= 8) {
                std::uint64_t word = 0;
                std::memcpy(&word, m_p, 8);
                const std::uint64_t quotes = word ^ (k_ones * '"');
                const std::uint64_t backslashes = word ^ (k_ones * '\\');
                const std::uint64_t special = ((quotes - k_ones) & ~quotes) |
                                              ((backslashes - k_ones) & ~backslashes) |
                                              ((word - k_ones * 0x20) & ~word) | word;
                if ((special & k_highs) != 0) {
                    break;
                }
                m_p += 8;
            }
            while (m_p < m_end && k_plain[static_cast<unsigned char>(*m_p)]) {
                ++m_p;
            }
            out.append(start, static_cast<std::size_t>(m_p - start));
            if (m_p >= m_end) {
                fail("truncated value: unterminated string");
            }
            const auto c = static_cast<unsigned char>(*m_p);
            if (c == '"') {
                ++m_p;
                return;
            }
            if (c == '\\') {
                escape(out);
            } else if (c >= 0x80) {
                utf8_run(out);
            } else {
                fail("raw control character in string (JSON requires it escaped)");
            }
        }
    }

    template <typename Out>
    void utf8_run(Out& out) {
        const auto* p = reinterpret_cast<const unsigned char*>(m_p);
        const auto* end = reinterpret_cast<const unsigned char*>(m_end);
        const auto* start = p;
        while (p < end && *p >= 0x80) {
            auto [length, valid] = utf8_sequence(p, end);
            if (!valid) {
                out.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
                char buf[8];
                std::snprintf(buf, sizeof buf, "0x%02x", *p);
                m_p = reinterpret_cast<const char*>(p);
                invalid_text(out, std::string("invalid UTF-8 byte ") + buf);
                p += length;
                start = p;
            } else {
                p += length;
            }
        }
        out.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
        m_p = reinterpret_cast<const char*>(p);
    }

    std::uint32_t hex4() {
        if (m_end - m_p < 4) {
            fail("truncated value: incomplete \\u escape");
        }
        std::uint32_t unit = 0;
        for (int i = 0; i < 4; ++i) {
            int h = hex_value(m_p[i]);
            if (h < 0) {
                fail("invalid \\u escape");
            }
            unit = unit * 16 + static_cast<std::uint32_t>(h);
        }
        m_p += 4;
        return unit;
    }

    template <typename Out>
    void escape(Out& out) {
        if (m_end - m_p < 2) {
            fail("truncated value: incomplete escape");
        }
        const char e = m_p[1];
        m_p += 2;
        switch (e) {
            case '"':
                out += "\\\"";
                return;
            case '\\':
                out += "\\\\";
                return;
            case '/':
                out += '/';
                return;
            case 'b':
                out += "\\b";
                return;
            case 'f':
                out += "\\f";
                return;
            case 'n':
                out += "\\n";
                return;
            case 'r':
                out += "\\r";
                return;
            case 't':
                out += "\\t";
                return;
            case 'u':
                break;
            default:
                m_p -= 2;
                fail("invalid escape in string");
        }
        const std::uint32_t unit = hex4();
        if (unit == '<' || unit == '>' || unit == '/' || unit == 0x2028 || unit == 0x2029) {
            m_saw_js = true;  // serialize-javascript's escapes; JSON.stringify writes these raw
        }
        if (unit == 0) {
            invalid_text(out, "NUL character (\\u0000) in string");
        } else if (unit < 0x20) {
            append_control_escape(static_cast<unsigned char>(unit), out);
        } else if (unit == '"') {
            out += "\\\"";
        } else if (unit == '\\') {
            out += "\\\\";
        } else if (unit >= 0xD800 && unit <= 0xDBFF) {
            if (m_end - m_p >= 6 && m_p[0] == '\\' && m_p[1] == 'u') {
                const char* save = m_p;
                m_p += 2;
                const std::uint32_t low = hex4();
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    append_utf8(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00), out);
                    return;
                }
                m_p = save;
            }
            invalid_text(out, "unpaired UTF-16 surrogate " + hex_unit(unit));
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
            invalid_text(out, "unpaired UTF-16 surrogate " + hex_unit(unit));
        } else {
            append_utf8(unit, out);
        }
    }

    void string_value() {
        m_out += '"';
        string_contents(m_out);
        m_out += '"';
        m_last_kind = KeyKind::k_string;
    }

    /// Appends raw text (a function's source) as a JSON string, applying the text policy.
    void raw_as_string(const char* s, const char* e) {
        m_out += '"';
        const char* saved = m_p;
        m_p = s;
        while (m_p < e) {
            const char* start = m_p;
            while (m_p < e && k_plain[static_cast<unsigned char>(*m_p)]) {
                ++m_p;
            }
            m_out.append(start, static_cast<std::size_t>(m_p - start));
            if (m_p >= e) {
                break;
            }
            const auto c = static_cast<unsigned char>(*m_p);
            if (c == '"' || c == '\\') {
                m_out += '\\';
                m_out += static_cast<char>(c);
                ++m_p;
            } else if (c == 0) {
                invalid_text(m_out, "NUL byte in function source");
                ++m_p;
            } else if (c < 0x20) {
                append_control_escape(c, m_out);
                ++m_p;
            } else {
                const auto* p = reinterpret_cast<const unsigned char*>(m_p);
                auto [length, valid] = utf8_sequence(p, reinterpret_cast<const unsigned char*>(e));
                if (valid) {
                    m_out.append(m_p, length);
                } else {
                    invalid_text(m_out, "invalid UTF-8 byte in function source");
                }
                m_p += length;
            }
        }
        m_p = saved;
        m_out += '"';
    }

    // ---- numbers ---------------------------------------------------------------------------

    void number_value() {
        const char* s = m_p;
        if (m_p < m_end && *m_p == '-') {
            ++m_p;
        }
        if (m_p < m_end && *m_p == '0') {
            ++m_p;
        } else if (m_p < m_end && *m_p >= '1' && *m_p <= '9') {
            while (m_p < m_end && is_digit(*m_p)) {
                ++m_p;
            }
        } else {
            fail_expected("a digit");
        }
        const char* int_end = m_p;
        bool plain = true;
        if (m_p < m_end && *m_p == '.') {
            ++m_p;
            if (m_p >= m_end || !is_digit(*m_p)) {
                fail_expected("a digit after the decimal point");
            }
            while (m_p < m_end && is_digit(*m_p)) {
                ++m_p;
            }
            plain = false;
        }
        if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
            ++m_p;
            if (m_p < m_end && (*m_p == '+' || *m_p == '-')) {
                ++m_p;
            }
            if (m_p >= m_end || !is_digit(*m_p)) {
                fail_expected("a digit in the exponent");
            }
            while (m_p < m_end && is_digit(*m_p)) {
                ++m_p;
            }
            plain = false;
        }
        const std::size_t int_digits = static_cast<std::size_t>(int_end - s) - (*s == '-' ? 1 : 0);
        if (!plain && decimal_fast_path(s, int_end, int_digits)) {
            return;
        }
        if (plain && int_digits <= 15) {
            if (*s == '-' && int_end - s == 2 && s[1] == '0') {
                m_out += '0';
                ++m_counts.negative_zero;
            } else {
                m_out.append(s, static_cast<std::size_t>(m_p - s));
            }
            m_last_kind = KeyKind::k_number;
            return;
        }
        double value = 0;
        auto result = std::from_chars(s, m_p, value);
        if (result.ec == std::errc::result_out_of_range) {
            std::string copy(s, m_p);
            value = std::strtod(copy.c_str(), nullptr);  // +-HUGE_VAL on overflow, +-0 on underflow
        }
        emit_double(value);
    }

    /// A decimal without exponent and with at most 15 significant digits is its own shortest
    /// round-trip form (DBL_DIG is 15): write it with the fraction's trailing zeros removed,
    /// unless JavaScript would use exponent form (below 1e-6). False when it does not apply.
    bool decimal_fast_path(const char* s, const char* int_end, std::size_t int_digits) {
        if (*int_end != '.' || m_p - int_end > 17) {
            return false;  // has an exponent (the fraction ends before m_p) or is long
        }
        const char* frac = int_end + 1;
        const char* frac_end = m_p;
        if (std::find_if(frac, frac_end, [](char c) { return !is_digit(c); }) != frac_end) {
            return false;
        }
        while (frac_end > frac && frac_end[-1] == '0') {
            --frac_end;
        }
        const bool zero_int = int_digits == 1 && int_end[-1] == '0';
        std::size_t significant = zero_int ? 0 : int_digits;
        const char* first = frac;
        if (zero_int) {
            while (first < frac_end && *first == '0') {
                ++first;
            }
            if (first - frac >= 6 && first < frac_end) {
                return false;  // below 1e-6: exponent form
            }
        }
        significant += static_cast<std::size_t>(frac_end - (zero_int ? first : frac));
        if (significant > 15) {
            return false;
        }
        if (zero_int && frac_end == frac) {
            m_out += '0';  // 0.000 or -0.0
            if (*s == '-') {
                ++m_counts.negative_zero;
            }
        } else {
            m_out.append(s, static_cast<std::size_t>((frac_end == frac ? int_end : frac_end) - s));
        }
        m_last_kind = KeyKind::k_number;
        return true;
    }

    void emit_double(double value) {
        if (!std::isfinite(value)) {
            m_out += "null";
            ++m_counts.non_finite;
            m_last_kind = KeyKind::k_other;
            return;
        }
        if (value == 0 && std::signbit(value)) {
            ++m_counts.negative_zero;
        }
        m_out.commit(format_js_number(value, m_out.reserve(k_js_number_max)));
        m_last_kind = KeyKind::k_number;
    }

    // ---- JSON and serialize-javascript -------------------------------------------------------

    Emitted value(std::size_t depth) {
        skip_ws();
        if (m_p >= m_end) {
            fail("truncated value: expected a value");
        }
        m_last_kind = KeyKind::k_other;
        switch (*m_p) {
            case '"':
                string_value();
                return Emitted::k_value;
            case '{':
                object(depth);
                return Emitted::k_value;
            case '[':
                array(depth);
                return Emitted::k_value;
            case '-':
                if (m_js && m_p + 1 < m_end && m_p[1] == 'I') {
                    ++m_p;
                    if (!consume_word("Infinity")) {
                        fail("invalid number");
                    }
                    m_saw_js = true;
                    m_out += "null";
                    ++m_counts.non_finite;
                    return Emitted::k_value;
                }
                number_value();
                return Emitted::k_value;
            case '0':
            case '1':
            case '2':
            case '3':
            case '4':
            case '5':
            case '6':
            case '7':
            case '8':
            case '9':
                number_value();
                return Emitted::k_value;
            default:
                break;
        }
        if (consume_word("true")) {
            m_out += "true";
            return Emitted::k_value;
        }
        if (consume_word("false")) {
            m_out += "false";
            return Emitted::k_value;
        }
        if (consume_word("null")) {
            m_out += "null";
            return Emitted::k_value;
        }
        if (!m_js) {
            fail("unexpected character in JSON value");
        }
        return js_value(depth);
    }

    void object(std::size_t depth) {
        check_depth(depth);
        ++m_p;
        m_out += '{';
        skip_ws();
        if (m_p < m_end && *m_p == '}') {
            ++m_p;
            m_out += '}';
            return;
        }
        bool first = true;
        for (;;) {
            skip_ws();
            if (m_p >= m_end || *m_p != '"') {
                fail_expected("a member name in double quotes");
            }
            const std::size_t mark = m_out.size();
            if (!first) {
                m_out += ',';
            }
            m_path.push_back({PathSegment::Kind::k_raw_key, m_p + 1});
            string_value();
            expect(':', "':' after the member name");
            m_out += ':';
            const Emitted emitted = value(depth + 1);
            m_path.pop_back();
            if (emitted != Emitted::k_value) {
                m_out.resize(mark);
                if (emitted == Emitted::k_undefined) {
                    ++m_counts.undefined_dropped;
                }
            } else {
                first = false;
            }
            skip_ws();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (m_p < m_end && *m_p == '}') {
                ++m_p;
                break;
            }
            fail_expected("',' or '}' in object");
        }
        m_out += '}';
        m_last_kind = KeyKind::k_other;
    }

    /// A JSON array `[...]` at m_p, written as an array (elements that are nothing become null).
    void array(std::size_t depth) {
        check_depth(depth);
        ++m_p;
        m_out += '[';
        skip_ws();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
            m_out += ']';
            return;
        }
        std::size_t index = 0;
        for (;; ++index) {
            if (index != 0) {
                m_out += ',';
            }
            m_path.push_back({PathSegment::Kind::k_index, nullptr, index});
            element(value(depth + 1));
            m_path.pop_back();
            skip_ws();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (m_p < m_end && *m_p == ']') {
                ++m_p;
                break;
            }
            fail_expected("',' or ']' in array");
        }
        m_out += ']';
        m_last_kind = KeyKind::k_other;
    }

    void element(Emitted emitted) {
        if (emitted != Emitted::k_value) {
            m_out += "null";
            if (emitted == Emitted::k_undefined) {
                ++m_counts.undefined_dropped;
            }
        }
    }

    /// The serialize-javascript forms that are not JSON.
    Emitted js_value(std::size_t depth) {
        const char* start = m_p;
        if (consume_word("undefined")) {
            if (!arrow_follows(m_p)) {
                m_saw_js = true;
                return Emitted::k_undefined;
            }
            m_p = start;
        } else if (consume_word("Infinity") || consume_word("NaN")) {
            if (!arrow_follows(m_p)) {
                m_saw_js = true;
                m_out += "null";
                ++m_counts.non_finite;
                return Emitted::k_value;
            }
            m_p = start;
        } else if (consume_word("new")) {
            m_saw_js = true;
            return constructor(depth);
        } else if (consume_word("BigInt")) {
            if (!arrow_follows(m_p)) {
                m_saw_js = true;
                expect('(', "'(' after BigInt");
                skip_ws();
                bigint_string();
                expect(')', "')' after BigInt's argument");
                return Emitted::k_value;
            }
            m_p = start;
        } else if (static_cast<std::size_t>(m_end - m_p) >= 27 &&
                   std::memcmp(m_p, "Array.prototype.slice.call", 26) == 0) {
            m_p += 26;
            m_saw_js = true;
            sparse_array(depth);
            return Emitted::k_value;
        }
        return function(start);
    }

    /// A string holding a BigInt's decimal digits, at m_p; writes them as a canonical string.
    void bigint_string() {
        if (m_p >= m_end || *m_p != '"') {
            fail_expected("a string of decimal digits");
        }
        const char* s = m_p + 1;
        const char* e = s;
        while (e < m_end && *e != '"') {
            ++e;
        }
        if (e >= m_end) {
            fail("truncated value: unterminated BigInt string");
        }
        std::string_view digits(s, static_cast<std::size_t>(e - s));
        bool negative = !digits.empty() && digits.front() == '-';
        if (negative) {
            digits.remove_prefix(1);
        }
        if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit)) {
            fail_at("BigInt value is not a decimal integer", s);
        }
        while (digits.size() > 1 && digits.front() == '0') {
            digits.remove_prefix(1);
        }
        if (digits == "0") {
            negative = false;
        }
        m_out += '"';
        if (negative) {
            m_out += '-';
        }
        m_out.append(digits);
        m_out += '"';
        m_p = e + 1;
        m_last_kind = KeyKind::k_bigint;
    }

    Emitted constructor(std::size_t depth) {
        skip_ws();
        const char* name = m_p;
        while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
            ++m_p;
        }
        const std::string_view type(name, static_cast<std::size_t>(m_p - name));
        expect('(', "'(' after the constructor name");
        skip_ws();
        if (type == "Date") {
            if (m_p < m_end && *m_p == '"') {
                date_from_string();
            } else {
                date_from_number();
            }
        } else if (type == "RegExp") {
            if (m_p >= m_end || *m_p != '"') {
                fail_expected("the RegExp source string");
            }
            m_out += "\"/";
            string_contents(m_out);
            expect(',', "',' between the RegExp source and flags");
            skip_ws();
            if (m_p >= m_end || *m_p != '"') {
                fail_expected("the RegExp flags string");
            }
            m_out += '/';
            string_contents(m_out);
            m_out += '"';
        } else if (type == "Map") {
            check_depth(depth);
            js_map(depth);
        } else if (type == "Set") {
            if (m_p >= m_end || *m_p != '[') {
                fail_expected("'[' for the Set's elements");
            }
            array(depth);
        } else if (type == "URL") {
            if (m_p >= m_end || *m_p != '"') {
                fail_expected("the URL string");
            }
            string_value();
            m_last_kind = KeyKind::k_other;
        } else {
            fail_at("unsupported constructor 'new " + std::string(type) + "'", name);
        }
        expect(')', "')' closing the constructor call");
        return Emitted::k_value;
    }

    void date_from_string() {
        if (m_end - m_p >= 26 && m_p[25] == '"' && is_canonical_iso_date(std::string_view(m_p + 1, 24)))
            [[likely]] {
            m_out.append(m_p, 26);  // already what toISOString writes
            m_p += 26;
            m_last_kind = KeyKind::k_other;
            return;
        }
        m_scratch_date.clear();
        string_contents(m_scratch_date);
        emit_date(m_scratch_date);
    }

    void date_from_number() {
        const std::size_t mark = m_out.size();
        number_value();
        const std::string text(m_out.data() + mark, m_out.size() - mark);
        m_out.resize(mark);
        m_last_kind = KeyKind::k_other;
        double ms = std::strtod(text.c_str(), nullptr);
        if (text == "null" || !std::isfinite(ms) || std::fabs(ms) > static_cast<double>(k_max_date_ms)) {
            m_out += "null";
            ++m_counts.invalid_dates;
            return;
        }
        m_out += '"';
        m_out.commit(
            format_iso_date(static_cast<std::int64_t>(std::trunc(ms)), m_out.reserve(k_iso_date_max)));
        m_out += '"';
    }

    void emit_date(std::string_view text) {
        m_last_kind = KeyKind::k_other;
        if (is_canonical_iso_date(text)) {
            m_out += '"';
            m_out.append(text);
            m_out += '"';
            return;
        }
        std::int64_t ms = 0;
        if (!parse_js_date(text, ms)) {
            m_out += "null";
            ++m_counts.invalid_dates;
            return;
        }
        m_out += '"';
        m_out.commit(format_iso_date(ms, m_out.reserve(k_iso_date_max)));
        m_out += '"';
    }

    // ---- Maps (both encodings) -----------------------------------------------------------------

    /// Writes the collected entries [base, end) of a Map, first written as [[k,v],...] from `mark`,
    /// as an object when the Map key rule allows it.
    void finish_map(std::size_t mark, std::size_t base) {
        const std::size_t count = m_entries.size() - base;
        bool as_object = true;
        for (std::size_t i = base; i < m_entries.size() && as_object; ++i) {
            as_object = m_entries[i].key_kind != KeyKind::k_other;
        }
        if (as_object && count > 1) {
            // A key's string form: a number key's text, or the contents of a string or BigInt key.
            auto form = [this](const Entry& entry) {
                std::string_view key(m_out.data() + entry.key_begin, entry.key_end - entry.key_begin);
                return entry.key_kind == KeyKind::k_number ? key : key.substr(1, key.size() - 2);
            };
            if (count <= 32) {
                for (std::size_t i = base + 1; i < m_entries.size() && as_object; ++i) {
                    const std::string_view key = form(m_entries[i]);
                    for (std::size_t j = base; j < i && as_object; ++j) {
                        as_object = form(m_entries[j]) != key;
                    }
                }
            } else {
                std::vector<std::string_view> forms;
                forms.reserve(count);
                for (std::size_t i = base; i < m_entries.size(); ++i) {
                    forms.push_back(form(m_entries[i]));
                }
                std::sort(forms.begin(), forms.end());
                as_object = std::adjacent_find(forms.begin(), forms.end()) == forms.end();
            }
        }
        if (!as_object) {
            m_entries.resize(base);
            m_last_kind = KeyKind::k_other;
            return;
        }
        m_scratch.clear();
        m_scratch += '{';
        bool first = true;
        for (std::size_t i = base; i < m_entries.size(); ++i) {
            const Entry& entry = m_entries[i];
            if (entry.omitted) {
                continue;
            }
            if (!first) {
                m_scratch += ',';
            }
            first = false;
            if (entry.key_kind == KeyKind::k_number) {
                m_scratch += '"';
                m_scratch.append(m_out.data() + entry.key_begin, entry.key_end - entry.key_begin);
                m_scratch += '"';
            } else {
                m_scratch.append(m_out.data() + entry.key_begin, entry.key_end - entry.key_begin);
            }
            m_scratch += ':';
            m_scratch.append(m_out.data() + entry.value_begin, entry.value_end - entry.value_begin);
        }
        m_scratch += '}';
        m_out.resize(mark);
        m_out += m_scratch;
        m_entries.resize(base);
        m_last_kind = KeyKind::k_other;
    }

    /// serialize-javascript `new Map([[k, v], ...])`, from the '[' of the entries.
    void js_map(std::size_t depth) {
        if (m_p >= m_end || *m_p != '[') {
            fail_expected("'[' for the Map's entries");
        }
        ++m_p;
        const std::size_t mark = m_out.size();
        const std::size_t base = m_entries.size();
        m_out += '[';
        skip_ws();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
        } else {
            for (std::size_t index = 0;; ++index) {
                if (index != 0) {
                    m_out += ',';
                }
                expect('[', "'[' opening a Map entry");
                map_entry(
                    index, depth + 1, [this, depth] { return value(depth + 1); }, false);
                expect(']', "']' closing a Map entry");
                skip_ws();
                if (m_p < m_end && *m_p == ',') {
                    ++m_p;
                    continue;
                }
                if (m_p < m_end && *m_p == ']') {
                    ++m_p;
                    break;
                }
                fail_expected("',' or ']' in the Map's entries");
            }
        }
        m_out += ']';
        finish_map(mark, base);
    }

    /// One Map entry after its '[': the key (decoded by value(), as JSON when `raw_key`), ',', the value.
    template <typename ValueFn>
    void map_entry(std::size_t index, std::size_t key_depth, ValueFn&& decode_entry_value, bool raw_key) {
        Entry entry{};
        m_out += '[';
        m_path.push_back({PathSegment::Kind::k_index, nullptr, index});
        entry.key_begin = m_out.size();
        const bool saved_js = m_js;
        if (raw_key) {
            m_js = false;
        }
        Emitted key = value(key_depth);
        m_js = saved_js;
        if (key != Emitted::k_value) {
            element(key);
            entry.key_kind = KeyKind::k_other;
        } else {
            entry.key_kind = m_last_kind;
        }
        entry.key_end = m_out.size();
        m_path.back() = {PathSegment::Kind::k_out_key, nullptr, entry.key_begin, entry.key_end};
        if (entry.key_kind == KeyKind::k_other) {
            m_path.back() = {PathSegment::Kind::k_index, nullptr, index};
        }
        expect(',', "',' between a Map entry's key and value");
        m_out += ',';
        entry.value_begin = m_out.size();
        Emitted emitted = decode_entry_value();
        m_path.pop_back();
        entry.omitted = emitted != Emitted::k_value;
        element(emitted);
        entry.value_end = m_out.size();
        m_out += ']';
        m_entries.push_back(entry);
    }

    // ---- sparse arrays -------------------------------------------------------------------------

    /// `Array.prototype.slice.call({"0":a,"2":b,"length":3})`, from after `call`.
    void sparse_array(std::size_t depth) {
        check_depth(depth);
        expect('(', "'(' after Array.prototype.slice.call");
        expect('{', "'{' of the sparse array's object");
        const std::size_t mark = m_out.size();
        const std::size_t base = m_entries.size();
        std::int64_t length = -1;
        skip_ws();
        if (m_p < m_end && *m_p == '}') {
            ++m_p;
        } else {
            for (;;) {
                skip_ws();
                if (m_p >= m_end || *m_p != '"') {
                    fail_expected("a member name in double quotes");
                }
                const char* key_start = m_p + 1;
                const std::size_t key_mark = m_out.size();
                string_contents(m_out);
                const std::string_view key(m_out.data() + key_mark, m_out.size() - key_mark);
                std::uint64_t index = 0;
                const bool is_index = array_index(key, index);
                const bool is_length = key == "length";
                m_out.resize(key_mark);
                expect(':', "':' after the member name");
                if (is_length) {
                    skip_ws();
                    length = sparse_length();
                } else {
                    Entry entry{};
                    entry.index = index;
                    entry.value_begin = m_out.size();
                    m_path.push_back(is_index ? PathSegment{PathSegment::Kind::k_index, nullptr, index}
                                              : PathSegment{PathSegment::Kind::k_raw_key, key_start});
                    const Emitted emitted = value(depth + 1);
                    m_path.pop_back();
                    entry.omitted = emitted != Emitted::k_value;
                    if (emitted == Emitted::k_undefined) {
                        ++m_counts.undefined_dropped;
                    }
                    if (is_index) {
                        entry.value_end = m_out.size();
                        m_entries.push_back(entry);
                    } else {
                        m_out.resize(entry.value_begin);  // not an element: JSON.stringify ignores it
                    }
                }
                skip_ws();
                if (m_p < m_end && *m_p == ',') {
                    ++m_p;
                    continue;
                }
                if (m_p < m_end && *m_p == '}') {
                    ++m_p;
                    break;
                }
                fail_expected("',' or '}' in the sparse array's object");
            }
        }
        expect(')', "')' closing Array.prototype.slice.call");
        if (length < 0) {
            fail("sparse array without a \"length\" member");
        }
        std::stable_sort(m_entries.begin() + static_cast<std::ptrdiff_t>(base), m_entries.end(),
                         [](const Entry& a, const Entry& b) { return a.index < b.index; });
        m_scratch.clear();
        m_scratch += '[';
        std::size_t next = base;
        for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(length); ++i) {
            if (i != 0) {
                m_scratch += ',';
            }
            while (next + 1 < m_entries.size() && m_entries[next + 1].index == i) {
                ++next;  // a repeated index: the last one wins, as in JavaScript
            }
            if (next < m_entries.size() && m_entries[next].index == i) {
                const Entry& entry = m_entries[next];
                if (entry.omitted) {
                    m_scratch += "null";
                } else {
                    m_scratch.append(m_out.data() + entry.value_begin, entry.value_end - entry.value_begin);
                }
                ++next;
            } else {
                m_scratch += "null";
                ++m_counts.sparse_holes;
            }
        }
        m_scratch += ']';
        m_out.resize(mark);
        m_out += m_scratch;
        m_entries.resize(base);
        m_last_kind = KeyKind::k_other;
    }

    static bool array_index(std::string_view key, std::uint64_t& index) {
        if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0') ||
            !std::all_of(key.begin(), key.end(), is_digit)) {
            return false;
        }
        index = std::strtoull(std::string(key).c_str(), nullptr, 10);
        return index < 4294967295ULL;
    }

    std::int64_t sparse_length() {
        const char* s = m_p;
        std::uint64_t length = 0;
        auto result = std::from_chars(m_p, m_end, length);
        if (result.ec != std::errc() || length > 4294967295ULL) {
            fail_at("sparse array length is not an array length", s);
        }
        m_p = result.ptr;
        if (length > m_options.max_sparse_length) {
            fail_at("sparse array length " + std::to_string(length) + " exceeds the limit of " +
                        std::to_string(m_options.max_sparse_length) + " (DecodeOptions::max_sparse_length)",
                    s);
        }
        return static_cast<std::int64_t>(length);
    }

    // ---- functions -------------------------------------------------------------------------

    Emitted function(const char* start) {
        m_p = start;
        const char* end = scan_function();
        m_saw_js = true;
        m_last_kind = KeyKind::k_other;
        switch (m_options.functions) {
            case FunctionPolicy::k_error: {
                std::string snippet(start,
                                    static_cast<std::size_t>(std::min<std::ptrdiff_t>(end - start, 40)));
                for (char& c : snippet) {
                    if (static_cast<unsigned char>(c) < 0x20) {
                        c = ' ';
                    }
                }
                m_violations.push_back(
                    {Violation::Kind::k_function, current_path(),
                     valid_utf8("function source `" + snippet + (end - start > 40 ? "...`" : "`"))});
                return Emitted::k_function;
            }
            case FunctionPolicy::k_drop:
                ++m_counts.functions_dropped;
                return Emitted::k_function;
            case FunctionPolicy::k_source:
                ++m_counts.functions_kept;
                raw_as_string(start, end);
                return Emitted::k_value;
        }
        return Emitted::k_function;
    }

    void skip_js_ws() {
        while (m_p < m_end) {
            const char c = *m_p;
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
                ++m_p;
            } else if (c == '/' && m_p + 1 < m_end && (m_p[1] == '/' || m_p[1] == '*')) {
                skip_comment();
            } else {
                break;
            }
        }
    }

    void skip_comment() {
        if (m_p[1] == '/') {
            while (m_p < m_end && *m_p != '\n') {
                ++m_p;
            }
            return;
        }
        const char* s = m_p;
        m_p += 2;
        while (m_p + 1 < m_end && !(m_p[0] == '*' && m_p[1] == '/')) {
            ++m_p;
        }
        if (m_p + 1 >= m_end) {
            fail_at("truncated value: unterminated comment in function source", s);
        }
        m_p += 2;
    }

    /// Finds the end of function source text at m_p: function/async/generator functions, arrow
    /// functions, method shorthand and classes. Leaves m_p after it and returns that position.
    const char* scan_function() {
        const char* start = m_p;
        std::size_t words = 0;
        bool is_class = false;
        bool is_function = false;
        std::string_view last_word;
        for (;;) {
            skip_js_ws();
            if (m_p < m_end && is_ident_start(static_cast<unsigned char>(*m_p))) {
                const char* w = m_p;
                while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
                    ++m_p;
                }
                last_word = std::string_view(w, static_cast<std::size_t>(m_p - w));
                if (words == 0 && last_word == "class") {
                    is_class = true;
                    break;
                }
                is_function = is_function || last_word == "function";
                ++words;
            } else if (m_p < m_end && *m_p == '*') {
                ++m_p;
                ++words;
            } else {
                break;
            }
            if (words > 4) {
                fail_at("unexpected text where a value was expected", start);
            }
        }
        if (is_class) {
            for (;;) {
                skip_js_ws();
                if (m_p >= m_end) {
                    fail_at("truncated value: unterminated class source", start);
                }
                if (*m_p == '{') {
                    break;
                }
                if (*m_p == '(' || *m_p == '[') {
                    scan_js(false);
                } else if (is_ident_char(static_cast<unsigned char>(*m_p)) || *m_p == '.') {
                    ++m_p;
                } else {
                    fail("unexpected character in class source");
                }
            }
            scan_js(false);
            return m_p;
        }
        if (m_p >= m_end) {
            fail_at(words == 0 ? "truncated value: expected a value"
                               : "truncated value: unterminated function source",
                    words == 0 ? m_p : start);
        }
        if (*m_p == '(') {
            scan_js(false);
            skip_js_ws();
            if (!is_function && m_p + 1 < m_end && m_p[0] == '=' && m_p[1] == '>') {
                m_p += 2;
                return arrow_body();
            }
            if (words >= 1 && m_p < m_end && *m_p == '{') {
                scan_js(false);
                return m_p;
            }
            fail_expected(words >= 1 ? "'{' or '=>' after the function's parameters"
                                     : "'=>' after the parameters");
        }
        if (words >= 1 && !is_function && m_p + 1 < m_end && m_p[0] == '=' && m_p[1] == '>') {
            m_p += 2;
            return arrow_body();
        }
        fail_at(words == 0 ? "unexpected character where a value was expected"
                           : "unexpected word '" + std::string(last_word) + "' where a value was expected",
                start);
    }

    const char* arrow_body() {
        skip_js_ws();
        if (m_p < m_end && *m_p == '{') {
            scan_js(false);
            return m_p;
        }
        const char* body = m_p;
        scan_js(true);
        const char* end = m_p;
        while (end > body && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\t')) {
            --end;
        }
        if (end == body) {
            fail_expected("an arrow function body");
        }
        return end;
    }

    /// Skips JavaScript tokens respecting strings, template literals, comments, regular expression
    /// literals and nested brackets. Balanced mode (expression=false): m_p is at an opening bracket;
    /// stops after its match. Expression mode: stops before a ',', ')', ']' or '}' at depth 0.
    void scan_js(bool expression) {
        std::vector<char>& stack = m_js_stack;
        stack.clear();
        bool regex_ok = true;
        while (m_p < m_end) {
            const char c = *m_p;
            if (stack.empty() && expression && (c == ',' || c == ')' || c == ']' || c == '}')) {
                return;
            }
            switch (c) {
                case ' ':
                case '\n':
                case '\r':
                case '\t':
                    ++m_p;
                    continue;
                case '/':
                    if (m_p + 1 < m_end && (m_p[1] == '/' || m_p[1] == '*')) {
                        skip_comment();
                        continue;
                    }
                    if (regex_ok) {
                        skip_regex();
                        regex_ok = false;
                    } else {
                        ++m_p;
                        regex_ok = true;
                    }
                    continue;
                case '"':
                case '\'':
                    skip_quoted(c);
                    regex_ok = false;
                    continue;
                case '`':
                    ++m_p;
                    if (template_part()) {
                        push_bracket(stack, 't');
                    }
                    regex_ok = false;
                    continue;
                case '(':
                    push_bracket(stack, ')');
                    ++m_p;
                    regex_ok = true;
                    continue;
                case '[':
                    push_bracket(stack, ']');
                    ++m_p;
                    regex_ok = true;
                    continue;
                case '{':
                    push_bracket(stack, '}');
                    ++m_p;
                    regex_ok = true;
                    continue;
                case ')':
                case ']':
                case '}': {
                    if (stack.empty()) {
                        fail("unbalanced bracket in function source");
                    }
                    const char top = stack.back();
                    stack.pop_back();
                    ++m_p;
                    if (top == 't' && c == '}') {
                        if (template_part()) {
                            push_bracket(stack, 't');
                        }
                        regex_ok = false;
                    } else if (top != c) {
                        --m_p;
                        fail("mismatched bracket in function source");
                    } else {
                        regex_ok = c == '}';
                    }
                    if (!expression && stack.empty()) {
                        return;
                    }
                    continue;
                }
                default:
                    break;
            }
            if (is_ident_char(static_cast<unsigned char>(c))) {
                const char* w = m_p;
                while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
                    ++m_p;
                }
                static constexpr std::string_view k_keywords[] = {
                    "return", "typeof", "instanceof", "in", "of",   "new",   "delete",
                    "void",   "throw",  "case",       "do", "else", "yield", "await"};
                const std::string_view word(w, static_cast<std::size_t>(m_p - w));
                regex_ok =
                    std::find(std::begin(k_keywords), std::end(k_keywords), word) != std::end(k_keywords);
                continue;
            }
            ++m_p;
            regex_ok = true;
        }
        if (!(expression && stack.empty())) {
            fail("truncated value: unterminated function source");
        }
    }

    void push_bracket(std::vector<char>& stack, char closer) {
        if (stack.size() >= m_options.max_depth) {
            fail("brackets in function source nested deeper than " + std::to_string(m_options.max_depth));
        }
        stack.push_back(closer);
    }

    void skip_quoted(char quote) {
        const char* s = m_p;
        ++m_p;
        while (m_p < m_end && *m_p != quote) {
            m_p += (*m_p == '\\') ? 2 : 1;
        }
        if (m_p >= m_end) {
            fail_at("truncated value: unterminated string in function source", s);
        }
        ++m_p;
    }

    /// Scans a template literal's text from after '`' or '}'; true when it stopped at "${".
    bool template_part() {
        const char* s = m_p;
        while (m_p < m_end) {
            if (*m_p == '\\') {
                m_p += 2;
            } else if (*m_p == '`') {
                ++m_p;
                return false;
            } else if (*m_p == '$' && m_p + 1 < m_end && m_p[1] == '{') {
                m_p += 2;
                return true;
            } else {
                ++m_p;
            }
        }
        fail_at("truncated value: unterminated template literal in function source", s);
    }

    void skip_regex() {
        const char* s = m_p;
        ++m_p;
        bool in_class = false;
        while (m_p < m_end) {
            const char c = *m_p;
            if (c == '\\') {
                m_p += 2;
                continue;
            }
            if (c == '\n') {
                break;
            }
            ++m_p;
            if (c == '[') {
                in_class = true;
            } else if (c == ']') {
                in_class = false;
            } else if (c == '/' && !in_class) {
                while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
                    ++m_p;
                }
                return;
            }
        }
        fail_at("unterminated regular expression in function source", s);
    }

    // ---- better-serialize --------------------------------------------------------------------------

    /// Reads `"name"` at m_p (after whitespace); true when it is exactly that name.
    [[gnu::always_inline]] bool member_name(std::string_view name) {
        skip_ws();
        if (static_cast<std::size_t>(m_end - m_p) < name.size() + 2 || m_p[0] != '"' ||
            std::memcmp(m_p + 1, name.data(), name.size()) != 0 || m_p[name.size() + 1] != '"') {
            return false;
        }
        m_p += name.size() + 2;
        return true;
    }

    [[noreturn]] void not_envelope(const char* what) const {
        fail(std::string("not a better-serialize envelope: ") + what);
    }

    /// One `{"t":T,"v":V}` envelope at m_p.
    Emitted bs_value(std::size_t depth) {
        skip_ws();
        if (m_p >= m_end || *m_p != '{') {
            fail_expected("a better-serialize envelope {\"t\":...}");
        }
        ++m_p;
        if (m_end - m_p >= 4 && std::memcmp(m_p, "\"t\":", 4) == 0) [[likely]] {
            m_p += 4;  // compact JSON, as better-serialize writes it
        } else {
            if (!member_name("t")) {
                not_envelope("expected \"t\" as the first member");
            }
            expect(':', "':' after \"t\"");
            skip_ws();
        }
        if (m_p >= m_end || !is_digit(*m_p)) {
            not_envelope("\"t\" is not a type number 0..11");
        }
        int type = *m_p++ - '0';
        if (type == 1 && m_p < m_end && (*m_p == '0' || *m_p == '1')) {
            type = 10 + (*m_p++ - '0');
        }
        if (m_p < m_end && (is_digit(*m_p) || *m_p == '.' || *m_p == 'e' || *m_p == 'E')) {
            not_envelope("\"t\" is not a type number 0..11");
        }
        skip_ws();
        if (type == 5 || type == 7) {
            expect('}', "'}' closing a value-less envelope (t 5 or 7 has no \"v\")");
            m_last_kind = KeyKind::k_other;
            if (type == 5) {
                m_out += "null";
                return Emitted::k_value;
            }
            return Emitted::k_undefined;
        }
        if (m_end - m_p >= 5 && std::memcmp(m_p, ",\"v\":", 5) == 0) [[likely]] {
            m_p += 5;
        } else {
            expect(',', "',' and \"v\" after \"t\"");
            if (!member_name("v")) {
                not_envelope("expected \"v\" as the second member");
            }
            expect(':', "':' after \"v\"");
            skip_ws();
        }
        if (m_p >= m_end) {
            fail("truncated value: expected the envelope's \"v\"");
        }
        m_last_kind = KeyKind::k_other;
        const char c = *m_p;
        switch (type) {
            case 0:
                if (c != '{') {
                    not_envelope("t 0 (object) needs an object \"v\"");
                }
                bs_object(depth);
                break;
            case 1:
                if (c != '"') {
                    not_envelope("t 1 (string) needs a string \"v\"");
                }
                string_value();
                break;
            case 2:
                if (c == '"') {
                    bs_special_number();
                } else if (c == '-' || is_digit(c)) {
                    number_value();
                } else {
                    not_envelope("t 2 (number) needs a number \"v\"");
                }
                break;
            case 3:
                if (consume_word("true")) {
                    m_out += "true";
                } else if (consume_word("false")) {
                    m_out += "false";
                } else {
                    not_envelope("t 3 (boolean) needs true or false");
                }
                break;
            case 4:
            case 11:
                if (c != '[') {
                    not_envelope(type == 4 ? "t 4 (array) needs an array \"v\""
                                           : "t 11 (Set) needs an array \"v\"");
                }
                bs_array(depth);
                break;
            case 6:
                if (c == '"') {
                    date_from_string();
                } else if (consume_word("null")) {
                    m_out += "null";
                    ++m_counts.invalid_dates;
                } else if (c == '-' || is_digit(c)) {
                    date_from_number();
                } else {
                    not_envelope("t 6 (Date) needs a date string");
                }
                break;
            case 8:
                bigint_string();
                break;
            case 9:
                bs_regexp();
                break;
            case 10:
                if (c != '[') {
                    not_envelope("t 10 (Map) needs an array of entries");
                }
                bs_map(depth);
                break;
            default:
                not_envelope("\"t\" is not a type number 0..11");
        }
        expect('}', "'}' closing the envelope");
        return Emitted::k_value;
    }

    void bs_special_number() {
        const char* s = m_p;
        if (consume_literal("\"NaN\"") || consume_literal("\"Infinity\"") ||
            consume_literal("\"-Infinity\"")) {
            m_out += "null";
            ++m_counts.non_finite;
            return;
        }
        fail_at("not a better-serialize envelope: t 2 (number) string is not NaN, Infinity or -Infinity", s);
    }

    bool consume_literal(std::string_view literal) {
        if (static_cast<std::size_t>(m_end - m_p) >= literal.size() &&
            std::memcmp(m_p, literal.data(), literal.size()) == 0) {
            m_p += literal.size();
            return true;
        }
        return false;
    }

    void bs_object(std::size_t depth) {
        check_depth(depth);
        ++m_p;
        m_out += '{';
        skip_ws();
        if (m_p < m_end && *m_p == '}') {
            ++m_p;
            m_out += '}';
            return;
        }
        bool first = true;
        for (;;) {
            skip_ws();
            if (m_p >= m_end || *m_p != '"') {
                fail_expected("a member name in double quotes");
            }
            const std::size_t mark = m_out.size();
            if (!first) {
                m_out += ',';
            }
            m_path.push_back({PathSegment::Kind::k_raw_key, m_p + 1});
            string_value();
            expect(':', "':' after the member name");
            m_out += ':';
            const Emitted emitted = bs_value(depth + 1);
            m_path.pop_back();
            if (emitted != Emitted::k_value) {
                m_out.resize(mark);
                ++m_counts.undefined_dropped;
            } else {
                first = false;
            }
            skip_ws();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (m_p < m_end && *m_p == '}') {
                ++m_p;
                break;
            }
            fail_expected("',' or '}' in object");
        }
        m_out += '}';
    }

    void bs_array(std::size_t depth) {
        check_depth(depth);
        ++m_p;
        m_out += '[';
        skip_ws();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
            m_out += ']';
            return;
        }
        for (std::size_t index = 0;; ++index) {
            if (index != 0) {
                m_out += ',';
            }
            m_path.push_back({PathSegment::Kind::k_index, nullptr, index});
            element(bs_value(depth + 1));
            m_path.pop_back();
            skip_ws();
            if (m_p < m_end && *m_p == ',') {
                ++m_p;
                continue;
            }
            if (m_p < m_end && *m_p == ']') {
                ++m_p;
                break;
            }
            fail_expected("',' or ']' in array");
        }
        m_out += ']';
    }

    void bs_regexp() {
        if (m_p >= m_end || *m_p != '{') {
            not_envelope("t 9 (RegExp) needs {\"s\":source,\"f\":flags}");
        }
        ++m_p;
        m_regexp_source.clear();
        m_regexp_flags.clear();
        bool have_source = false;
        bool have_flags = false;
        for (int i = 0; i < 2; ++i) {
            if (i == 1) {
                expect(',', "',' between the RegExp's \"s\" and \"f\"");
            }
            const bool source = !have_source && member_name("s");
            const bool flags = !source && !have_flags && member_name("f");
            if (!source && !flags) {
                not_envelope("t 9 (RegExp) needs {\"s\":source,\"f\":flags}");
            }
            expect(':', "':' after the member name");
            skip_ws();
            if (m_p >= m_end || *m_p != '"') {
                not_envelope("RegExp source and flags must be strings");
            }
            string_contents(source ? m_regexp_source : m_regexp_flags);
            (source ? have_source : have_flags) = true;
        }
        expect('}', "'}' closing the RegExp's {\"s\",\"f\"}");
        m_out += "\"/";
        m_out += m_regexp_source;
        m_out += '/';
        m_out += m_regexp_flags;
        m_out += '"';
    }

    void bs_map(std::size_t depth) {
        check_depth(depth);
        ++m_p;
        const std::size_t mark = m_out.size();
        const std::size_t base = m_entries.size();
        m_out += '[';
        skip_ws();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
        } else {
            for (std::size_t index = 0;; ++index) {
                if (index != 0) {
                    m_out += ',';
                }
                expect('[', "'[' opening a Map entry");
                map_entry(
                    index, depth + 1, [this, depth] { return bs_value(depth + 1); }, true);
                expect(']', "']' closing a Map entry");
                skip_ws();
                if (m_p < m_end && *m_p == ',') {
                    ++m_p;
                    continue;
                }
                if (m_p < m_end && *m_p == ']') {
                    ++m_p;
                    break;
                }
                fail_expected("',' or ']' in the Map's entries");
            }
        }
        m_out += ']';
        finish_map(mark, base);
    }

    const char* m_begin;
    const char* m_p;
    const char* m_end;
    const DecodeOptions& m_options;
    Sink m_out;
    std::vector<Violation>& m_violations;
    LossyCounts& m_counts;
    bool m_js = false;
    bool m_saw_js = false;
    KeyKind m_last_kind = KeyKind::k_other;
    Workspace& m_work;
    std::uintptr_t m_stack_base;
    std::size_t m_stack_budget;
    bool m_big_stack;
    std::vector<PathSegment>& m_path = m_work.path;
    std::vector<Entry>& m_entries = m_work.entries;
    std::vector<char>& m_js_stack = m_work.js_stack;
    std::string& m_scratch = m_work.scratch;
    std::string& m_scratch_date = m_work.scratch_date;
    std::string& m_regexp_source = m_work.regexp_source;
    std::string& m_regexp_flags = m_work.regexp_flags;
};

/// Runs one decode; on DecodeError leaves out, violations and counts as they were.
/// One decode on the current stack; on any error leaves out, violations and counts as they were.
std::size_t transcode_here(std::string_view text, Encoding encoding, const DecodeOptions& options,
                           std::string& out, std::vector<Violation>& violations, LossyCounts& counts,
                           bool whole, bool* saw_js, std::size_t stack_budget, bool big_stack) {
    const std::size_t out_mark = out.size();
    const std::size_t violations_mark = violations.size();
    const LossyCounts saved_counts = counts;
    try {
        thread_local Workspace t_work;
        Workspace local;
        Workspace& work = t_work.busy ? local : t_work;
        work.busy = true;
        struct Release {
            Workspace& work;
            ~Release() { work.busy = false; }
        } release{work};
        Transcoder transcoder(text, options, out, violations, counts, work, stack_budget, big_stack);
        const std::size_t taken = transcoder.run(encoding);
        if (whole) {
            transcoder.expect_end();
        }
        if (saw_js != nullptr) {
            *saw_js = transcoder.saw_js();
        }
        return taken;
    } catch (...) {
        out.resize(out_mark);
        violations.resize(violations_mark);
        counts = saved_counts;
        throw;
    }
}

/// Runs one decode. A value nesting deeper than the caller's stack budget is decoded again on a
/// thread with a stack sized for max_depth, so deep input never overflows a stack.
std::size_t transcode(std::string_view text, Encoding encoding, const DecodeOptions& options,
                      std::string& out, std::vector<Violation>& violations, LossyCounts& counts, bool whole,
                      bool* saw_js = nullptr) {
    try {
        return transcode_here(text, encoding, options, out, violations, counts, whole, saw_js,
                              k_inline_stack_budget, false);
    } catch (const NeedsBigStack&) {
        // Decoded again below, on a bigger stack.
    }
    constexpr std::size_t k_margin = std::size_t{1024} * 1024;
    constexpr std::size_t k_per_level = std::size_t{8} * 1024;
    const std::size_t stack_size = std::min<std::size_t>(
        std::max<std::size_t>(64ULL << 20, options.max_depth * k_per_level) + k_margin, 1ULL << 30);
    struct Job {
        std::string_view text;
        Encoding encoding;
        const DecodeOptions* options;
        std::string* out;
        std::vector<Violation>* violations;
        LossyCounts* counts;
        bool whole;
        bool* saw_js;
        std::size_t budget;
        std::size_t taken = 0;
        std::exception_ptr error;
    } job{text, encoding, &options, &out, &violations, &counts, whole, saw_js, stack_size - k_margin, 0, {}};
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, stack_size);
    pthread_t thread;
    const int created = pthread_create(
        &thread, &attributes,
        [](void* argument) -> void* {
            auto* j = static_cast<Job*>(argument);
            try {
                j->taken = transcode_here(j->text, j->encoding, *j->options, *j->out, *j->violations,
                                          *j->counts, j->whole, j->saw_js, j->budget, true);
            } catch (...) {
                j->error = std::current_exception();
            }
            return nullptr;
        },
        &job);
    pthread_attr_destroy(&attributes);
    if (created != 0) {
        throw DecodeError(
            "value nests too deeply to decode here (no thread with a larger stack could be started)", 0);
    }
    pthread_join(thread, nullptr);
    if (job.error) {
        std::rethrow_exception(job.error);
    }
    return job.taken;
}

bool looks_like_envelope(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
        ++i;
    }
    return text.substr(i, 4) == "{\"t\"";
}

}  // namespace

LossyCounts& LossyCounts::operator+=(const LossyCounts& other) {
    non_finite += other.non_finite;
    negative_zero += other.negative_zero;
    undefined_dropped += other.undefined_dropped;
    sparse_holes += other.sparse_holes;
    invalid_dates += other.invalid_dates;
    text_replaced += other.text_replaced;
    functions_dropped += other.functions_dropped;
    functions_kept += other.functions_kept;
    return *this;
}

bool LossyCounts::any() const {
    return non_finite != 0 || negative_zero != 0 || undefined_dropped != 0 || sparse_holes != 0 ||
           invalid_dates != 0 || text_replaced != 0 || functions_dropped != 0 || functions_kept != 0;
}

std::string_view encoding_name(Encoding encoding) {
    switch (encoding) {
        case Encoding::k_json:
            return "json";
        case Encoding::k_serialize_javascript:
            return "serialize-javascript";
        case Encoding::k_better_serialize:
            return "better-serialize";
    }
    return "unknown";
}

Encoding parse_encoding(std::string_view name) {
    for (Encoding encoding :
         {Encoding::k_json, Encoding::k_serialize_javascript, Encoding::k_better_serialize}) {
        if (name == encoding_name(encoding)) {
            return encoding;
        }
    }
    throw UsageError("unknown encoding '" + std::string(name) + "'",
                     "use one of: json, serialize-javascript, better-serialize");
}

Encoding decode_value_detect(std::string_view text, const DecodeOptions& options, std::string& out,
                             std::vector<Violation>& violations, LossyCounts& counts) {
    if (looks_like_envelope(text)) {
        try {
            transcode(text, Encoding::k_better_serialize, options, out, violations, counts, true);
            return Encoding::k_better_serialize;
        } catch (const DecodeError&) {
            // Not a strict envelope at every level: it is 5.x data.
        }
    }
    bool saw_js = false;
    transcode(text, Encoding::k_serialize_javascript, options, out, violations, counts, true, &saw_js);
    return saw_js ? Encoding::k_serialize_javascript : Encoding::k_json;
}

Encoding detect_encoding(std::string_view text) {
    DecodeOptions options;
    options.invalid_text = InvalidTextPolicy::k_replace;
    options.functions = FunctionPolicy::k_source;
    std::string out;
    std::vector<Violation> violations;
    LossyCounts counts;
    try {
        return decode_value_detect(text, options, out, violations, counts);
    } catch (const DecodeError&) {
        // Malformed in every encoding: report the generation its syntax points to; decoding says why.
        if (text.find("new ") != std::string_view::npos || text.find("undefined") != std::string_view::npos ||
            text.find("BigInt(") != std::string_view::npos || text.find("=>") != std::string_view::npos ||
            text.find("function") != std::string_view::npos) {
            return Encoding::k_serialize_javascript;
        }
        return looks_like_envelope(text) ? Encoding::k_better_serialize : Encoding::k_json;
    }
}

void decode_value(std::string_view text, Encoding encoding, const DecodeOptions& options, std::string& out,
                  std::vector<Violation>& violations, LossyCounts& counts) {
    out.reserve(out.size() + text.size() + 16);
    transcode(text, encoding, options, out, violations, counts, true);
}

std::size_t decode_value_prefix(std::string_view text, Encoding encoding, const DecodeOptions& options,
                                std::string& out, std::vector<Violation>& violations, LossyCounts& counts) {
    return transcode(text, encoding, options, out, violations, counts, false);
}

void decode_key(std::string_view key, const DecodeOptions& options, std::string& out,
                std::vector<Violation>& violations, LossyCounts& counts) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    const auto* end = p + key.size();
    const auto* start = p;
    auto bad = [&](const std::string& detail) {
        out.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
        out += k_replacement;
        if (options.invalid_text == InvalidTextPolicy::k_replace) {
            ++counts.text_replaced;
        } else {
            violations.push_back({Violation::Kind::k_invalid_text, "key", detail});
        }
    };
    while (p < end) {
        if (*p == 0) {
            bad("NUL byte in key");
            ++p;
            start = p;
        } else if (*p < 0x80) {
            ++p;
        } else {
            auto [length, valid] = utf8_sequence(p, end);
            if (!valid) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "0x%02x", *p);
                bad(std::string("invalid UTF-8 byte ") + buf + " in key");
                p += length;
                start = p;
            } else {
                p += length;
            }
        }
    }
    out.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
}

}  // namespace enmap
