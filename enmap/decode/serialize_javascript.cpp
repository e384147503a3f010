// The serialize-javascript grammar (Enmap 5.8-5.9): JSON plus the JavaScript forms it writes,
// `undefined`, `NaN`, `Infinity`, `new Date/RegExp/Map/Set/URL(...)`, `BigInt("...")`, sparse
// arrays as `Array.prototype.slice.call({...})` and function source (found by FunctionScanner).

#include <algorithm>
#include <charconv>

#include "enmap/decode/function_scanner.hpp"
#include "enmap/decode/instantiate.hpp"

namespace enmap::decode {

namespace {

bool array_index(std::string_view key, std::uint64_t& index) {
    if (key.empty() || key.size() > 10 || (key.size() > 1 && key[0] == '0') ||
        !std::all_of(key.begin(), key.end(), is_digit)) {
        return false;
    }
    index = std::strtoull(std::string(key).c_str(), nullptr, 10);
    return index < 4294967295ULL;
}

}  // namespace

template <typename V>
Emitted Parser<V>::js_value(std::size_t depth) {
    const char* start = m_p;
    if (consume_word("undefined")) {
        if (!arrow_follows(m_p)) {
            m_saw_js = true;
            return undefined_value();
        }
        m_p = start;
    } else if (consume_word("Infinity") || consume_word("NaN")) {
        if (!arrow_follows(m_p)) {
            m_saw_js = true;
            non_finite(*start == 'N' ? NumberKind::k_nan : NumberKind::k_infinity);
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

template <typename V>
Emitted Parser<V>::constructor(std::size_t depth) {
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
            date_value([this] { date_from_string(); });
        } else {
            date_value([this] { date_from_number(); });
        }
    } else if (type == "RegExp") {
        if (m_p >= m_end || *m_p != '"') {
            fail_expected("the RegExp source string");
        }
        m_out += "\"/";
        const std::size_t source = m_out.size();
        string_contents(m_out);
        const std::size_t source_end = m_out.size();
        expect(',', "',' between the RegExp source and flags");
        skip_ws();
        if (m_p >= m_end || *m_p != '"') {
            fail_expected("the RegExp flags string");
        }
        m_out += '/';
        const std::size_t flags = m_out.size();
        string_contents(m_out);
        if constexpr (k_observed<V>) {
            m_v.regexp(std::string_view(m_out.data() + source, source_end - source), written(flags));
        }
        m_out += '"';
    } else if (type == "Map") {
        if (m_p >= m_end || *m_p != '[') {
            fail_expected("'[' for the Map's entries");
        }
        map_entries(depth, [this](std::size_t d) { return value(d); });
    } else if (type == "Set") {
        if (m_p >= m_end || *m_p != '[') {
            fail_expected("'[' for the Set's elements");
        }
        elements(
            depth, [this](std::size_t d) { return value(d); }, true);
    } else if (type == "URL") {
        if (m_p >= m_end || *m_p != '"') {
            fail_expected("the URL string");
        }
        const std::size_t mark = quoted_string();
        if constexpr (k_observed<V>) {
            m_v.url(written(mark, 1));
        }
        m_last_kind = KeyKind::k_other;
    } else {
        fail_at("unsupported constructor 'new " + std::string(type) + "'", name);
    }
    expect(')', "')' closing the constructor call");
    return Emitted::k_value;
}

/// `Array.prototype.slice.call({"0":a,"2":b,"length":3})`, from after `call`.
template <typename V>
void Parser<V>::sparse_array(std::size_t depth) {
    check_depth(depth);
    if constexpr (k_observed<V>) {
        m_v.begin_array();
    }
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
                m_path.push(is_index ? PathSegment{PathSegment::Kind::k_index, nullptr, index}
                                     : PathSegment{PathSegment::Kind::k_raw_key, key_start});
                const Emitted emitted = value(depth + 1);
                m_path.pop();
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
            if constexpr (k_observed<V>) {
                m_v.hole();
            }
        }
    }
    m_scratch += ']';
    m_out.resize(mark);
    m_out += m_scratch;
    m_entries.resize(base);
    m_last_kind = KeyKind::k_other;
    if constexpr (k_observed<V>) {
        m_v.end_array();
    }
}

template <typename V>
std::int64_t Parser<V>::sparse_length() {
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

template <typename V>
Emitted Parser<V>::function(const char* start) {
    FunctionScanner scanner(m_begin, m_end, m_options.max_depth, m_js_stack);
    const char* end = scanner.scan(start);
    m_p = scanner.position();
    if constexpr (k_observed<V>) {
        m_v.function(std::string_view(start, static_cast<std::size_t>(end - start)));
    }
    m_saw_js = true;
    m_last_kind = KeyKind::k_other;
    switch (m_options.functions) {
        case FunctionPolicy::k_error: {
            std::string snippet(start, static_cast<std::size_t>(std::min<std::ptrdiff_t>(end - start, 40)));
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

#define ENMAP_DECODE_JS_VALUE(V) Emitted Parser<V>::js_value(std::size_t)
#define ENMAP_DECODE_CONSTRUCTOR(V) Emitted Parser<V>::constructor(std::size_t)
#define ENMAP_DECODE_SPARSE_ARRAY(V) void Parser<V>::sparse_array(std::size_t)
#define ENMAP_DECODE_SPARSE_LENGTH(V) std::int64_t Parser<V>::sparse_length()
#define ENMAP_DECODE_FUNCTION(V) Emitted Parser<V>::function(const char*)
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_JS_VALUE);
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_CONSTRUCTOR);
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_SPARSE_ARRAY);
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_SPARSE_LENGTH);
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_FUNCTION);

}  // namespace enmap::decode
