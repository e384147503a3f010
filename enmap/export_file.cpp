#include "enmap/export_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "enmap/decode.hpp"
#include "enmap/error.hpp"
#include "enmap/table_reader.hpp"
#include "enmap/utf8.hpp"

namespace fs = std::filesystem;

namespace enmap {

namespace {

constexpr const char* k_export_hint =
    "an export is the JSON file that enmap.export() wrote, one per enmap; for enmap.sqlite use --db";

// A cursor over JSON text for the outline of an export file; values are skipped or sliced.
class Parser {
public:
    Parser(const std::string& text, const fs::path& path) : m_text(text), m_path(path) {}

    [[nodiscard]] std::size_t pos() const { return m_pos; }
    void set_pos(std::size_t pos) { m_pos = pos; }

    [[noreturn]] void fail(const std::string& expected) const {
        throw InputError(m_path.string() + ": not an Enmap export: expected " + expected + " at byte " +
                             std::to_string(m_pos),
                         k_export_hint);
    }

    void skip_ws() {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\n' ||
                                         m_text[m_pos] == '\r' || m_text[m_pos] == '\t')) {
            ++m_pos;
        }
    }

    [[nodiscard]] char peek() {
        skip_ws();
        return m_pos < m_text.size() ? m_text[m_pos] : '\0';
    }

    void expect(char c) {
        if (peek() != c) {
            fail(std::string("'") + c + "'");
        }
        ++m_pos;
    }

    // True and consumed when the next character is `c`.
    bool accept(char c) {
        if (peek() == c) {
            ++m_pos;
            return true;
        }
        return false;
    }

    // A JSON string literal, unescaped; an unpaired surrogate escape becomes its 3-byte (WTF-8) form,
    // which the key decoder then treats as invalid text.
    std::string string() {
        if (peek() != '"') {
            fail("a string");
        }
        ++m_pos;
        std::string out;
        while (true) {
            if (m_pos >= m_text.size()) {
                fail("the end of a string");
            }
            char c = m_text[m_pos++];
            if (c == '"') {
                return out;
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (m_pos >= m_text.size()) {
                fail("an escape");
            }
            char e = m_text[m_pos++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    out += e;
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    std::uint32_t unit = hex4();
                    if (unit >= 0xD800 && unit <= 0xDBFF && m_pos + 1 < m_text.size() &&
                        m_text[m_pos] == '\\' && m_text[m_pos + 1] == 'u') {
                        std::size_t save = m_pos;
                        m_pos += 2;
                        std::uint32_t low = hex4();
                        if (low >= 0xDC00 && low <= 0xDFFF) {
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                        } else {
                            m_pos = save;
                        }
                    }
                    append_utf8(unit, out);
                    break;
                }
                default:
                    --m_pos;
                    fail("a valid escape");
            }
        }
    }

    // The text of a JSON number or literal (true/false/null).
    std::string scalar() {
        skip_ws();
        std::size_t start = m_pos;
        while (m_pos < m_text.size() && std::strchr(",]}: \t\r\n", m_text[m_pos]) == nullptr) {
            ++m_pos;
        }
        if (start == m_pos) {
            fail("a value");
        }
        return m_text.substr(start, m_pos - start);
    }

    // Skips one strict JSON value without recursion.
    void skip_json() {
        std::size_t depth = 0;
        do {
            char c = peek();
            if (c == '{' || c == '[') {
                ++depth;
                ++m_pos;
                if (accept(c == '{' ? '}' : ']')) {
                    --depth;
                } else {
                    if (c == '{') {
                        string();
                        expect(':');
                    }
                    continue;
                }
            } else if (c == '"') {
                string();
            } else {
                scalar();
            }
            // After a value: close containers, or go on to the next member or element.
            while (depth > 0) {
                if (accept(',')) {
                    if (peek() == '"') {
                        std::size_t save = m_pos;
                        string();
                        if (!accept(':')) {
                            m_pos = save;  // an array element that is a string
                        }
                    }
                    break;
                }
                if (accept('}') || accept(']')) {
                    --depth;
                    continue;
                }
                fail("',' or the end of a container");
            }
        } while (depth > 0);
    }

