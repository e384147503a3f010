#pragma once
// enmap/ table reader: decodes the raw rows of a Source table by table, per row detecting the
// encoding (or taking the --format override), applying the text and function policies, and
// gathering every policy violation of the whole run before the run fails.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "enmap/decode.hpp"
#include "enmap/source.hpp"

namespace enmap {

/// How a run decodes: the policies, plus --format TABLE=ENCODING overrides.
struct ReadOptions {
    DecodeOptions decode;
    std::map<std::string, Encoding> formats;  // table -> forced encoding
};

/// Parses one --format argument, TABLE=ENCODING; throws UsageError on a malformed one.
std::pair<std::string, Encoding> parse_format_override(const std::string& argument);

/// What was read from one table: rows, rows per encoding, SQL NULL values and lossy conversions.
struct TableStats {
    std::string table;
    std::uint64_t rows = 0;
    std::uint64_t null_values = 0;  // SQL NULL values (no encoding), decoded as null
    std::map<Encoding, std::uint64_t> encodings;
    bool forced = false;  // the encoding came from --format
    LossyCounts lossy;
    /// "json", "better-serialize", or "mixed (json 3, better-serialize 5)"; "empty" without rows.
    [[nodiscard]] std::string encoding_label() const;
};

/// One policy violation, located by table, key and JSON path.
struct TableViolation {
    std::string table;
    std::string key;  // the key's bytes, as stored
    Violation violation;
};

/// Gathers the policy violations of a whole run, and raises them all at once.
class ViolationLog {
public:
    /// At most this many violations are listed in the error; the rest are counted.
    static constexpr std::size_t k_listed = 50;
    /// Records the violations of one row.
    void add(const std::string& table, std::string_view key, const std::vector<Violation>& violations);
    /// True when nothing was recorded.
    [[nodiscard]] bool empty() const { return m_total == 0; }
    /// The number of violations recorded.
    [[nodiscard]] std::uint64_t total() const { return m_total; }
    /// The first k_listed violations.
    [[nodiscard]] const std::vector<TableViolation>& listed() const { return m_listed; }
    /// Throws PolicyError listing every violation (up to k_listed, then a count), when there is any.
    void throw_if_any() const;

private:
    std::vector<TableViolation> m_listed;
    std::uint64_t m_total = 0;
    std::uint64_t m_invalid_text = 0;
    std::uint64_t m_functions = 0;
};

/// One decoded row: the key as valid UTF-8 and the value's canonical JSON text.
struct DecodedRow {
    std::string key;
    std::string value;
    Encoding encoding = Encoding::k_json;
};

/// Decodes the rows of one table, keeping its TableStats.
class TableDecoder {
public:
    /// `source` names the file(s) in messages; violations go to `log`.
    TableDecoder(std::string source, std::string table, const ReadOptions& options, ViolationLog& log);
    /// Decodes one row into `out`; returns false when the row broke a policy (recorded in the log).
    /// Throws InputError naming the table, key and byte offset when the value is malformed.
    bool decode(const RawRow& row, DecodedRow& out);
    /// What has been read so far.
    [[nodiscard]] const TableStats& stats() const { return m_stats; }

private:
    std::string m_source;
    const ReadOptions& m_options;
    ViolationLog& m_log;
    TableStats m_stats;
    const Encoding* m_forced = nullptr;
    std::vector<Violation> m_violations;
};

/// A key for messages: as it is when printable ASCII/UTF-8 without controls, else quoted and
/// JSON-escaped, with \xNN for each byte that is not UTF-8.
std::string display_key(std::string_view key);

/// display_key() of at most the first `max_bytes` bytes, then "... (N bytes in all)".
std::string display_key_short(std::string_view key, std::size_t max_bytes = 60);

/// Appends `text` (valid UTF-8) as a JSON string: escapes '"', '\\' and bytes below 0x20 only.
void append_json_string(std::string& out, std::string_view text);

}  // namespace enmap
