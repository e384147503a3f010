#pragma once
// The manifest's per-table summaries, from enmap/: encoding(s), row count, lossy conversions and
// the SHA-256 of each table's canonical content (docs/dump.md), plus autonum counters.

#include <filesystem>
#include <nlohmann/json.hpp>

namespace snapshot {

/// A TableSummarizer (capture.hpp) backed by enmap::summarize: an object keyed by table name
/// (rows, encodings, sha256, lossy, digest), plus "internal::autonum" counters and the change
/// journals. Throws enmap::InputError when the
/// database cannot be read as Enmap data.
nlohmann::json summarize_enmap(const std::filesystem::path& db_copy);

}  // namespace snapshot