    // Calls on_member(name) for each member of an object; on_member must consume the value.
    template <typename F>
    void members(F&& on_member) {
        expect('{');
        if (accept('}')) {
            return;
        }
        do {
            std::string name = string();
            expect(':');
            on_member(name);
        } while (accept(','));
        expect('}');
    }

private:
    std::uint32_t hex4() {
        if (m_pos + 4 > m_text.size()) {
            fail("four hex digits");
        }
        std::uint32_t value = 0;
        for (int i = 0; i < 4; ++i) {
            char c = m_text[m_pos++];
            value <<= 4;
            if (c >= '0' && c <= '9') {
                value |= static_cast<std::uint32_t>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                value |= static_cast<std::uint32_t>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                value |= static_cast<std::uint32_t>(c - 'A' + 10);
            } else {
                --m_pos;
                fail("a hex digit");
            }
        }
        return value;
    }

    const std::string& m_text;
    const fs::path& m_path;
    std::size_t m_pos = 0;
};

// Reads {"t": T, "v": ...}: checks T is one of `allowed`, then calls on_value(T) to consume v.
// A tag without v (null, undefined) calls on_value too, with the parser after the tag.
template <typename F>
void tagged(Parser& parser, std::initializer_list<int> allowed, const std::string& what, F&& on_value) {
    parser.expect('{');
    if (parser.string() != "t") {
        parser.fail("a better-serialize tag \"t\" for " + what);
    }
    parser.expect(':');
    std::string tag_text = parser.scalar();
    int tag = -1;
    for (int candidate : allowed) {
        if (tag_text == std::to_string(candidate)) {
            tag = candidate;
        }
    }
    if (tag < 0) {
        parser.fail("a better-serialize tag in {" +
                    [&] {
                        std::string list;
                        for (int candidate : allowed) {
                            list += (list.empty() ? "" : ",") + std::to_string(candidate);
                        }
                        return list;
                    }() +
                    "} for " + what + ", not " + tag_text);
    }
    if (parser.accept(',')) {
        if (parser.string() != "v") {
            parser.fail("\"v\" for " + what);
        }
        parser.expect(':');
        on_value(tag, true);
    } else {
        on_value(tag, false);
    }
    parser.expect('}');
}

std::string read_whole(const fs::path& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        throw InputError(path.string() + ": no such file", k_export_hint);
    }
    if (fs::is_directory(path, ec)) {
        throw InputError(path.string() + ": is a folder, not an export file", k_export_hint);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InputError(path.string() + ": cannot open it for reading: " + std::strerror(errno),
                         "check the file's permissions");
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return std::move(buffer).str();
}

}  // namespace

std::string_view export_kind_name(ExportKind kind) {
    return kind == ExportKind::k_plain ? "plain (Enmap 4.x-5.9)" : "better-serialize (Enmap 6.x)";
}

ExportFile::ExportFile(const fs::path& path) : m_path(path), m_text(read_whole(path)) {
    Parser parser(m_text, m_path);
    // Skip a UTF-8 byte order mark, which some editors add.
    if (m_text.compare(0, 3, "\xEF\xBB\xBF") == 0) {
        parser.set_pos(3);
    }
    parser.expect('{');
    std::size_t first_member = parser.pos();
    m_kind = parser.string() == "t" ? ExportKind::k_better_serialize : ExportKind::k_plain;
    parser.set_pos(first_member - 1);
    if (m_kind == ExportKind::k_plain) {
        parse_plain();
    } else {
        parse_better_serialize();
    }
    // Sort by key bytewise, keeping the last of repeated keys as import() would.
    std::stable_sort(m_entries.begin(), m_entries.end(),
                     [](const Entry& a, const Entry& b) { return a.key < b.key; });
    std::vector<Entry> unique;
    unique.reserve(m_entries.size());
    for (auto& entry : m_entries) {
        if (!unique.empty() && unique.back().key == entry.key) {
            unique.back() = std::move(entry);
        } else {
            unique.push_back(std::move(entry));
        }
    }
    m_entries = std::move(unique);
}

