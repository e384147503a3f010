#include "enmap/encode.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace enmap {

namespace {

using Type = JsValue::Type;

// ---- formatting, independent of the decoder's ---------------------------------------------------

/// Number#toString: shortest %.Ne that reads back equal, laid out by ECMA-262's rules.
std::string js_number_text(double v) {
    if (v == 0) {
        return "0";
    }
    if (std::fabs(v) < 1e15 && v == std::trunc(v)) {
        return std::to_string(static_cast<long long>(v));  // an integer prints as its digits
    }
    char buf[64];
    for (int precision = 0; precision <= 17; ++precision) {
        std::snprintf(buf, sizeof buf, "%.*e", precision, v);
        if (std::strtod(buf, nullptr) == v) {
            break;
        }
    }
    std::string text(buf);
    std::string sign;
    if (text[0] == '-') {
        sign = "-";
        text.erase(0, 1);
    }
    const std::size_t e = text.find('e');
    std::string digits;
    for (std::size_t i = 0; i < e; ++i) {
        if (text[i] != '.') {
            digits += text[i];
        }
    }
    while (digits.size() > 1 && digits.back() == '0') {
        digits.pop_back();
    }
    const int n = std::atoi(text.c_str() + e + 1) + 1;
    const int k = static_cast<int>(digits.size());
    std::string result = sign;
    if (k <= n && n <= 21) {
        result += digits + std::string(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        result +=
            digits.substr(0, static_cast<std::size_t>(n)) + "." + digits.substr(static_cast<std::size_t>(n));
    } else if (-6 < n && n <= 0) {
        result += "0." + std::string(static_cast<std::size_t>(-n), '0') + digits;
    } else {
        result += digits.substr(0, 1);
        if (k > 1) {
            result += "." + digits.substr(1);
        }
        result += (n - 1 < 0 ? "e-" : "e+") + std::to_string(std::abs(n - 1));
    }
    return result;
}

/// Date#toISOString through std::chrono's calendar.
std::string iso_text(double ms_value) {
    using namespace std::chrono;
    const auto ms = static_cast<std::int64_t>(ms_value);
    const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(ms)));
    const year_month_day ymd{day};
    const std::int64_t in_day = ms - duration_cast<milliseconds>(day.time_since_epoch()).count();
    const int y = static_cast<int>(ymd.year());
    char buf[48];
    if (y >= 0 && y <= 9999) {
        std::snprintf(buf, sizeof buf, "%04d", y);
    } else {
        std::snprintf(buf, sizeof buf, "%c%06d", y < 0 ? '-' : '+', std::abs(y));
    }
    std::string text = buf;
    std::snprintf(buf, sizeof buf, "-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<unsigned>(ymd.month()),
                  static_cast<unsigned>(ymd.day()), static_cast<int>(in_day / 3600000),
                  static_cast<int>(in_day / 60000 % 60), static_cast<int>(in_day / 1000 % 60),
                  static_cast<int>(in_day % 1000));
    return text + buf;
}

bool valid_date(double ms) {
    return std::isfinite(ms) && std::fabs(ms) <= 8.64e15;
}

void put_utf8(char32_t cp, std::string& out) {
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

std::string hex4(char16_t unit, bool upper = false) {
    char buf[8];
    std::snprintf(buf, sizeof buf, upper ? "\\u%04X" : "\\u%04x", static_cast<unsigned>(unit));
    return buf;
}

/// JSON.stringify of a string (well-formed: lone surrogates as \udxxx). With `unsafe_escape`,
/// serialize-javascript's escaping of < > / U+2028 U+2029 on top.
std::string quote(const std::u16string& s, bool unsafe_escape) {
    std::string out = "\"";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char16_t u = s[i];
        if (u == '"') {
            out += "\\\"";
        } else if (u == '\\') {
            out += "\\\\";
        } else if (u == '\b') {
            out += "\\b";
        } else if (u == '\f') {
            out += "\\f";
        } else if (u == '\n') {
            out += "\\n";
        } else if (u == '\r') {
            out += "\\r";
        } else if (u == '\t') {
            out += "\\t";
        } else if (unsafe_escape && (u == '<' || u == '>' || u == '/' || u == 0x2028 || u == 0x2029)) {
            out += hex4(u, true);
        } else if (u >= 0xD800 && u <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 &&
                   s[i + 1] <= 0xDFFF) {
            put_utf8(0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (s[i + 1] - 0xDC00), out);
            ++i;
        } else if (u < 0x20 || (u >= 0xD800 && u <= 0xDFFF)) {
            out += hex4(u);
        } else {
            put_utf8(u, out);
        }
    }
    return out + "\"";
}

