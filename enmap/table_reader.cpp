#include "enmap/table_reader.hpp"

#include "enmap/decode/sink.hpp"
#include "enmap/error.hpp"

namespace enmap {

std::pair<std::string, Encoding> parse_format_override(const std::string& argument) {
    auto equals = argument.rfind('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == argument.size()) {
        throw UsageError("--format " + argument + ": expected TABLE=ENCODING",
                         "for example --format points=better-serialize; the encodings are json, "
                         "serialize-javascript and better-serialize");
    }
    return {argument.substr(0, equals), parse_encoding(argument.substr(equals + 1))};
}

std::string TableStats::encoding_label() const {
    if (encodings.empty()) {
        return null_values > 0 ? "null" : "empty";
    }
    std::string label;
    if (encodings.size() == 1) {
        label = std::string(encoding_name(encodings.begin()->first));
    } else {
        label = "mixed (";
        bool first = true;
        for (const auto& [encoding, count] : encodings) {
            label += (first ? "" : ", ") + std::string(encoding_name(encoding)) + " " + std::to_string(count);
            first = false;
        }
        label += ")";
    }
    return forced ? label + ", forced by --format" : label;
}

void append_json_string(std::string& out, std::string_view text) {
    static constexpr char k_hex[] = "0123456789abcdef";
    out += '"';
    const char* p = text.data();
    const char* end = p + text.size();
    while (p < end) {
        // Runs of bytes that need no escape go in whole (keys rarely have any that do).
        const char* run = p;
        while (p < end && static_cast<unsigned char>(*p) >= 0x20 && *p != '"' && *p != '\\') {
            ++p;
        }
        out.append(run, static_cast<std::size_t>(p - run));
        if (p == end) {
            break;
        }
        const char c = *p++;
        auto byte = static_cast<unsigned char>(c);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
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
            default:  // the other bytes below 0x20
                out += "\\u00";
                out += k_hex[byte >> 4];
                out += k_hex[byte & 0xF];
        }
    }
    out += '"';
}

std::string display_key(std::string_view key) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    const auto* end = p + key.size();
    bool plain = true;
    for (const auto* q = p; q < end && plain;) {
        if (*q < 0x20 || *q == 0x7F || *q == '"') {
            plain = false;
        } else if (*q < 0x80) {
            ++q;
        } else {
            auto [length, valid] = decode::utf8_sequence(q, end);
            plain = valid;
            q += length;
        }
    }
    if (plain) {
        return std::string(key);
    }
    // JSON escapes, and \xNN for each byte that is not UTF-8 (JSON has no escape for it).
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string quoted = "\"";
    auto hex = [&](const char* prefix, unsigned char byte) {
        quoted += prefix;
        quoted += k_hex[byte >> 4];
        quoted += k_hex[byte & 0xF];
    };
    while (p < end) {
        const unsigned char c = *p;
        if (c >= 0x80) {
            auto [length, valid] = decode::utf8_sequence(p, end);
            if (valid) {
                quoted.append(reinterpret_cast<const char*>(p), length);
            } else {
                for (std::size_t i = 0; i < length; ++i) {
                    hex("\\x", p[i]);
                }
            }
            p += length;
            continue;
        }
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += static_cast<char>(c);
        } else if (c == '\n') {
            quoted += "\\n";
        } else if (c == '\t') {
            quoted += "\\t";
        } else if (c == '\r') {
            quoted += "\\r";
        } else if (c < 0x20 || c == 0x7F) {
            hex("\\u00", c);
        } else {
            quoted += static_cast<char>(c);
        }
        ++p;
    }
    quoted += '"';
    return quoted;
}

std::string display_key_short(std::string_view key, std::size_t max_bytes) {
    if (key.size() <= max_bytes) {
        return display_key(key);
    }
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(key[cut]) & 0xC0) == 0x80) {
        --cut;  // not inside a UTF-8 sequence
    }
    std::string shown = display_key(key.substr(0, cut));
    return shown + "... (" + std::to_string(key.size()) + " bytes in all)";
}

