#pragma once
// analyze/ the shapes of an Enmap's data: streams every row of every table once through the
// decoder's typed events (enmap/decode/visitor.hpp) and infers, with bounded memory, what a
// migration design needs to know: key patterns, the field tree with its JavaScript types, string
// classes, numeric ranges, map-like objects, relationships between tables and the contract's edge
// cases met. The result is shapes.json (its format: docs/analyze.md), which report.hpp renders.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "enmap/database.hpp"
#include "enmap/decode.hpp"
#include "enmap/source.hpp"

namespace analyze {

/// The version of shapes.json's format; a reader refuses a version it does not know.
inline constexpr int k_shapes_version = 1;

/// What an analysis keeps and shows.
struct AnalyzeOptions {
    bool examples = false;                     // show string values (else only their length and class)
    std::size_t max_paths = 2000;              // field-tree paths tracked per table
    std::size_t key_index_budget = 4'000'000;  // table keys kept (as 8-byte hashes) to find relationships
    std::map<std::string, enmap::Encoding> formats;  // --format TABLE=ENCODING
};

/// Where the rows came from, for shapes.json's "source".
struct SourceInfo {
    std::string kind;         // "database", "export" or "snapshot"
    std::string description;  // a path, or "snapshot 1a2b3c4d5e6f (label)"
    std::string snapshot_id;  // the full id for a snapshot, else empty
};

/// Called now and then while a table is read: the table, rows done, rows in all.
using ProgressCallback =
    std::function<void(const std::string& table, std::uint64_t done, std::uint64_t total)>;

/// Reads every row of `tables` (all of them when empty) of `source` once and returns shapes.json.
/// `autonum` are the internal::autonum counters (empty for export files). Throws enmap::InputError
/// for an unknown table or unreadable data; a malformed value is not an error but a finding.
nlohmann::json analyze_source(const enmap::Source& source, const std::vector<enmap::AutonumCounter>& autonum,
                              const SourceInfo& info, const AnalyzeOptions& options,
                              const std::vector<std::string>& tables = {},
                              const ProgressCallback& progress = {});

/// A snapshot of the store, its files written out (checked against their hashes) into a private
/// temporary folder that is removed with the object, and opened with enmap/.
class SnapshotFiles {
public:
    /// Materializes snapshot `ref` of the store at `store`; throws StoreError (missing snapshot,
    /// damaged store) or InputError (the files are not an Enmap database or export files).
    SnapshotFiles(const std::filesystem::path& store, const std::string& ref);
    ~SnapshotFiles();
    SnapshotFiles(const SnapshotFiles&) = delete;
    SnapshotFiles& operator=(const SnapshotFiles&) = delete;

    [[nodiscard]] const enmap::Source& source() const { return *m_source; }
    [[nodiscard]] const std::vector<enmap::AutonumCounter>& autonum() const { return m_autonum; }
    [[nodiscard]] const SourceInfo& info() const { return m_info; }

private:
    std::filesystem::path m_dir;
    std::unique_ptr<enmap::Source> m_source;
    std::vector<enmap::AutonumCounter> m_autonum;
    SourceInfo m_info;
};

}  // namespace analyze