std::string quote_ascii(const std::string& s, bool unsafe_escape) {
    return quote(utf16(s), unsafe_escape);
}

// ---- the three encoders --------------------------------------------------------------------------

void json_stringify_into(const JsValue& v, std::string& out) {
    switch (v.type) {
        case Type::k_null:
        case Type::k_undefined:
        case Type::k_function:
        case Type::k_hole:
            out += "null";
            return;
        case Type::k_bool:
            out += v.boolean ? "true" : "false";
            return;
        case Type::k_number:
            out += std::isfinite(v.number) ? js_number_text(v.number) : "null";
            return;
        case Type::k_string:
            out += quote(v.text, false);
            return;
        case Type::k_bigint:
            throw std::invalid_argument("JSON.stringify cannot serialize a BigInt");
        case Type::k_date:
            out += valid_date(v.number) ? "\"" + iso_text(v.number) + "\"" : "null";
            return;
        case Type::k_regexp:
        case Type::k_map:
        case Type::k_set:
            out += "{}";
            return;
        case Type::k_url:
            out += quote_ascii(v.ascii, false);
            return;
        case Type::k_array:
            out += '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                out += i == 0 ? "" : ",";
                json_stringify_into(v.items[i], out);
            }
            out += ']';
            return;
        case Type::k_object: {
            out += '{';
            bool first = true;
            for (const auto& [name, member] : v.members) {
                if (member.type == Type::k_undefined || member.type == Type::k_function) {
                    continue;
                }
                out += first ? "" : ",";
                first = false;
                out += quote(name, false) + ":";
                json_stringify_into(member, out);
            }
            out += '}';
            return;
        }
    }
}

void sj_into(const JsValue& v, std::string& out) {
    switch (v.type) {
        case Type::k_undefined:
            out += "undefined";
            return;
        case Type::k_null:
        case Type::k_hole:
            out += "null";
            return;
        case Type::k_bool:
            out += v.boolean ? "true" : "false";
            return;
        case Type::k_number:
            if (std::isnan(v.number)) {
                out += "null";
            } else if (std::isinf(v.number)) {
                out += v.number < 0 ? "-Infinity" : "Infinity";
            } else {
                out += js_number_text(v.number);
            }
            return;
        case Type::k_string:
            out += quote(v.text, true);
            return;
        case Type::k_bigint:
            out += "BigInt(\"" + v.ascii + "\")";
            return;
        case Type::k_date:
            out += valid_date(v.number) ? "new Date(\"" + iso_text(v.number) + "\")" : "null";
            return;
        case Type::k_regexp:
            out += "new RegExp(" + quote(v.text, true) + ", \"" + v.ascii + "\")";
            return;
        case Type::k_url:
            out += "new URL(" + quote_ascii(v.ascii, true) + ")";
            return;
        case Type::k_function:
            out += v.ascii;
            return;
        case Type::k_array: {
            bool sparse = false;
            for (const auto& item : v.items) {
                sparse = sparse || item.type == Type::k_hole;
            }
            if (sparse) {
                // serialize(Object.assign({length: n}, array)): index keys first (ascending), then length.
                out += "Array.prototype.slice.call({";
                for (std::size_t i = 0; i < v.items.size(); ++i) {
                    if (v.items[i].type == Type::k_hole) {
                        continue;
                    }
                    out += "\"" + std::to_string(i) + "\":";
                    sj_into(v.items[i], out);
                    out += ',';
                }
                out += "\"length\":" + std::to_string(v.items.size()) + "})";
                return;
            }
            out += '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                out += i == 0 ? "" : ",";
                sj_into(v.items[i], out);
            }
            out += ']';
            return;
        }
        case Type::k_set:
            out += "new Set([";
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                out += i == 0 ? "" : ",";
                sj_into(v.items[i], out);
            }
            out += "])";
            return;
        case Type::k_map:
            out += "new Map([";
            for (std::size_t i = 0; i < v.entries.size(); ++i) {
                out += i == 0 ? "[" : ",[";
                sj_into(v.entries[i].key, out);
                out += ',';
                sj_into(v.entries[i].value, out);
                out += ']';
            }
            out += "])";
            return;
        case Type::k_object: {
            out += '{';
            for (std::size_t i = 0; i < v.members.size(); ++i) {
                out += i == 0 ? "" : ",";
                out += quote(v.members[i].name, true) + ":";
                sj_into(v.members[i].value, out);
            }
            out += '}';
            return;
        }
    }
}