void ViolationLog::add(const std::string& table, std::string_view key,
                       const std::vector<Violation>& violations) {
    for (const auto& violation : violations) {
        ++m_total;
        (violation.kind == Violation::Kind::k_function ? m_functions : m_invalid_text) += 1;
        if (m_listed.size() < k_listed) {
            m_listed.push_back({table, std::string(key), violation});
        }
    }
}

void ViolationLog::throw_if_any() const {
    if (m_total == 0) {
        return;
    }
    std::string message = "the data policy refused " + std::to_string(m_total) + " value" +
                          (m_total == 1 ? "" : "s") + " (" + std::to_string(m_invalid_text) +
                          " invalid text, " + std::to_string(m_functions) + " function" +
                          (m_functions == 1 ? "" : "s") + "):";
    for (const auto& item : m_listed) {
        message += "\n  " + item.table + "/" + display_key(item.key) + " at " + item.violation.path + ": " +
                   item.violation.detail;
    }
    if (m_total > m_listed.size()) {
        message += "\n  ... and " + std::to_string(m_total - m_listed.size()) + " more";
    }
    std::string hint;
    if (m_invalid_text > 0) {
        hint = "use --invalid-text=replace to keep such text with U+FFFD in place of each bad code unit";
    }
    if (m_functions > 0) {
        hint += std::string(hint.empty() ? "" : "; ") +
                "use --functions=drop to omit functions, or --functions=source to keep their source text";
    }
    throw PolicyError(message, hint);
}

TableDecoder::TableDecoder(std::string source, std::string table, const ReadOptions& options,
                           ViolationLog& log)
    : m_source(std::move(source)), m_options(options), m_log(log) {
    m_stats.table = std::move(table);
    auto forced = m_options.formats.find(m_stats.table);
    if (forced != m_options.formats.end()) {
        m_forced = &forced->second;
        m_stats.forced = true;
    }
}

bool TableDecoder::decode(const RawRow& row, DecodedRow& out) {
    out.key.clear();
    out.value.clear();
    m_violations.clear();
    ++m_stats.rows;
    decode_key(row.key, m_options.decode, out.key, m_violations, m_stats.lossy);
    if (row.value_is_null) {
        out.value = "null";
        ++m_stats.null_values;
    } else {
        Encoding encoding = m_forced != nullptr ? *m_forced : Encoding::k_json;
        LossyCounts counts;
        std::size_t violations_before = m_violations.size();
        try {
            out.value.reserve(row.value.size() + 16);  // no doubling reallocation for a huge value
            if (m_forced != nullptr) {
                decode_value(row.value, encoding, m_options.decode, out.value, m_violations, counts);
            } else {
                encoding = decode_value_detect(row.value, m_options.decode, out.value, m_violations, counts);
                if (row.parsed_value && encoding == Encoding::k_better_serialize) {
                    // An export's parsed value is never 6.x text: an object that merely looks tagged.
                    out.value.clear();
                    m_violations.resize(violations_before);
                    counts = {};
                    encoding = Encoding::k_json;
                    decode_value(row.value, encoding, m_options.decode, out.value, m_violations, counts);
                }
            }
        } catch (const DecodeError& e) {
            if (m_forced == nullptr) {
                encoding = detect_encoding(row.value);  // names the generation the broken text looks like
            }
            throw InputError(
                m_source + ": table '" + m_stats.table + "', key '" + display_key(row.key) + "': malformed " +
                    std::string(encoding_name(encoding)) + " value: " + e.what() + " of the value",
                m_forced != nullptr ? "check the --format given for table " + m_stats.table
                                    : "the value is damaged; fix or delete it in a copy of the file, or "
                                      "force the table's encoding with --format " +
                                          m_stats.table + "=ENCODING");
        }
        out.encoding = encoding;
        m_stats.lossy += counts;
        ++m_stats.encodings[encoding];
    }
    if (!m_violations.empty()) {
        m_log.add(m_stats.table, row.key, m_violations);
        return false;
    }
    return true;
}

}  // namespace enmap
