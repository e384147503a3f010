#pragma once
// enmap/decode/ parser: the state of one decode and what every grammar shares. Parser<V> reads
// one value text through a cursor (errors with byte offsets, JSON paths for violations, strings,
// numbers, dates, BigInts) and writes its canonical JSON to a Sink; the grammars are its members,
// one file each: json.cpp (JSON, and the JSON part of serialize-javascript),
// serialize_javascript.cpp (the JavaScript forms) and better_serialize.cpp. Maps, objects and
// arrays of every grammar go through the shared members(), elements() and map_entries().
//
// V receives the typed events of enmap/decode/visitor.hpp. It is a template parameter, not a
// virtual base: the canonical JSON path runs Parser<NullVisitor>, where every event is compiled
// out (`if constexpr`), so it costs nothing; Parser<ValueVisitor> calls a virtual method per event.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "enmap/decode.hpp"
#include "enmap/decode/sink.hpp"
#include "enmap/decode/visitor.hpp"
#include "enmap/js_date.hpp"
#include "enmap/js_number.hpp"
#include "enmap/utf8.hpp"

namespace enmap::decode {

/// The consumer of the canonical JSON path: takes no events.
struct NullVisitor {};

/// True when V takes events (every V but NullVisitor).
template <typename V>
inline constexpr bool k_observed = !std::is_same_v<V, NullVisitor>;

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

/// The segments of the JSON path to the value being decoded. A stack of its own rather than a
/// std::vector's push_back/pop_back, whose out-of-line growth path kept them from being inlined
/// into the container loops (measured: 5% of the JSON decode's instructions).
class PathStack {
public:
    [[gnu::always_inline]] void push(const PathSegment& segment) {
        if (m_size == m_segments.size()) [[unlikely]] {
            m_segments.resize(m_segments.size() * 2 + 16);
        }
        m_segments[m_size++] = segment;
    }
    void pop() { --m_size; }
    PathSegment& back() { return m_segments[m_size - 1]; }
    void clear() { m_size = 0; }
    [[nodiscard]] const PathSegment* begin() const { return m_segments.data(); }
    [[nodiscard]] const PathSegment* end() const { return m_segments.data() + m_size; }

private:
    std::vector<PathSegment> m_segments;
    std::size_t m_size = 0;
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
    PathStack path;
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

/// A JSON path such as `$.tags[2]` for the segments of `path`; `out` is the output so far (Map
/// keys are read from it) and `end` the end of the value text (raw keys are read up to it).
std::string path_text(const PathStack& path, const char* out, const char* end);

/// `\uXXXX` for a UTF-16 code unit, as a violation's detail names it.
std::string hex_unit(std::uint32_t unit);

/// The better-serialize type tags: the `t` of `{"t":T,"v":V}`.
enum class Tag : std::uint8_t {
    k_object = 0,
    k_string = 1,
    k_number = 2,
    k_boolean = 3,
    k_array = 4,
    k_null = 5,
    k_date = 6,
    k_undefined = 7,
    k_bigint = 8,
    k_regexp = 9,
    k_map = 10,
    k_set = 11,
};

template <typename V>
class Parser {
public:
    Parser(std::string_view text, const DecodeOptions& options, std::string& out,
           std::vector<Violation>& violations, LossyCounts& counts, Workspace& work, V& visitor,
           std::size_t stack_budget, bool big_stack)
        : m_begin(text.data()),
          m_p(text.data()),
          m_end(text.data() + text.size()),
          m_options(options),
          m_out(out, std::min<std::size_t>(text.size(), k_max_reserve)),
          m_violations(violations),
          m_counts(counts),
          m_v(visitor),
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

    [[nodiscard]] std::string current_path() const { return path_text(m_path, m_out.data(), m_end); }

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

    /// A string at m_p, written quoted; returns the offset of its contents in the output.
    std::size_t quoted_string() {
        m_out += '"';
        const std::size_t mark = m_out.size();
        string_contents(m_out);
        m_out += '"';
        m_last_kind = KeyKind::k_string;
        return mark;
    }

    /// The output from `mark` to its end (`trim` bytes fewer), for an event.
    [[nodiscard]] std::string_view written(std::size_t mark, std::size_t trim = 0) const {
        return {m_out.data() + mark, m_out.size() - mark - trim};
    }