void bs_into(const JsValue& v, std::string& out) {
    switch (v.type) {
        case Type::k_undefined:
        case Type::k_hole:
            out += "{\"t\":7}";
            return;
        case Type::k_null:
            out += "{\"t\":5}";
            return;
        case Type::k_bool:
            out += v.boolean ? "{\"t\":3,\"v\":true}" : "{\"t\":3,\"v\":false}";
            return;
        case Type::k_number:
            out += "{\"t\":2,\"v\":";
            if (std::isnan(v.number)) {
                out += "\"NaN\"";
            } else if (std::isinf(v.number)) {
                out += v.number < 0 ? "\"-Infinity\"" : "\"Infinity\"";
            } else {
                out += js_number_text(v.number);
            }
            out += '}';
            return;
        case Type::k_string:
            out += "{\"t\":1,\"v\":" + quote(v.text, false) + "}";
            return;
        case Type::k_bigint:
            out += "{\"t\":8,\"v\":\"" + v.ascii + "\"}";
            return;
        case Type::k_date:
            out +=
                "{\"t\":6,\"v\":" + (valid_date(v.number) ? "\"" + iso_text(v.number) + "\"" : "null") + "}";
            return;
        case Type::k_regexp:
            out += "{\"t\":9,\"v\":{\"s\":" + quote(v.text, false) + ",\"f\":\"" + v.ascii + "\"}}";
            return;
        case Type::k_url:
            throw std::invalid_argument("better-serialize has no URL type");
        case Type::k_function:
            throw std::invalid_argument("better-serialize cannot serialize a function");
        case Type::k_array:
        case Type::k_set:
            out += v.type == Type::k_array ? "{\"t\":4,\"v\":[" : "{\"t\":11,\"v\":[";
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                out += i == 0 ? "" : ",";
                bs_into(v.items[i], out);
            }
            out += "]}";
            return;
        case Type::k_map:
            out += "{\"t\":10,\"v\":[";
            for (std::size_t i = 0; i < v.entries.size(); ++i) {
                out += i == 0 ? "[" : ",[";
                json_stringify_into(v.entries[i].key, out);  // the key is raw: plain JSON
                out += ',';
                bs_into(v.entries[i].value, out);
                out += ']';
            }
            out += "]}";
            return;
        case Type::k_object:
            out += "{\"t\":0,\"v\":{";
            for (std::size_t i = 0; i < v.members.size(); ++i) {
                out += i == 0 ? "" : ",";
                out += quote(v.members[i].name, false) + ":";
                bs_into(v.members[i].value, out);
            }
            out += "}}";
            return;
    }
}

// ---- stored views ----------------------------------------------------------------------------------

