#pragma once
// The manifest's per-table summaries, from enmap/: encoding(s), row count, lossy conversions and
// the SHA-256 of each table's canonical content (docs/dump.md), plus autonum counters.

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "snapshot/capture.hpp"

namespace snapshot {

/// A TableSummarizer (capture.hpp) backed by enmap::summarize: an object keyed by table name
/// (rows, encodings, sha256, lossy, digest), plus "internal::autonum" counters and the change
/// journals. Throws enmap::InputError when the
/// database cannot be read as Enmap data.
nlohmann::json summarize_enmap(const std::filesystem::path& db_copy);

/// A PageSummarizer (capture.hpp) giving what summarize_enmap gives, from the pages the store
/// reads (enmap/page_summary.hpp); null when the database is not laid out for it, or has a -shm or
/// -journal beside it. Throws enmap::InputError when the database cannot be read as Enmap data.
std::unique_ptr<PageSummarizer> summarize_enmap_pages(const std::filesystem::path& database);

}  // namespace snapshot