void ExportFile::parse_plain() {
    Parser parser(m_text, m_path);
    parser.set_pos(m_text.find('{'));
    DecodeOptions lenient;
    lenient.invalid_text = InvalidTextPolicy::k_replace;
    lenient.functions = FunctionPolicy::k_source;
    std::string scratch;
    std::vector<Violation> violations;
    LossyCounts counts;
    // The extent of the value at the parser: serialize-javascript is a superset of JSON.
    auto value_extent = [&](const std::string& where) {
        parser.skip_ws();
        std::size_t start = parser.pos();
        scratch.clear();
        violations.clear();
        try {
            std::size_t used =
                decode_value_prefix(std::string_view(m_text).substr(start), Encoding::k_serialize_javascript,
                                    lenient, scratch, violations, counts);
            parser.set_pos(start + used);
            return std::pair{start, used};
        } catch (const DecodeError& e) {
            throw InputError(m_path.string() + ": " + where + ": malformed value: " + e.what() +
                                 " of the value (byte " + std::to_string(start + e.offset()) +
                                 " of the file)",
                             "the export is damaged; export the enmap again, or read enmap.sqlite with --db");
        }
    };
    bool has_name = false;
    bool has_keys = false;
    parser.members([&](const std::string& member) {
        if (member == "name") {
            m_tables = {parser.string()};
            has_name = true;
        } else if (member == "version" && parser.peek() == '"') {
            m_version = parser.string();
        } else if (member == "keys") {
            has_keys = true;
            parser.expect('[');
            if (parser.accept(']')) {
                return;
            }
            do {
                Entry entry;
                bool has_key = false;
                entry.missing_value = true;
                parser.members([&](const std::string& field) {
                    if (field == "key") {
                        entry.key = parser.peek() == '"' ? parser.string() : parser.scalar();
                        has_key = true;
                    } else if (field == "value") {
                        auto [start, size] = value_extent("entry " + std::to_string(m_entries.size()) +
                                                          " (key '" + display_key(entry.key) + "')");
                        entry.value_offset = start;
                        entry.value_size = size;
                        entry.missing_value = false;
                    } else {
                        value_extent("entry " + std::to_string(m_entries.size()) + ", member '" + field +
                                     "'");
                    }
                });
                if (!has_key) {
                    parser.fail("a \"key\" member in entry " + std::to_string(m_entries.size()));
                }
                m_entries.push_back(std::move(entry));
            } while (parser.accept(','));
            parser.expect(']');
        } else {
            value_extent("member '" + member + "'");
        }
    });
    if (!has_name || !has_keys) {
        throw InputError(m_path.string() + ": not an Enmap export: it has no \"" +
                             (has_name ? "keys" : "name") + "\" member",
                         k_export_hint);
    }
}

