#pragma once
// The sample bot: writes a realistic Enmap database (global settings, guild settings,
// points/levels, tags, reminders with autonum, warnings, giveaways, economy) in the exact
// layout and value encoding of a chosen Enmap generation. The demo, the tests and
// scripts/bench all use it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace enmap {

/// What to generate.
struct SampleOptions {
    std::string generation = "6";  // "5.7", "5.9" or "6"
    std::uint64_t scale = 100;     // number of guilds; rows grow about 50x this
    bool wal = false;              // leave committed writes in enmap.sqlite-wal, as a killed bot does
    std::uint64_t seed = 42;       // same seed, same bytes
};

/// What was written: rows per enmap table, and the autonum counters.
struct SampleResult {
    std::map<std::string, std::uint64_t> rows;
    std::map<std::string, std::uint64_t> autonum;
    std::uint64_t total_rows = 0;
};

/// Writes <dir>/enmap.sqlite (and enmap.sqlite-wal/-shm with `wal`). Refuses (InputError) to
/// overwrite an existing enmap.sqlite; throws UsageError for an unknown generation.
SampleResult write_sample_database(const std::filesystem::path& dir, const SampleOptions& options);

/// The benchmark mode: one big enmap table of points/levels rows (enmap::points_value, keys
/// `guild-user` inserted in random order as a bot writes them) and `internal::autonum`.
struct SampleTableOptions {
    std::string generation = "6";  // "5.7", "5.9" or "6"
    std::string table = "points";  // the enmap's name
    std::uint64_t rows = 0;        // stop after this many rows; 0: no row limit
    std::uint64_t target_mb = 0;   // or once the file holds this many MiB; 0: no size limit
    std::uint64_t seed = 42;       // same seed, same bytes
};

/// What the benchmark mode wrote.
struct SampleTableResult {
    std::uint64_t rows = 0;
    std::uint64_t value_bytes = 0;  // the value texts' bytes, summed
    std::uint64_t file_bytes = 0;   // the size of enmap.sqlite
};

/// Writes <dir>/enmap.sqlite holding one table, fast (one transaction, no journal while writing),
/// and leaves it a rollback-journal database. Refuses (InputError) to overwrite an existing
/// enmap.sqlite; throws UsageError for an unknown generation or when neither limit is given.
SampleTableResult write_sample_table(const std::filesystem::path& dir, const SampleTableOptions& options);

}  // namespace enmap
