#include "replay/jsonl_source.hpp"

#include <cstdio>
#include <cstring>
#include <memory>

#include "enmap/error.hpp"
#include "replay/digest.hpp"
#include "replay/json_text.hpp"

namespace replay {

namespace {

constexpr std::string_view k_autonum_name = "internal::autonum";

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

// Reads lines from a byte offset with a large buffer; a line is returned without its newline.
class LineReader {
public:
    LineReader(const std::filesystem::path& path, std::uint64_t offset)
        : m_file(std::fopen(path.c_str(), "rb")) {
        if (!m_file) {
            throw enmap::InputError("cannot open " + path.string() + " for reading",
                                    "check that the file exists and is readable");
        }
        if (std::fseek(m_file.get(), static_cast<long>(offset), SEEK_SET) != 0) {
            throw enmap::InputError("cannot seek in " + path.string());
        }
        m_offset = offset;
        m_buffer.resize(1 << 20);
    }
    // Sets line and its start offset; false at the end of the file.
    bool next(std::string_view& line, std::uint64_t& line_offset) {
        while (true) {
            auto nl = std::string_view(m_buffer.data() + m_pos, m_len - m_pos).find('\n');
            if (nl != std::string_view::npos) {
                line = std::string_view(m_buffer.data() + m_pos, nl);
                line_offset = m_offset;
                m_pos += nl + 1;
                m_offset += nl + 1;
                return true;
            }
            if (m_eof) {
                if (m_pos == m_len) {
                    return false;
                }
                line = std::string_view(m_buffer.data() + m_pos, m_len - m_pos);
                line_offset = m_offset;
                m_offset += m_len - m_pos;
                m_pos = m_len;
                return true;
            }
            // Move the partial line to the front, grow when one line fills the buffer, read more.
            std::size_t rest = m_len - m_pos;
            std::memmove(m_buffer.data(), m_buffer.data() + m_pos, rest);
            m_pos = 0;
            m_len = rest;
            if (m_len == m_buffer.size()) {
                m_buffer.resize(m_buffer.size() * 2);
            }
            std::size_t got = std::fread(m_buffer.data() + m_len, 1, m_buffer.size() - m_len, m_file.get());
            m_len += got;
            if (got == 0) {
                m_eof = true;
            }
        }
    }
    // The bytes read so far, for a whole-file digest.
    [[nodiscard]] std::uint64_t offset() const { return m_offset; }

private:
    std::unique_ptr<std::FILE, FileCloser> m_file;
    std::vector<char> m_buffer;
    std::size_t m_pos = 0;
    std::size_t m_len = 0;
    std::uint64_t m_offset = 0;
    bool m_eof = false;
};

struct Line {
    std::string table;
    std::string key;
    std::string_view value;
    bool invalid_text = false;
    bool has_function = false;
    JsonTextIssues key_issues;
    JsonTextIssues value_issues;
    bool value_last = false;  // "value" came after "table" and "key" and ended the object
};

std::size_t skip_ws(std::string_view t, std::size_t p) {
    while (p < t.size() && (t[p] == ' ' || t[p] == '\t' || t[p] == '\r' || t[p] == '\n')) {
        ++p;
    }
    return p;
}

// Parses one dump line; throws enmap::InputError (without the location; the caller adds it).
// With `trust_tail` (the line passed preflight with value_last), the value is taken as the rest of
// the object without scanning it again.
Line parse_line(std::string_view text, bool trust_tail = false) {
    Line line;
    bool has_table = false;
    bool has_key = false;
    bool has_value = false;
    std::size_t p = skip_ws(text, 0);
    if (p >= text.size() || text[p] != '{') {
        throw enmap::InputError("expected a JSON object {\"table\", \"key\", \"value\"}");
    }
    p = skip_ws(text, p + 1);
    JsonTextIssues ignored;
    while (p < text.size() && text[p] != '}') {
        std::string name;
        p = skip_ws(text, decode_json_string(text, p, name, ignored));
        if (p >= text.size() || text[p] != ':') {
            throw enmap::InputError("expected ':' after \"" + name + "\" at byte " + std::to_string(p));
        }
        p = skip_ws(text, p + 1);
        if (name == "table") {
            p = decode_json_string(text, p, line.table, ignored);
            has_table = true;
        } else if (name == "key") {
            p = decode_json_string(text, p, line.key, line.key_issues);
            has_key = true;
        } else if (name == "value") {
            if (trust_tail && has_table && has_key) {
                std::size_t close = text.find_last_of('}');
                std::size_t end = close;
                while (end > p && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) {
                    --end;
                }
                line.value = text.substr(p, end - p);
                line.value_last = true;
                return line;
            }
            std::size_t end = scan_json_value(text, p, line.value_issues);
            line.value_last =
                has_table && has_key && skip_ws(text, end) < text.size() && text[skip_ws(text, end)] == '}';
            line.value = text.substr(p, end - p);
            p = end;
            has_value = true;
        } else {
            std::size_t end = scan_json_value(text, p, ignored);
            bool is_true = text.substr(p, end - p) == "true";
            if (name == "invalid_text") {
                line.invalid_text = is_true;
            } else if (name == "has_function") {
                line.has_function = is_true;
            }
            p = end;
        }
        p = skip_ws(text, p);
        if (p < text.size() && text[p] == ',') {
            p = skip_ws(text, p + 1);
        } else if (p >= text.size() || text[p] != '}') {
            throw enmap::InputError("expected ',' or '}' at byte " + std::to_string(p));
        }
    }
    if (p >= text.size()) {
        throw enmap::InputError("unterminated object");
    }
    if (skip_ws(text, p + 1) != text.size()) {
        throw enmap::InputError("text after the object at byte " + std::to_string(p + 1));
    }
    if (!has_table || !has_key || !has_value) {
        throw enmap::InputError("a line needs \"table\", \"key\" and \"value\"");
    }
    return line;
}

bool blank(std::string_view line) {
    return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

}  // namespace

JsonlSource::JsonlSource(std::filesystem::path path) : m_path(std::move(path)) {}

void JsonlSource::prepare(const enmap::DecodeOptions& options) {
    m_options = options;
    m_tables.clear();
    m_autonum.clear();
    m_violations.clear();
    m_segments.clear();
    std::map<std::string, std::size_t> index;
    std::vector<std::unique_ptr<Digest>> digests;
    LineReader reader(m_path, 0);
    std::string_view text;
    std::uint64_t offset = 0;
    std::uint64_t line_no = 0;
    std::string current;
    while (reader.next(text, offset)) {
        ++line_no;
        if (blank(text)) {
            continue;
        }
        Line line;
        try {
            line = parse_line(text);
        } catch (const enmap::InputError& e) {
            throw enmap::InputError(
                m_path.string() + ":" + std::to_string(line_no) + ": " + e.what(),
                "the file must hold `enmap-migrate dump` output: one JSON object per line");
        }
        if (line.table == k_autonum_name) {
            std::string_view v = line.value;
            std::int64_t n = 0;
            bool ok = !v.empty();
            for (std::size_t i = (v.starts_with('-') ? 1 : 0); i < v.size() && ok; ++i) {
                ok = v[i] >= '0' && v[i] <= '9';
                n = n * 10 + (v[i] - '0');
            }
            if (!ok) {
                throw enmap::InputError(m_path.string() + ":" + std::to_string(line_no) + ": autonum of '" +
                                        line.key + "' must be an integer, not " + std::string(v));
            }
            m_autonum.push_back({line.key, v.starts_with('-') ? -n : n});
            continue;
        }
        auto [it, inserted] = index.emplace(line.table, m_tables.size());
        if (inserted) {
            SourceTable t;
            t.enmap_name = line.table;
            t.encoding = "canonical-json";
            m_tables.push_back(std::move(t));
            digests.push_back(std::make_unique<Digest>("sha256"));
        }
        auto& segments = m_segments[line.table];
        if (current != line.table || segments.empty()) {
            segments.push_back({offset, offset, line_no});
            current = line.table;
        }
        segments.back().end = offset + text.size() + 1;
        segments.back().simple = segments.back().simple && line.value_last && !line.value_issues.nul &&
                                 !line.value_issues.unpaired_surrogate;
        SourceTable& table = m_tables[it->second];
        ++table.rows;
        note_key_size(table, line.key);
        bool replace = options.invalid_text == enmap::InvalidTextPolicy::k_replace;
        auto text_violation = [&](std::string path, std::string detail) {
            if (replace) {
                ++table.lossy.text_replaced;
            } else {
                m_violations.push_back(
                    {line.table,
                     line.key,
                     {enmap::Violation::Kind::k_invalid_text, std::move(path), std::move(detail)}});
            }
        };
        if (line.key_issues.nul || line.key_issues.unpaired_surrogate) {
            text_violation("key", "NUL or unpaired surrogate in the key");
        }
        if (line.value_issues.nul || line.value_issues.unpaired_surrogate) {
            text_violation(
                "$", line.value_issues.nul ? "NUL (\\u0000) in a string" : "unpaired surrogate in a string");
        } else if (line.invalid_text) {
            text_violation("$",
                           "invalid text (marked \"invalid_text\" by the dump, already shown as U+FFFD)");
        }
        if (line.has_function) {
            if (options.functions == enmap::FunctionPolicy::k_error) {
                m_violations.push_back({line.table,
                                        line.key,
                                        {enmap::Violation::Kind::k_function, "$",
                                         "a JavaScript function (marked \"has_function\" by the dump)"}});
            } else if (options.functions == enmap::FunctionPolicy::k_drop) {
                ++table.lossy.functions_dropped;
            } else {
                ++table.lossy.functions_kept;
            }
        }
        Digest& d = *digests[it->second];
        d.update(line.key);
        d.update(std::string_view("\0", 1));
        d.update(line.value);
        d.update("\n");
    }
    for (std::size_t i = 0; i < m_tables.size(); ++i) {
        m_tables[i].digest = digests[i]->hex_final();
    }
    // The id names the content, not the file's bytes: the same rows give the same id.
    Digest content("sha256");
    for (const auto& t : m_tables) {
        content.update(t.enmap_name + "\t" + t.digest + "\n");
    }
    for (const auto& a : m_autonum) {
        content.update("internal::autonum\t" + a.enmap + "\t" + std::to_string(a.lastnum) + "\n");
    }
    m_id = "jsonl:" + content.hex_final();
    m_prepared = true;
}

void JsonlSource::for_each_row(const std::string& enmap_name, const RowCallback& callback) {
    if (!m_prepared) {
        prepare(m_options);
    }
    auto it = m_segments.find(enmap_name);
    if (it == m_segments.end()) {
        return;
    }
    std::string value_buffer;
    for (const auto& segment : it->second) {
        LineReader reader(m_path, segment.begin);
        std::string_view text;
        std::uint64_t offset = 0;
        std::uint64_t line_no = segment.first_line - 1;
        while (offset < segment.end && reader.next(text, offset) && offset < segment.end) {
            ++line_no;
            if (blank(text)) {
                continue;
            }
            Line line;
            try {
                line = parse_line(text, segment.simple);
            } catch (const enmap::InputError& e) {
                throw enmap::InputError(m_path.string() + ":" + std::to_string(line_no) + ": " + e.what() +
                                        " (the file changed since preflight?)");
            }
            if (line.table != enmap_name) {
                continue;
            }
            if (line.value_issues.nul || line.value_issues.unpaired_surrogate) {
                // Only reached under --invalid-text=replace: jsonb_text writes U+FFFD for them.
                value_buffer = jsonb_text(line.value);
                callback(line.key, value_buffer);
            } else {
                callback(line.key, line.value);
            }
        }
    }
}

}  // namespace replay
