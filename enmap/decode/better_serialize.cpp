// The better-serialize grammar (Enmap 6.x): every value a `{"t":T,"v":V}` envelope (Tag), recognised
// strictly at every level so that a 5.x object with "t" and "v" members is not taken for one.

#include "enmap/decode/instantiate.hpp"

namespace enmap::decode {

template <typename V>
Emitted Parser<V>::bs_value(std::size_t depth) {
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
    int number = *m_p++ - '0';
    if (number == 1 && m_p < m_end && (*m_p == '0' || *m_p == '1')) {
        number = 10 + (*m_p++ - '0');  // 10 or 11: the only two-digit tags
    }
    if (m_p < m_end && (is_digit(*m_p) || *m_p == '.' || *m_p == 'e' || *m_p == 'E')) {
        not_envelope("\"t\" is not a type number 0..11");
    }
    const auto type = static_cast<Tag>(number);
    skip_ws();
    if (type == Tag::k_null || type == Tag::k_undefined) {
        expect('}', "'}' closing a value-less envelope (t 5 or 7 has no \"v\")");
        m_last_kind = KeyKind::k_other;
        if (type == Tag::k_null) {
            null_value();
            return Emitted::k_value;
        }
        return undefined_value();
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
        case Tag::k_object:
            if (c != '{') {
                not_envelope("t 0 (object) needs an object \"v\"");
            }
            members(depth, [this](std::size_t d) { return bs_value(d); });
            break;
        case Tag::k_string:
            if (c != '"') {
                not_envelope("t 1 (string) needs a string \"v\"");
            }
            string_value();
            break;
        case Tag::k_number:
            if (c == '"') {
                bs_special_number();
            } else if (c == '-' || is_digit(c)) {
                number_value();
            } else {
                not_envelope("t 2 (number) needs a number \"v\"");
            }
            break;
        case Tag::k_boolean:
            if (consume_word("true")) {
                boolean_value(true);
            } else if (consume_word("false")) {
                boolean_value(false);
            } else {
                not_envelope("t 3 (boolean) needs true or false");
            }
            break;
        case Tag::k_array:
        case Tag::k_set:
            if (c != '[') {
                not_envelope(type == Tag::k_array ? "t 4 (array) needs an array \"v\""
                                                  : "t 11 (Set) needs an array \"v\"");
            }
            elements(
                depth, [this](std::size_t d) { return bs_value(d); }, type == Tag::k_set);
            break;
        case Tag::k_date:
            if (c == '"') {
                date_value([this] { date_from_string(); });
            } else if (consume_word("null")) {
                date_value([this] { invalid_date(); });
            } else if (c == '-' || is_digit(c)) {
                date_value([this] { date_from_number(); });
            } else {
                not_envelope("t 6 (Date) needs a date string");
            }
            break;
        case Tag::k_bigint:
            bigint_string();
            break;
        case Tag::k_regexp:
            bs_regexp();
            break;
        case Tag::k_map:
            if (c != '[') {
                not_envelope("t 10 (Map) needs an array of entries");
            }
            map_entries(depth, [this](std::size_t d) { return bs_value(d); });
            break;
        case Tag::k_null:
        case Tag::k_undefined:
        default:
            not_envelope("\"t\" is not a type number 0..11");
    }
    expect('}', "'}' closing the envelope");
    return Emitted::k_value;
}

template <typename V>
void Parser<V>::bs_special_number() {
    const char* s = m_p;
    if (consume_literal("\"NaN\"")) {
        non_finite(NumberKind::k_nan);
        return;
    }
    if (consume_literal("\"Infinity\"")) {
        non_finite(NumberKind::k_infinity);
        return;
    }
    if (consume_literal("\"-Infinity\"")) {
        non_finite(NumberKind::k_negative_infinity);
        return;
    }
    fail_at("not a better-serialize envelope: t 2 (number) string is not NaN, Infinity or -Infinity", s);
}

template <typename V>
void Parser<V>::bs_regexp() {
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
    if constexpr (k_observed<V>) {
        m_v.regexp(m_regexp_source, m_regexp_flags);
    }
}

#define ENMAP_DECODE_BS_VALUE(V) Emitted Parser<V>::bs_value(std::size_t)
#define ENMAP_DECODE_BS_SPECIAL_NUMBER(V) void Parser<V>::bs_special_number()
#define ENMAP_DECODE_BS_REGEXP(V) void Parser<V>::bs_regexp()
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_BS_VALUE);
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_BS_SPECIAL_NUMBER);
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_BS_REGEXP);

}  // namespace enmap::decode
