#pragma once
// rollback/ cleanup, the step 24-48 hours after go-live: archive the pre-migration snapshots,
// verify the archive, then drop the raw_ tables of committed runs older than the window, and
// optionally prune the archived snapshots from the store; all recorded in the ledger.

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace rollback {

/// What `cleanup` was asked to do.
struct CleanupOptions {
    std::filesystem::path store;
    std::string database_url;
    std::int64_t older_than_seconds = 48 * 3600;
    std::filesystem::path archive_to;
    bool prune = false;
    bool force = false;  // also clean up runs inside the window
};

/// What cleanup did.
struct CleanupReport {
    std::vector<std::int64_t> runs;
    std::vector<std::string> snapshots;
    std::string archive;
    std::string archive_sha256;
    std::uint64_t archive_bytes = 0;
    std::vector<std::string> dropped;
    std::vector<std::string> pruned;
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// What the ledger of `database_url` records of earlier cleanups, as advice for a command that
/// found no snapshot or no raw_ tables: the runs, when, the archive and whether the snapshots were
/// pruned, and how to bring them back. Empty when the ledger records none or cannot be read.
std::string cleanup_note(const std::string& database_url);

/// Parses "90s", "30m", "48h" or "7d" into seconds; throws UsageError naming the text.
std::int64_t parse_duration(const std::string& text);

/// Runs cleanup. Throws RefusedError (runs inside the window without force; a run not replayed
/// from a snapshot), StoreError (the archive failed its check: nothing was dropped), DatabaseError.
CleanupReport cleanup(const CleanupOptions& options);

}  // namespace rollback
