#pragma once
// Capturing Enmap data into the store: the exact bytes of enmap.sqlite (and its -wal), a live
// image through SQLite's online backup API, or export() files, plus per-table summaries.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "snapshot/store.hpp"

namespace snapshot {

/// Summarizes the tables of a database for the manifest's "tables" (encoding, rows, digest).
/// It gets a private copy of the captured database (with its -wal beside it when there was one)
/// that it may open read-write; whatever it returns is stored as it is.
using TableSummarizer = std::function<nlohmann::json(const std::filesystem::path& db_copy)>;

/// Summarizes a database from its pages while they are stored, so that it is not read a second
/// time (snapshot/summary.hpp has the Enmap one).
class PageSummarizer {
public:
    virtual ~PageSummarizer() = default;
    /// Whole pages that start at byte `offset` of the database; every page is given once, from the
    /// store's worker threads, in any order.
    virtual void add(std::uint64_t offset, std::string_view pages) = 0;
    /// The "tables" value, or std::nullopt to have the TableSummarizer run instead.
    virtual std::optional<nlohmann::json> finish() = 0;
    /// Seconds spent summarizing.
    [[nodiscard]] virtual double seconds() const = 0;
};

/// Sets up a PageSummarizer for a database file, or returns null to leave it to the TableSummarizer.
using PageSummarizerFactory =
    std::function<std::unique_ptr<PageSummarizer>(const std::filesystem::path& database)>;

/// What to capture and how.
struct CaptureOptions {
    enum class Kind { k_exact, k_live, k_export };
    Kind kind = Kind::k_exact;
    std::filesystem::path database;              // the enmap.sqlite file (exact and live)
    std::vector<std::filesystem::path> exports;  // export() files (export)
    std::string label;                           // empty: none
    int compression = k_default_compression;     // zstd level
    unsigned threads = 0;                        // 0: default_threads()
    TableSummarizer summarize;                   // empty: "tables" is null
    PageSummarizerFactory summarize_pages;       // exact captures without a -wal: tried first
    std::string command = "enmap-migrate snapshot create";
};

/// The new snapshot.
struct CaptureResult {
    Hash id{};
    nlohmann::json manifest;
    double seconds_store = 0;      // reading, hashing, compressing, writing
    double seconds_summarize = 0;  // the table summarizer
};

/// "exact", "live" or "export".
std::string kind_name(CaptureOptions::Kind kind);

/// Checks a label: letters, digits, '.', '_', ':' and '-', not "latest", not only hex digits.
/// Throws UsageError saying why.
void validate_label(const std::string& label);

/// Describes a process that has the SQLite database open, from the POSIX/OFD locks SQLite holds
/// on the -shm file (WAL mode) and on the database's lock bytes; std::nullopt when none is seen.
std::optional<std::string> find_open_connection(const std::filesystem::path& database);

/// Captures into the store and writes the manifest. Throws InputError (unreadable source),
/// RefusedError (database in use for an exact capture), UsageError (bad options), StoreError.
CaptureResult capture(Store& store, const CaptureOptions& options);

/// A summarizer that needs only SQLite: for each table its row count ("rows").
nlohmann::json count_rows(const std::filesystem::path& database);

}  // namespace snapshot