/// JSON.parse(JSON.stringify(v)) for a value inside a container (undefined stays undefined so the
/// container can omit it).
JsValue json_roundtrip(const JsValue& v) {
    switch (v.type) {
        case Type::k_undefined:
        case Type::k_function:
            return JsValue::undefined();
        case Type::k_hole:
            return JsValue::null();
        case Type::k_number:
            if (!std::isfinite(v.number)) {
                return JsValue::null();
            }
            return JsValue::num(v.number == 0 ? 0.0 : v.number);
        case Type::k_bigint:
            throw std::invalid_argument("JSON.stringify cannot serialize a BigInt");
        case Type::k_date:
            return valid_date(v.number) ? JsValue::str(iso_text(v.number)) : JsValue::null();
        case Type::k_regexp:
        case Type::k_map:
        case Type::k_set:
            return JsValue::object({});
        case Type::k_url:
            return JsValue::str(v.ascii);
        case Type::k_array: {
            std::vector<JsValue> items;
            for (const auto& item : v.items) {
                JsValue converted = json_roundtrip(item);
                items.push_back(converted.type == Type::k_undefined ? JsValue::null() : converted);
            }
            return JsValue::array(std::move(items));
        }
        case Type::k_object: {
            std::vector<JsValue::Member> members;
            for (const auto& [name, member] : v.members) {
                JsValue converted = json_roundtrip(member);
                if (converted.type != Type::k_undefined) {
                    members.push_back({name, std::move(converted)});
                }
            }
            return JsValue::object(std::move(members));
        }
        default:
            return v;
    }
}

JsValue sj_view(const JsValue& v) {
    JsValue r = v;
    switch (v.type) {
        case Type::k_number:
            if (std::isnan(v.number)) {
                return JsValue::null();
            }
            r.number = v.number == 0 ? 0.0 : v.number;
            return r;
        case Type::k_date:
            return valid_date(v.number) ? v : JsValue::null();
        default:
            break;
    }
    for (auto& item : r.items) {
        item = sj_view(item);
    }
    for (auto& member : r.members) {
        member.value = sj_view(member.value);
    }
    for (auto& entry : r.entries) {
        entry.key = sj_view(entry.key);
        entry.value = sj_view(entry.value);
    }
    return r;
}

JsValue bs_view(const JsValue& v) {
    JsValue r = v;
    if (v.type == Type::k_hole) {
        return JsValue::undefined();
    }
    if (v.type == Type::k_number && v.number == 0) {
        r.number = 0.0;
        return r;
    }
    for (auto& item : r.items) {
        item = bs_view(item);
    }
    for (auto& member : r.members) {
        member.value = bs_view(member.value);
    }
    for (auto& entry : r.entries) {
        const JsValue key = json_roundtrip(entry.key);
        entry.key = key.type == Type::k_undefined ? JsValue::null() : key;
        entry.value = bs_view(entry.value);
    }
    return r;
}

// ---- the canonical writer ----------------------------------------------------------------------------

class Canonical {
public:
    Canonical(const DecodeOptions& options, Expected& expected) : m_options(options), m_expected(expected) {}