    /// A string value.
    void string_value() {
        const std::size_t mark = quoted_string();
        if constexpr (k_observed<V>) {
            m_v.string(written(mark, 1));
        }
    }

    /// A member name, as a string and a key event.
    void member_key() {
        const std::size_t mark = quoted_string();
        if constexpr (k_observed<V>) {
            m_v.key(written(mark, 1));
        }
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

    /// A JSON number at m_p, with its number event.
    void number_value() {
        if constexpr (k_observed<V>) {
            const char* s = m_p;
            const std::size_t mark = m_out.size();
            const LossyCounts before = m_counts;
            scan_number();
            const std::string_view text = written(mark);
            if (m_counts.non_finite != before.non_finite) {
                m_v.number(*s == '-' ? NumberKind::k_negative_infinity : NumberKind::k_infinity, {}, false);
            } else {
                const bool integer =
                    text.find('.') == std::string_view::npos && text.find("e-") == std::string_view::npos;
                m_v.number(integer ? NumberKind::k_integer : NumberKind::k_float, text,
                           m_counts.negative_zero != before.negative_zero);
            }
        } else {
            scan_number();
        }
    }

    /// A JSON number at m_p, written as Number#toString writes it (non-finite ones as null).
    void scan_number() {
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

    void element(Emitted emitted) {
        if (emitted != Emitted::k_value) {
            m_out += "null";
            if (emitted == Emitted::k_undefined) {
                ++m_counts.undefined_dropped;
            }
        }
    }

    /// `undefined`, as a value that is nothing: its event, and what the container does with it.
    Emitted undefined_value() {
        if constexpr (k_observed<V>) {
            m_v.undefined();
        }
        return Emitted::k_undefined;
    }

    /// A non-finite number, written as null and counted.
    void non_finite(NumberKind kind) {
        m_out += "null";
        ++m_counts.non_finite;
        m_last_kind = KeyKind::k_other;
        if constexpr (k_observed<V>) {
            m_v.number(kind, {}, false);
        }
    }

    void boolean_value(bool value) {
        m_out += value ? std::string_view("true") : std::string_view("false");
        if constexpr (k_observed<V>) {
            m_v.boolean(value);
        }
    }

    void null_value() {
        m_out += "null";
        if constexpr (k_observed<V>) {
            m_v.null();
        }
    }

    // ---- BigInts and Dates (both JavaScript encodings) -------------------------------------------

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
        const std::size_t mark = m_out.size();
        if (negative) {
            m_out += '-';
        }
        m_out.append(digits);
        m_out += '"';
        m_p = e + 1;
        m_last_kind = KeyKind::k_bigint;
        if constexpr (k_observed<V>) {
            m_v.bigint(written(mark, 1));
        }
    }

    /// A Date written by `write` (one of the date_from_* below), with its date event.
    template <typename WriteFn>
    void date_value(WriteFn&& write) {
        const std::size_t mark = m_out.size();
        write();
        if constexpr (k_observed<V>) {
            const std::string_view text = written(mark);
            m_v.date(text == "null" ? std::string_view() : text.substr(1, text.size() - 2));
        }
    }

    /// An invalid Date: null, counted.
    void invalid_date() {
        m_out += "null";
        ++m_counts.invalid_dates;
        m_last_kind = KeyKind::k_other;
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
        scan_number();
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

    // ---- the containers every grammar shares -------------------------------------------------------

    /// An object's members `{"name": value, ...}` at m_p ('{'), each value decoded by
    /// `member_value(depth)`. Members that are nothing (undefined, an omitted function) are left out.
    template <typename ValueFn>
    [[gnu::always_inline]] void members(std::size_t depth, ValueFn&& member_value) {
        check_depth(depth);
        ++m_p;
        m_out += '{';
        if constexpr (k_observed<V>) {
            m_v.begin_object();
        }
        skip_ws();
        if (m_p < m_end && *m_p == '}') {
            ++m_p;
        } else {
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
                m_path.push({PathSegment::Kind::k_raw_key, m_p + 1});
                member_key();
                expect(':', "':' after the member name");
                m_out += ':';
                const Emitted emitted = member_value(depth + 1);
                m_path.pop();
                if (emitted != Emitted::k_value) {
                    m_out.resize(mark);
                    if (emitted == Emitted::k_undefined) {
                        ++m_counts.undefined_dropped;  // an omitted function is counted by its policy
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
        }
        m_out += '}';
        m_last_kind = KeyKind::k_other;
        if constexpr (k_observed<V>) {
            m_v.end_object();
        }
    }

    /// An array's elements `[value, ...]` at m_p ('['), each decoded by `element_value(depth)`;
    /// elements that are nothing become null. `set`: the elements of a Set (for the events).
    template <typename ValueFn>
    void elements(std::size_t depth, ValueFn&& element_value, bool set = false) {
        check_depth(depth);
        ++m_p;
        m_out += '[';
        if constexpr (k_observed<V>) {
            set ? m_v.begin_set() : m_v.begin_array();
        }
        skip_ws();
        if (m_p < m_end && *m_p == ']') {
            ++m_p;
        } else {
            for (std::size_t index = 0;; ++index) {
                if (index != 0) {
                    m_out += ',';
                }
                m_path.push({PathSegment::Kind::k_index, nullptr, index});
                element(element_value(depth + 1));
                m_path.pop();
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
        }
        m_out += ']';
        m_last_kind = KeyKind::k_other;
        if constexpr (k_observed<V>) {
            set ? m_v.end_set() : m_v.end_array();
        }
    }

    /// A Map's entries `[[key, value], ...]` at m_p ('['): each key is decoded by value() (in
    /// better-serialize it is not tagged: plain JSON), each value by `entry_value(depth)`. Written
    /// as an object when the Map key rule allows it, else as an array of pairs.
    template <typename ValueFn>
    void map_entries(std::size_t depth, ValueFn&& entry_value) {
        check_depth(depth);
        ++m_p;
        if constexpr (k_observed<V>) {
            m_v.begin_map();
        }
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
                map_entry(index, depth + 1, entry_value);
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
        if constexpr (k_observed<V>) {
            m_v.end_map();
        }
    }

    /// One Map entry after its '[': the key, ',', the value.
    template <typename ValueFn>
    void map_entry(std::size_t index, std::size_t depth, ValueFn& entry_value) {
        Entry entry{};
        m_out += '[';
        m_path.push({PathSegment::Kind::k_index, nullptr, index});
        entry.key_begin = m_out.size();
        Emitted key = value(depth);
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
        Emitted emitted = entry_value(depth);
        m_path.pop();
        entry.omitted = emitted != Emitted::k_value;
        element(emitted);
        entry.value_end = m_out.size();
        m_out += ']';
        m_entries.push_back(entry);
    }

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

    // ---- the grammars (json.cpp, serialize_javascript.cpp, better_serialize.cpp) ---------------------

    /// JSON: one value at m_p; with m_js, the serialize-javascript forms too.
    Emitted value(std::size_t depth);
    /// serialize-javascript: the forms that are not JSON (undefined, new X(...), BigInt, sparse
    /// arrays, functions), at m_p.
    Emitted js_value(std::size_t depth);
    Emitted constructor(std::size_t depth);
    void sparse_array(std::size_t depth);
    std::int64_t sparse_length();
    Emitted function(const char* start);
    /// better-serialize: one `{"t":T,"v":V}` envelope at m_p.
    Emitted bs_value(std::size_t depth);
    void bs_special_number();
    void bs_regexp();

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

    bool consume_literal(std::string_view literal) {
        if (static_cast<std::size_t>(m_end - m_p) >= literal.size() &&
            std::memcmp(m_p, literal.data(), literal.size()) == 0) {
            m_p += literal.size();
            return true;
        }
        return false;
    }

    const char* m_begin;
    const char* m_p;
    const char* m_end;
    const DecodeOptions& m_options;
    Sink m_out;
    std::vector<Violation>& m_violations;
    LossyCounts& m_counts;
    V& m_v;
    bool m_js = false;
    bool m_saw_js = false;
    KeyKind m_last_kind = KeyKind::k_other;
    Workspace& m_work;
    std::uintptr_t m_stack_base;
    std::size_t m_stack_budget;
    bool m_big_stack;
    PathStack& m_path = m_work.path;
    std::vector<Entry>& m_entries = m_work.entries;
    std::vector<char>& m_js_stack = m_work.js_stack;
    std::string& m_scratch = m_work.scratch;
    std::string& m_scratch_date = m_work.scratch_date;
    std::string& m_regexp_source = m_work.regexp_source;
    std::string& m_regexp_flags = m_work.regexp_flags;
};

}  // namespace enmap::decode
