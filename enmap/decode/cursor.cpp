#include <string>
#include <vector>

#include "enmap/decode/parser.hpp"
#include "enmap/utf8.hpp"

namespace enmap::decode {

namespace {

std::string unescape_for_path(std::string_view escaped) {
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

void append_path_key(const std::string& name, std::string& path) {
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

}  // namespace

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

std::string path_text(const PathStack& segments, const char* out, const char* end) {
    std::string path = "$";
    for (const auto& segment : segments) {
        switch (segment.kind) {
            case PathSegment::Kind::k_index:
                path += '[';
                path += std::to_string(segment.a);
                path += ']';
                break;
            case PathSegment::Kind::k_raw_key: {
                // Find the key's closing quote (the key may not be parsed to its end yet).
                const char* e = segment.raw;
                while (e < end && *e != '"') {
                    e += (*e == '\\' && e + 1 < end) ? 2 : 1;
                }
                append_path_key(unescape_for_path(std::string_view(
                                    segment.raw, static_cast<std::size_t>(std::min(e, end) - segment.raw))),
                                path);
                break;
            }
            case PathSegment::Kind::k_out_key: {
                std::string_view key(out + segment.a, segment.b - segment.a);
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

std::string hex_unit(std::uint32_t unit) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string s = "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        s += k_hex[(unit >> shift) & 0xF];
    }
    return s;
}

}  // namespace enmap::decode