    /// Writes v; false when it is nothing (undefined, or a function that is not kept).
    bool write(const JsValue& v, std::string& out) {
        switch (v.type) {
            case Type::k_undefined:
                return false;
            case Type::k_hole:
                out += "null";
                ++m_expected.counts.sparse_holes;
                return true;
            case Type::k_null:
                out += "null";
                return true;
            case Type::k_bool:
                out += v.boolean ? "true" : "false";
                return true;
            case Type::k_number:
                if (!std::isfinite(v.number)) {
                    out += "null";
                    ++m_expected.counts.non_finite;
                } else {
                    if (v.number == 0 && std::signbit(v.number)) {
                        ++m_expected.counts.negative_zero;
                    }
                    out += js_number_text(v.number);
                }
                return true;
            case Type::k_string:
                out += string_text(v.text);
                return true;
            case Type::k_bigint:
                out += "\"" + v.ascii + "\"";
                return true;
            case Type::k_date:
                if (valid_date(v.number)) {
                    out += "\"" + iso_text(v.number) + "\"";
                } else {
                    out += "null";
                    ++m_expected.counts.invalid_dates;
                }
                return true;
            case Type::k_regexp: {
                std::string source = string_text(v.text);
                out += "\"/" + source.substr(1, source.size() - 2) + "/" + v.ascii + "\"";
                return true;
            }
            case Type::k_url:
                out += string_text(utf16(v.ascii));
                return true;
            case Type::k_function:
                switch (m_options.functions) {
                    case FunctionPolicy::k_error:
                        m_expected.violation_paths.push_back(path());
                        return false;
                    case FunctionPolicy::k_drop:
                        ++m_expected.counts.functions_dropped;
                        return false;
                    case FunctionPolicy::k_source:
                        ++m_expected.counts.functions_kept;
                        out += string_text(utf16(v.ascii));
                        return true;
                }
                return false;
            case Type::k_array:
            case Type::k_set:
                out += '[';
                for (std::size_t i = 0; i < v.items.size(); ++i) {
                    out += i == 0 ? "" : ",";
                    m_path.push_back("[" + std::to_string(i) + "]");
                    element(v.items[i], out);
                    m_path.pop_back();
                }
                out += ']';
                return true;
            case Type::k_object: {
                out += '{';
                bool first = true;
                for (const auto& [name, member] : v.members) {
                    m_path.push_back(path_key(member_name_for_path(name)));
                    std::string text = (first ? "" : ",") + string_text(name) + ":";
                    if (write(member, text)) {
                        out += text;
                        first = false;
                    } else if (member.type == Type::k_undefined) {
                        ++m_expected.counts.undefined_dropped;
                    }
                    m_path.pop_back();
                }
                out += '}';
                return true;
            }
            case Type::k_map:
                write_map(v, out);
                return true;
        }
        return false;
    }

    void element(const JsValue& v, std::string& out) {
        if (!write(v, out)) {
            out += "null";
            if (v.type == Type::k_undefined) {
                ++m_expected.counts.undefined_dropped;
            }
        }
    }

    [[nodiscard]] std::string path() const {
        std::string p = "$";
        for (const auto& segment : m_path) {
            p += segment;
        }
        return p;
    }

private:
    void write_map(const JsValue& v, std::string& out) {
        struct Written {
            std::string key, value, form;
            bool allowed, omitted;
        };
        std::vector<Written> written;
        for (std::size_t i = 0; i < v.entries.size(); ++i) {
            const auto& [key, value] = v.entries[i];
            Written w;
            m_path.push_back("[" + std::to_string(i) + "]");
            element(key, w.key);
            m_path.pop_back();
            w.allowed = key.type == Type::k_string || key.type == Type::k_bigint ||
                        (key.type == Type::k_number && std::isfinite(key.number));
            if (key.type == Type::k_number && w.allowed) {
                w.form = w.key;
            } else if (w.allowed) {
                w.form = w.key.substr(1, w.key.size() - 2);
            }
            m_path.push_back(w.allowed
                                 ? path_key(key.type == Type::k_string ? canonical_name(key.text) : w.form)
                                 : "[" + std::to_string(i) + "]");
            w.omitted = !write(value, w.value);
            if (w.omitted && value.type == Type::k_undefined) {
                ++m_expected.counts.undefined_dropped;
            }
            m_path.pop_back();
            written.push_back(std::move(w));
        }
        bool as_object = true;
        for (std::size_t i = 0; i < written.size(); ++i) {
            as_object = as_object && written[i].allowed;
            for (std::size_t j = 0; j < i && as_object; ++j) {
                as_object = written[j].form != written[i].form;
            }
        }
        if (as_object) {
            out += '{';
            bool first = true;
            for (const auto& w : written) {
                if (!w.omitted) {
                    out += (first ? "\"" : ",\"") + w.form + "\":" + w.value;
                    first = false;
                }
            }
            out += '}';
            return;
        }
        out += '[';
        for (std::size_t i = 0; i < written.size(); ++i) {
            out += (i == 0 ? "[" : ",[") + written[i].key + "," +
                   (written[i].omitted ? "null" : written[i].value) + "]";
        }
        out += ']';
    }

