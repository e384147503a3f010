// The JSON grammar (Enmap 4.0-5.7, JSON.stringify), which is also the JSON part of
// serialize-javascript: with m_js set, what is not JSON goes on to js_value().

#include "enmap/decode/instantiate.hpp"

namespace enmap::decode {

template <typename V>
Emitted Parser<V>::value(std::size_t depth) {
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
            members(depth, [this](std::size_t d) { return value(d); });
            return Emitted::k_value;
        case '[':
            elements(depth, [this](std::size_t d) { return value(d); });
            return Emitted::k_value;
        case '-':
            if (m_js && m_p + 1 < m_end && m_p[1] == 'I') {
                ++m_p;
                if (!consume_word("Infinity")) {
                    fail("invalid number");
                }
                m_saw_js = true;
                non_finite(NumberKind::k_negative_infinity);
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
        boolean_value(true);
        return Emitted::k_value;
    }
    if (consume_word("false")) {
        boolean_value(false);
        return Emitted::k_value;
    }
    if (consume_word("null")) {
        null_value();
        return Emitted::k_value;
    }
    if (!m_js) {
        fail("unexpected character in JSON value");
    }
    return js_value(depth);
}

#define ENMAP_DECODE_VALUE(V) Emitted Parser<V>::value(std::size_t)
ENMAP_DECODE_INSTANTIATE(ENMAP_DECODE_VALUE);

}  // namespace enmap::decode
