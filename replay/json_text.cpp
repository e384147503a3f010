#include "replay/json_text.hpp"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "enmap/error.hpp"

namespace replay {

namespace {

[[noreturn]] void fail(std::string_view what, std::size_t pos) {
    throw enmap::InputError("malformed JSON: " + std::string(what) + " at byte " + std::to_string(pos));
}

std::size_t skip_ws(std::string_view text, std::size_t pos) {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
        ++pos;
    }
    return pos;
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

unsigned read_hex4(std::string_view text, std::size_t pos) {
    if (pos + 4 > text.size()) {
        fail("truncated \\u escape", pos);
    }
    unsigned v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        int h = hex_value(text[pos + i]);
        if (h < 0) {
            fail("bad \\u escape", pos);
        }
        v = v * 16 + static_cast<unsigned>(h);
    }
    return v;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Length of the valid UTF-8 sequence starting at pos, or 0 when it is invalid.
std::size_t utf8_length(std::string_view text, std::size_t pos) {
    auto b = static_cast<unsigned char>(text[pos]);
    std::size_t n = 0;
    std::uint32_t min = 0;
    std::uint32_t cp = 0;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
        cp = b & 0x1F;
        min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        cp = b & 0x0F;
        min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        cp = b & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (pos + n > text.size()) {
        return 0;
    }
    for (std::size_t i = 1; i < n; ++i) {
        auto c = static_cast<unsigned char>(text[pos + i]);
        if ((c & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

// Walks a string token; with `out` set, decodes it too. Returns the offset past the closing quote.
std::size_t walk_string(std::string_view text, std::size_t pos, std::string* out, JsonTextIssues& issues) {
    if (pos >= text.size() || text[pos] != '"') {
        fail("expected a string", pos);
    }
    ++pos;
    while (true) {
        if (pos >= text.size()) {
            fail("unterminated string", pos);
        }
        auto c = static_cast<unsigned char>(text[pos]);
        if (c == '"') {
            return pos + 1;
        }
        if (c < 0x20) {
            fail("raw control character in string", pos);
        }
        if (c == '\\') {
            if (pos + 1 >= text.size()) {
                fail("unterminated escape", pos);
            }
            char e = text[pos + 1];
            char plain = 0;
            switch (e) {
                case '"':
                    plain = '"';
                    break;
                case '\\':
                    plain = '\\';
                    break;
                case '/':
                    plain = '/';
                    break;
                case 'b':
                    plain = '\b';
                    break;
                case 'f':
                    plain = '\f';
                    break;
                case 'n':
                    plain = '\n';
                    break;
                case 'r':
                    plain = '\r';
                    break;
                case 't':
                    plain = '\t';
                    break;
                case 'u':
                    break;
                default:
                    fail("bad escape", pos);
            }
            if (e != 'u') {
                if (out != nullptr) {
                    out->push_back(plain);
                }
                pos += 2;
                continue;
            }
            std::uint32_t cp = read_hex4(text, pos + 2);
            pos += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (pos + 6 <= text.size() && text[pos] == '\\' && text[pos + 1] == 'u') {
                    std::uint32_t low = read_hex4(text, pos + 2);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        pos += 6;
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else {
                        issues.unpaired_surrogate = true;
                        cp = 0xFFFD;
                    }
                } else {
                    issues.unpaired_surrogate = true;
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                issues.unpaired_surrogate = true;
                cp = 0xFFFD;
            } else if (cp == 0) {
                issues.nul = true;
                cp = 0xFFFD;
            }
            if (out != nullptr) {
                append_utf8(*out, cp);
            }
            continue;
        }
        if (c < 0x80) {
            // Copy the run of plain ASCII in one go.
            std::size_t start = pos;
            while (pos < text.size()) {
                auto d = static_cast<unsigned char>(text[pos]);
                if (d == '"' || d == '\\' || d < 0x20 || d >= 0x80) {
                    break;
                }
                ++pos;
            }
            if (out != nullptr) {
                out->append(text.substr(start, pos - start));
            }
            continue;
        }
        std::size_t n = utf8_length(text, pos);
        if (n == 0) {
            fail("invalid UTF-8", pos);
        }
        if (out != nullptr) {
            out->append(text.substr(pos, n));
        }
        pos += n;
    }
}

struct NumberToken {
    bool negative = false;
    std::string_view int_digits;
    std::string_view frac_digits;
    long long exponent = 0;
    std::size_t end = 0;
};

NumberToken read_number(std::string_view text, std::size_t pos) {
    NumberToken n;
    if (pos < text.size() && text[pos] == '-') {
        n.negative = true;
        ++pos;
    }
    std::size_t start = pos;
    if (pos < text.size() && text[pos] == '0') {
        ++pos;
    } else if (pos < text.size() && text[pos] >= '1' && text[pos] <= '9') {
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
    } else {
        fail("bad number", pos);
    }
    n.int_digits = text.substr(start, pos - start);
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            ++pos;
        }
        if (pos == start) {
            fail("bad number fraction", pos);
        }
        n.frac_digits = text.substr(start, pos - start);
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        bool neg = false;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
            neg = text[pos] == '-';
            ++pos;
        }
        start = pos;
        long long e = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (e < 100000000) {
                e = e * 10 + (text[pos] - '0');
            }
            ++pos;
        }
        if (pos == start) {
            fail("bad number exponent", pos);
        }
        n.exponent = neg ? -e : e;
    }
    n.end = pos;
    return n;
}

// numeric_out of the value numeric_in makes of this token.
void append_numeric(std::string& out, const NumberToken& n) {
    std::string digits;
    digits.reserve(n.int_digits.size() + n.frac_digits.size());
    digits.append(n.int_digits);
    digits.append(n.frac_digits);
    long long point = static_cast<long long>(n.int_digits.size()) + n.exponent;
    long long scale = std::max<long long>(0, static_cast<long long>(n.frac_digits.size()) - n.exponent);
    bool nonzero = digits.find_first_not_of('0') != std::string::npos;
    if (n.negative && nonzero) {
        out.push_back('-');
    }
    std::string int_part;
    if (point > 0) {
        auto p = static_cast<std::size_t>(point);
        if (p <= digits.size()) {
            int_part = digits.substr(0, p);
        } else {
            int_part = digits;
            int_part.append(p - digits.size(), '0');
        }
    }
    std::size_t first = int_part.find_first_not_of('0');
    out.append(first == std::string::npos ? std::string("0") : int_part.substr(first));
    if (scale > 0) {
        out.push_back('.');
        std::string frac;
        if (point < 0) {
            frac.append(static_cast<std::size_t>(-point), '0');
            frac.append(digits);
        } else if (static_cast<std::size_t>(point) < digits.size()) {
            frac = digits.substr(static_cast<std::size_t>(point));
        }
        frac.resize(static_cast<std::size_t>(scale), '0');
        out.append(frac);
    }
}

void append_jsonb_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\b':
                out.append("\\b");
                break;
            case '\f':
                out.append("\\f");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            default:
                if (c < 0x20) {
                    static constexpr char k_hex[] = "0123456789abcdef";
                    out.append("\\u00");
                    out.push_back(k_hex[c >> 4]);
                    out.push_back(k_hex[c & 0xF]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

std::size_t expect_literal(std::string_view text, std::size_t pos, std::string_view word) {
    if (text.substr(pos, word.size()) != word) {
        fail("unexpected character", pos);
    }
    return pos + word.size();
}

constexpr std::size_t k_max_depth = 10000;

// Writes jsonb's printing of JSON text without a heap allocation per member or string: members go
// straight to the output, and an object whose keys are not already in jsonb's order (length, then
// bytes; the last of duplicates) is rewritten once from a copy. Strings without escapes and
// numbers without exponents print as written (a negative zero loses its sign).
class Normalizer {
public:
    /// Starts on new text; the buffers stay allocated from call to call.
    void reset(std::string_view text) {
        m_text = text;
        m_members.clear();
        m_keys.clear();
    }

    std::size_t value(std::size_t pos, std::string& out, std::size_t depth) {
        if (depth > k_max_depth) {
            fail("nesting too deep", pos);
        }
        pos = skip_ws(m_text, pos);
        if (pos >= m_text.size()) {
            fail("unexpected end", pos);
        }
        char c = m_text[pos];
        if (c == '{') {
            return object(pos, out, depth);
        }
        if (c == '[') {
            pos = skip_ws(m_text, pos + 1);
            out.push_back('[');
            if (pos < m_text.size() && m_text[pos] == ']') {
                out.push_back(']');
                return pos + 1;
            }
            bool first = true;
            while (true) {
                if (!first) {
                    out.append(", ");
                }
                first = false;
                pos = skip_ws(m_text, value(pos, out, depth + 1));
                if (pos < m_text.size() && m_text[pos] == ',') {
                    ++pos;
                    continue;
                }
                if (pos < m_text.size() && m_text[pos] == ']') {
                    out.push_back(']');
                    return pos + 1;
                }
                fail("expected ',' or ']'", pos);
            }
        }
        if (c == '"') {
            return string(pos, out, nullptr);
        }
        if (c == 't') {
            out.append("true");
            return expect_literal(m_text, pos, "true");
        }
        if (c == 'f') {
            out.append("false");
            return expect_literal(m_text, pos, "false");
        }
        if (c == 'n') {
            out.append("null");
            return expect_literal(m_text, pos, "null");
        }
        NumberToken n = read_number(m_text, pos);
        if (m_text.substr(pos, n.end - pos).find_first_of("eE") == std::string_view::npos) {
            bool zero = n.int_digits.find_first_not_of('0') == std::string_view::npos &&
                        n.frac_digits.find_first_not_of('0') == std::string_view::npos;
            std::size_t from = n.negative && zero ? pos + 1 : pos;
            out.append(m_text.substr(from, n.end - from));
        } else {
            append_numeric(out, n);
        }
        return n.end;
    }

private:
    struct Member {
        bool key_decoded = false;  // the key had escapes: its bytes are in m_keys, else in m_text
        std::size_t key_at = 0;
        std::size_t key_size = 0;
        std::size_t begin = 0;  // the member's printing (key, ": ", value) in the output
        std::size_t end = 0;
    };

    [[nodiscard]] std::string_view key(const Member& m) const {
        return m.key_decoded ? std::string_view(m_keys).substr(m.key_at, m.key_size)
                             : m_text.substr(m.key_at, m.key_size);
    }

    // A string token at pos, printed as jsonb prints it; with `member`, also where its decoded
    // bytes are. Returns the offset past it.
    std::size_t string(std::size_t pos, std::string& out, Member* member) {
        std::size_t start = pos + 1;
        std::size_t at = start;
        bool plain = true;
        while (at < m_text.size()) {
            auto c = static_cast<unsigned char>(m_text[at]);
            if (c == '"') {
                break;
            }
            if (c == '\\' || c < 0x20 || c >= 0x80) {
                plain = false;
                break;
            }
            ++at;
        }
        if (plain && at < m_text.size()) {
            // Printable ASCII without escapes: jsonb prints it as it is.
            out.append(m_text.substr(pos, at + 1 - pos));
            if (member != nullptr) {
                member->key_at = start;
                member->key_size = at - start;
            }
            return at + 1;
        }
        JsonTextIssues issues;
        std::size_t decoded_at = m_keys.size();
        std::size_t end = walk_string(m_text, pos, &m_keys, issues);
        append_jsonb_string(out, std::string_view(m_keys).substr(decoded_at));
        if (member != nullptr) {
            member->key_decoded = true;
            member->key_at = decoded_at;
            member->key_size = m_keys.size() - decoded_at;
        } else {
            m_keys.resize(decoded_at);
        }
        return end;
    }

    std::size_t object(std::size_t pos, std::string& out, std::size_t depth) {
        pos = skip_ws(m_text, pos + 1);
        out.push_back('{');
        if (pos < m_text.size() && m_text[pos] == '}') {
            out.push_back('}');
            return pos + 1;
        }
        const std::size_t base = m_members.size();
        const std::size_t keys_base = m_keys.size();
        const std::size_t start = out.size();
        while (true) {
            pos = skip_ws(m_text, pos);
            if (pos >= m_text.size() || m_text[pos] != '"') {
                fail("expected a string", pos);
            }
            if (m_members.size() > base) {
                out.append(", ");
            }
            Member member;
            member.begin = out.size();
            pos = skip_ws(m_text, string(pos, out, &member));
            if (pos >= m_text.size() || m_text[pos] != ':') {
                fail("expected ':'", pos);
            }
            out.append(": ");
            pos = value(pos + 1, out, depth + 1);
            member.end = out.size();
            m_members.push_back(member);
            pos = skip_ws(m_text, pos);
            if (pos < m_text.size() && m_text[pos] == ',') {
                ++pos;
                continue;
            }
            if (pos < m_text.size() && m_text[pos] == '}') {
                ++pos;
                break;
            }
            fail("expected ',' or '}'", pos);
        }
        auto before = [&](const Member& a, const Member& b) {
            std::string_view x = key(a);
            std::string_view y = key(b);
            return x.size() != y.size() ? x.size() < y.size() : x < y;
        };
        auto first = m_members.begin() + static_cast<std::ptrdiff_t>(base);
        bool ordered = true;
        for (auto it = first; it + 1 != m_members.end(); ++it) {
            if (!before(*it, *(it + 1))) {
                ordered = false;
                break;
            }
        }
        if (!ordered) {
            std::stable_sort(first, m_members.end(), before);
            m_reorder.assign(out, start, std::string::npos);
            out.resize(start);
            bool written = false;
            for (auto it = first; it != m_members.end(); ++it) {
                if (it + 1 != m_members.end() && key(*(it + 1)) == key(*it)) {
                    continue;  // of duplicate keys the last one wins
                }
                if (written) {
                    out.append(", ");
                }
                written = true;
                out.append(m_reorder, it->begin - start, it->end - it->begin);
            }
        }
        out.push_back('}');
        m_members.resize(base);
        m_keys.resize(keys_base);
        return pos;
    }

    std::string_view m_text;
    std::vector<Member> m_members;  // a stack: each open object owns the members from its base
    std::string m_keys;             // decoded keys that had escapes, a stack likewise
    std::string m_reorder;          // an object's printing while it is put in order
};

}  // namespace

std::size_t scan_json_value(std::string_view text, std::size_t pos, JsonTextIssues& issues) {
    // An explicit stack of open containers keeps deep nesting from exhausting the C++ stack.
    std::vector<char> stack;
    pos = skip_ws(text, pos);
    while (true) {
        if (pos >= text.size()) {
            fail("unexpected end", pos);
        }
        char c = text[pos];
        bool value_done = false;
        if (c == '{' || c == '[') {
            if (stack.size() >= k_max_depth) {
                fail("nesting too deep", pos);
            }
            stack.push_back(c);
            pos = skip_ws(text, pos + 1);
            if (pos < text.size() && text[pos] == (c == '{' ? '}' : ']')) {
                stack.pop_back();
                ++pos;
                value_done = true;
            } else if (c == '{') {
                pos = skip_ws(text, walk_string(text, pos, nullptr, issues));
                if (pos >= text.size() || text[pos] != ':') {
                    fail("expected ':'", pos);
                }
                pos = skip_ws(text, pos + 1);
                continue;
            } else {
                continue;
            }
        } else if (c == '"') {
            pos = walk_string(text, pos, nullptr, issues);
            value_done = true;
        } else if (c == 't') {
            pos = expect_literal(text, pos, "true");
            value_done = true;
        } else if (c == 'f') {
            pos = expect_literal(text, pos, "false");
            value_done = true;
        } else if (c == 'n') {
            pos = expect_literal(text, pos, "null");
            value_done = true;
        } else {
            pos = read_number(text, pos).end;
            value_done = true;
        }
        // After a value: close containers or move to the next element.
        while (value_done) {
            if (stack.empty()) {
                return pos;
            }
            pos = skip_ws(text, pos);
            if (pos >= text.size()) {
                fail("unexpected end", pos);
            }
            char close = stack.back() == '{' ? '}' : ']';
            if (text[pos] == close) {
                stack.pop_back();
                ++pos;
                continue;
            }
            if (text[pos] != ',') {
                fail(stack.back() == '{' ? "expected ',' or '}'" : "expected ',' or ']'", pos);
            }
            pos = skip_ws(text, pos + 1);
            if (stack.back() == '{') {
                pos = skip_ws(text, walk_string(text, pos, nullptr, issues));
                if (pos >= text.size() || text[pos] != ':') {
                    fail("expected ':'", pos);
                }
                pos = skip_ws(text, pos + 1);
            }
            value_done = false;
        }
    }
}

std::size_t decode_json_string(std::string_view text, std::size_t pos, std::string& out,
                               JsonTextIssues& issues) {
    return walk_string(text, pos, &out, issues);
}

void append_jsonb_text(std::string& out, std::string_view json) {
    thread_local Normalizer normalizer;
    normalizer.reset(json);
    std::size_t end = skip_ws(json, normalizer.value(0, out, 0));
    if (end != json.size()) {
        fail("trailing text after the value", end);
    }
}

std::string jsonb_text(std::string_view json) {
    std::string out;
    out.reserve(json.size() + json.size() / 8);
    append_jsonb_text(out, json);
    return out;
}

}  // namespace replay