    /// The canonical JSON string of a UTF-16 string, applying the text policy.
    std::string string_text(const std::u16string& s) {
        std::string out = "\"";
        for (std::size_t i = 0; i < s.size(); ++i) {
            const char16_t u = s[i];
            if (u == 0 || (u >= 0xDC00 && u <= 0xDFFF) ||
                (u >= 0xD800 && u <= 0xDBFF &&
                 !(i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF))) {
                out += "\xEF\xBF\xBD";
                if (m_options.invalid_text == InvalidTextPolicy::k_replace) {
                    ++m_expected.counts.text_replaced;
                } else {
                    m_expected.violation_paths.push_back(path());
                }
            } else if (u >= 0xD800 && u <= 0xDBFF) {
                put_utf8(0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (s[i + 1] - 0xDC00), out);
                ++i;
            } else if (u == '"' || u == '\\') {
                out += '\\';
                out += static_cast<char>(u);
            } else if (u == '\b' || u == '\f' || u == '\n' || u == '\r' || u == '\t') {
                out += '\\';
                out += u == '\b' ? 'b' : u == '\f' ? 'f' : u == '\n' ? 'n' : u == '\r' ? 'r' : 't';
            } else if (u < 0x20) {
                out += hex4(u);
            } else {
                put_utf8(u, out);
            }
        }
        return out + "\"";
    }

    /// A member name as the decoder shows it in a path: escapes it cannot turn into text stay as written.
    static std::string member_name_for_path(const std::u16string& s) {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const char16_t u = s[i];
            if (u >= 0xD800 && u <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
                put_utf8(0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (s[i + 1] - 0xDC00), out);
                ++i;
            } else if (u == 0 || (u >= 0xD800 && u <= 0xDFFF)) {
                out += hex4(u);
            } else {
                put_utf8(u, out);
            }
        }
        return out;
    }

    /// A string key's name after the text policy (U+FFFD for what cannot be text).
    static std::string canonical_name(const std::u16string& s) {
        std::string out;
        for (std::size_t i = 0; i < s.size(); ++i) {
            const char16_t u = s[i];
            if (u >= 0xD800 && u <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
                put_utf8(0x10000 + ((static_cast<char32_t>(u) - 0xD800) << 10) + (s[i + 1] - 0xDC00), out);
                ++i;
            } else if (u == 0 || (u >= 0xD800 && u <= 0xDFFF)) {
                out += "\xEF\xBF\xBD";
            } else {
                put_utf8(u, out);
            }
        }
        return out;
    }

    static std::string path_key(const std::string& name) {
        bool identifier = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
        for (char c : name) {
            identifier = identifier && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                        (c >= '0' && c <= '9') || c == '_' || c == '$');
        }
        if (identifier) {
            return "." + name;
        }
        std::string out = "[\"";
        for (char c : name) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                switch (c) {
                    case '\b':
                        out += "\\b";
                        break;
                    case '\f':
                        out += "\\f";
                        break;
                    case '\n':
                        out += "\\n";
                        break;
                    case '\r':
                        out += "\\r";
                        break;
                    case '\t':
                        out += "\\t";
                        break;
                    default:
                        out += hex4(static_cast<char16_t>(c));
                }
            } else {
                out += c;
            }
        }
        return out + "\"]";
    }

    const DecodeOptions& m_options;
    Expected& m_expected;
    std::vector<std::string> m_path;
};

}  // namespace

JsValue JsValue::undefined() {
    return {};
}

JsValue JsValue::null() {
    JsValue v;
    v.type = Type::k_null;
    return v;
}

JsValue JsValue::boolean_value(bool value) {
    JsValue v;
    v.type = Type::k_bool;
    v.boolean = value;
    return v;
}

JsValue JsValue::num(double value) {
    JsValue v;
    v.type = Type::k_number;
    v.number = value;
    return v;
}

