#pragma once
// enmap/ summary: per table its encoding(s), row count, lossy conversions and a SHA-256 digest of
// its canonical content (defined in docs/dump.md). The snapshot store embeds it in its manifests,
// and replay and validate compare against it.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "enmap/database.hpp"
#include "enmap/table_reader.hpp"

namespace enmap {

/// Name of the digest definition (docs/dump.md) that ContentDigest computes.
inline constexpr std::string_view k_content_digest_version = "enmap-canonical-v2";

/// The digest of a table's canonical content (docs/dump.md): each row's record (key JSON, 0x1F,
/// value JSON, 0x1E) is hashed with SHA-256, the row hashes are summed modulo 2^256, and the
/// digest is the SHA-256 of that sum and the row count. Rows may be added in any order, and two
/// digests of disjoint row sets can be merged, so a table can be read in storage order or in parts.
class ContentDigest {
public:
    ContentDigest();
    ~ContentDigest();
    ContentDigest(const ContentDigest&) = delete;
    ContentDigest& operator=(const ContentDigest&) = delete;
    /// Adds one row: the key (valid UTF-8, JSON-quoted here) and the value's canonical JSON text.
    void add(std::string_view key, std::string_view value_json);
    /// Adds the rows another digest has taken (which must not hold the same keys).
    void merge(const ContentDigest& other);
    /// Rows added so far.
    [[nodiscard]] std::uint64_t rows() const { return m_rows; }
    /// The lowercase hex digest.
    [[nodiscard]] std::string finish() const;

private:
    /// m_sum plus the pending record's hash.
    [[nodiscard]] std::array<std::uint64_t, 4> sum() const;

    std::string m_pending;  // a record not hashed yet: rows are hashed two at a time
    bool m_has_pending = false;
    std::string m_scratch;
    std::array<std::uint64_t, 4> m_sum{};  // little-endian limbs of the sum of row hashes
    std::uint64_t m_rows = 0;
};

/// One table of a Summary.
struct TableSummary {
    std::string name;
    std::uint64_t rows = 0;
    std::uint64_t null_values = 0;
    std::map<std::string, std::uint64_t> encodings;  // encoding name -> rows
    std::string sha256;                              // ContentDigest of the table
    LossyCounts lossy;
    /// {"name", "rows", "null_values", "encodings": {...}, "sha256", "lossy": {...}}.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// What a source holds, as the snapshot store records it.
struct Summary {
    std::string digest_version{k_content_digest_version};  // names the digest definition of docs/dump.md
    std::vector<TableSummary> tables;
    std::vector<AutonumCounter> autonum;     // only from an enmap.sqlite
    std::vector<std::string> change_tables;  // only from an enmap.sqlite
    /// {"digest", "tables": [...], "autonum": {enmap: lastnum}, "change_tables": [...]}.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Adds the rows, encodings and lossy counts of `part` to `total`.
void add_table_stats(TableStats& total, const TableStats& part);
/// A table's entry of a Summary, from what was read of it.
TableSummary table_summary(const std::string& table, const TableStats& stats, const ContentDigest& digest);

/// The counts of a LossyCounts as a JSON object, with only its non-zero members.
nlohmann::json lossy_to_json(const LossyCounts& counts);
/// The stats of one table read by dump, as a JSON object.
nlohmann::json stats_to_json(const TableStats& stats);

/// Summarizes `tables` of `source` (all when empty) under --invalid-text=replace --functions=source,
/// so it never fails on policy; `formats` are --format overrides. Rows are read in storage order and
/// decoded on `threads` worker threads. Throws InputError on malformed data.
Summary summarize(const Source& source, const std::map<std::string, Encoding>& formats = {},
                  const std::vector<std::string>& tables = {}, unsigned threads = 2);

}  // namespace enmap