void ExportFile::parse_better_serialize() {
    Parser parser(m_text, m_path);
    parser.set_pos(m_text.find('{'));
    bool has_name = false;
    bool has_keys = false;
    tagged(parser, {0}, "the export object", [&](int, bool) {
        parser.members([&](const std::string& member) {
            if (member == "name" || member == "version") {
                tagged(parser, {1}, "\"" + member + "\"", [&](int, bool has_value) {
                    std::string text = has_value ? parser.string() : std::string();
                    if (member == "name") {
                        m_tables = {text};
                        has_name = true;
                    } else {
                        m_version = text;
                    }
                });
            } else if (member == "keys") {
                has_keys = true;
                tagged(parser, {4}, "\"keys\"", [&](int, bool has_value) {
                    if (!has_value) {
                        parser.fail("the array of keys");
                    }
                    parser.expect('[');
                    if (parser.accept(']')) {
                        return;
                    }
                    do {
                        Entry entry;
                        bool has_key = false;
                        entry.missing_value = true;
                        std::string where = "entry " + std::to_string(m_entries.size());
                        tagged(parser, {0}, where, [&](int, bool) {
                            parser.members([&](const std::string& field) {
                                if (field == "key") {
                                    tagged(parser, {1, 2}, where + "'s key", [&](int tag, bool) {
                                        entry.key = tag == 1 ? parser.string() : parser.scalar();
                                    });
                                    has_key = true;
                                } else if (field == "value") {
                                    tagged(parser, {1, 5, 7}, where + "'s value", [&](int tag, bool) {
                                        if (tag == 1) {
                                            parser.skip_ws();
                                            entry.value_offset = parser.pos();
                                            parser.string();
                                            entry.value_size = parser.pos() - entry.value_offset;
                                            entry.missing_value = false;
                                        }
                                    });
                                } else {
                                    parser.skip_json();
                                }
                            });
                        });
                        if (!has_key) {
                            parser.fail("a \"key\" member in " + where);
                        }
                        m_entries.push_back(std::move(entry));
                    } while (parser.accept(','));
                    parser.expect(']');
                });
            } else {
                parser.skip_json();
            }
        });
    });
    if (!has_name || !has_keys) {
        throw InputError(m_path.string() + ": not an Enmap export: it has no \"" +
                             (has_name ? "keys" : "name") + "\" member",
                         k_export_hint);
    }
}

class ExportCursor : public RowCursor {
public:
    explicit ExportCursor(const ExportFile& file) : m_file(file) {}

    bool next(RawRow& row) override {
        if (m_index >= m_file.m_entries.size()) {
            return false;
        }
        const auto& entry = m_file.m_entries[m_index++];
        row.key = entry.key;
        row.value_is_null = entry.missing_value;
        row.parsed_value = m_file.m_kind == ExportKind::k_plain;
        if (entry.missing_value) {
            row.value = {};
        } else if (m_file.m_kind == ExportKind::k_plain) {
            row.value = std::string_view(m_file.m_text).substr(entry.value_offset, entry.value_size);
        } else {
            Parser parser(m_file.m_text, m_file.m_path);
            parser.set_pos(entry.value_offset);
            m_buffer = parser.string();
            row.value = m_buffer;
        }
        return true;
    }

private:
    const ExportFile& m_file;
    std::size_t m_index = 0;
    std::string m_buffer;
};

void ExportFile::check_table(const std::string& table) const {
    if (table != name()) {
        throw InputError(m_path.string() + ": holds the enmap '" + name() + "', not '" + table + "'",
                         k_export_hint);
    }
}

std::uint64_t ExportFile::row_count(const std::string& table) const {
    check_table(table);
    return m_entries.size();
}

std::unique_ptr<RowCursor> ExportFile::rows(const std::string& table, RowOrder /*order*/) const {
    check_table(table);
    return std::make_unique<ExportCursor>(*this);
}

ExportSet::ExportSet(const std::vector<fs::path>& paths) {
    for (const auto& path : paths) {
        auto file = std::make_unique<ExportFile>(path);
        for (const auto& other : m_files) {
            if (other->name() == file->name()) {
                throw InputError(path.string() + " and " + other->path().string() + " both hold the enmap '" +
                                     file->name() + "'",
                                 "give one export file per enmap");
            }
        }
        m_tables.push_back(file->name());
        m_files.push_back(std::move(file));
    }
}

std::string ExportSet::describe() const {
    std::string out;
    for (const auto& file : m_files) {
        out += (out.empty() ? "" : ", ") + file->describe();
    }
    return out;
}

const ExportFile& ExportSet::file_of(const std::string& table) const {
    for (const auto& file : m_files) {
        if (file->name() == table) {
            return *file;
        }
    }
    throw InputError("no export file holds the enmap '" + table + "'", k_export_hint);
}

std::uint64_t ExportSet::row_count(const std::string& table) const {
    return file_of(table).row_count(table);
}

std::unique_ptr<RowCursor> ExportSet::rows(const std::string& table, RowOrder order) const {
    return file_of(table).rows(table, order);
}

}  // namespace enmap