JsValue JsValue::str(std::u16string value) {
    JsValue v;
    v.type = Type::k_string;
    v.text = std::move(value);
    return v;
}

JsValue JsValue::str(const std::string& utf8) {
    return str(utf16(utf8));
}

JsValue JsValue::bigint(std::string digits) {
    JsValue v;
    v.type = Type::k_bigint;
    v.ascii = std::move(digits);
    return v;
}

JsValue JsValue::date(double ms) {
    JsValue v;
    v.type = Type::k_date;
    v.number = ms;
    return v;
}

JsValue JsValue::regexp(std::u16string source, std::string flags) {
    JsValue v;
    v.type = Type::k_regexp;
    v.text = std::move(source);
    v.ascii = std::move(flags);
    return v;
}

JsValue JsValue::url(std::string href) {
    JsValue v;
    v.type = Type::k_url;
    v.ascii = std::move(href);
    return v;
}

JsValue JsValue::array(std::vector<JsValue> items) {
    JsValue v;
    v.type = Type::k_array;
    v.items = std::move(items);
    return v;
}

JsValue JsValue::hole() {
    JsValue v;
    v.type = Type::k_hole;
    return v;
}

JsValue JsValue::object(std::vector<Member> members) {
    JsValue v;
    v.type = Type::k_object;
    v.members = std::move(members);
    return v;
}

JsValue JsValue::map(std::vector<Entry> entries) {
    JsValue v;
    v.type = Type::k_map;
    v.entries = std::move(entries);
    return v;
}

JsValue JsValue::set(std::vector<JsValue> items) {
    JsValue v;
    v.type = Type::k_set;
    v.items = std::move(items);
    return v;
}

JsValue JsValue::function(std::string source) {
    JsValue v;
    v.type = Type::k_function;
    v.ascii = std::move(source);
    return v;
}

std::u16string utf16(const std::string& utf8) {
    std::u16string out;
    for (std::size_t i = 0; i < utf8.size();) {
        const auto c = static_cast<unsigned char>(utf8[i]);
        char32_t cp = 0;
        std::size_t length = 1;
        if (c < 0x80) {
            cp = c;
        } else if (c < 0xE0) {
            cp = c & 0x1F;
            length = 2;
        } else if (c < 0xF0) {
            cp = c & 0x0F;
            length = 3;
        } else {
            cp = c & 0x07;
            length = 4;
        }
        for (std::size_t j = 1; j < length && i + j < utf8.size(); ++j) {
            cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + j]) & 0x3F);
        }
        if (cp >= 0x10000) {
            out += static_cast<char16_t>(0xD800 + ((cp - 0x10000) >> 10));
            out += static_cast<char16_t>(0xDC00 + ((cp - 0x10000) & 0x3FF));
        } else {
            out += static_cast<char16_t>(cp);
        }
        i += length;
    }
    return out;
}

std::optional<std::string> encode(const JsValue& value, Encoding encoding) {
    std::string out;
    switch (encoding) {
        case Encoding::k_json:
            if (value.type == Type::k_undefined || value.type == Type::k_function) {
                return std::nullopt;
            }
            json_stringify_into(value, out);
            break;
        case Encoding::k_serialize_javascript:
            sj_into(value, out);
            break;
        case Encoding::k_better_serialize:
            bs_into(value, out);
            break;
    }
    return out;
}

JsValue stored_view(const JsValue& value, Encoding encoding) {
    switch (encoding) {
        case Encoding::k_json: {
            JsValue converted = json_roundtrip(value);
            return converted;
        }
        case Encoding::k_serialize_javascript:
            return sj_view(value);
        case Encoding::k_better_serialize:
            return bs_view(value);
    }
    return value;
}

Expected expected_canonical(const JsValue& value, const DecodeOptions& options) {
    Expected expected;
    Canonical canonical(options, expected);
    if (!canonical.write(value, expected.json)) {
        expected.json = "null";
        if (value.type == Type::k_undefined) {
            ++expected.counts.undefined_dropped;
        }
    }
    return expected;
}

}  // namespace enmap
