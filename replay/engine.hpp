#pragma once
// replay/ the replay engine: preflight, then one transaction with the Drizzle step and a savepoint
// per module, validation, and COMMIT (or ROLLBACK for --dry-run), all recorded in the ledger.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "enmap/decode.hpp"
#include "enmap/error.hpp"
#include "replay/drizzle.hpp"
#include "replay/events.hpp"
#include "replay/source.hpp"
#include "replay/validate.hpp"

namespace replay {

/// What `replay` was asked to do.
struct ReplayOptions {
    std::string database_url;
    std::optional<std::filesystem::path> plan_dir;
    bool dry_run = false;
    bool keep_going = false;
    std::vector<std::string> only;               // module names; empty = all
    std::map<std::string, std::string> renames;  // enmap -> table name without raw_
    enmap::DecodeOptions decode;
    std::string kind;  // recorded in the ledger: "replay" (default, a go-live) or "rehearsal"
    std::map<std::string, std::int64_t> autonum;  // --autonum ENMAP=N: counters the source lacks
    /// --since BASE: a catch-up replay of the changes from this source (the snapshot the target's
    /// committed run replayed) to the source being replayed (docs/replay.md). Null: a full replay.
    Source* since = nullptr;
};

/// Parses --autonum ENMAP=N values. Throws enmap::UsageError naming a malformed one.
std::map<std::string, std::int64_t> parse_autonum(const std::vector<std::string>& values);

/// One module's outcome.
struct ModuleReport {
    std::string name;
    std::string status = "pending";  // committed, passed (a dry run's), failed, skipped
    std::uint64_t rows = 0;
    double seconds = 0;
    double load_seconds = 0;
    double copy_seconds = 0;  // of load_seconds: COPY
    double key_seconds = 0;   // of load_seconds: ADD PRIMARY KEY
    double transform_seconds = 0;
    double verify_seconds = 0;
    std::string error;
    enmap::ExitCode failure = enmap::ExitCode::k_ok;
    std::vector<std::pair<std::string, std::string>> tables;  // enmap -> raw_ table
    std::size_t objects_created = 0;
    // A catch-up run's: rows upserted into and deleted from the raw_ tables, and how the module's
    // tables were brought up to date: "incremental", "full" (transform re-run) or "unchanged".
    std::uint64_t upserted = 0;
    std::uint64_t deleted = 0;
    double apply_seconds = 0;  // of transform_seconds: the diff applied to the raw_ tables (catch-up)
    std::string catchup;
    /// As JSON for events and --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// The outcome of a replay.
struct ReplayReport {
    std::int64_t run_id = 0;  // 0 for a dry run (its ledger rows rolled back with it)
    std::string status;       // committed, partial, dry-run
    std::string source_id;
    std::string plan_digest;
    std::map<std::string, std::string> table_names;  // enmap -> raw_ table
    std::vector<ModuleReport> modules;
    std::vector<DrizzleRow> drizzle_rows;
    std::uint64_t rows = 0;
    double seconds = 0;
    double preflight_seconds = 0;  // reading, decoding and checking the source, the plan, the names
    double setup_seconds = 0;      // connecting, the ledger, the target checks, the catalog fingerprint
    double finish_seconds = 0;     // after validation: the ledger's records and COMMIT
    double load_seconds = 0;
    ValidationReport validation;
    enmap::LossyCounts lossy;
    nlohmann::json autonum = nlohmann::json::array();  // counters not from the source: {enmap, lastnum, from}
    std::int64_t base_run = 0;                         // a catch-up run's base run; 0 for a full replay
    nlohmann::json catchup;  // a catch-up run's diff (CatchupDiff::to_json); null otherwise
    /// As JSON for --json and the run_finished event.
    [[nodiscard]] nlohmann::json to_json() const;
    /// The exit status: 0, or that of the first failed module (a --keep-going run).
    [[nodiscard]] int exit_status() const;
};

/// Runs a replay. Throws enmap::PolicyError / InputError / UsageError before writing anything,
/// enmap::RefusedError when the target already holds a run, enmap::DatabaseError or
/// enmap::ValidationError when the transaction rolled back (a failed run is then recorded in the
/// ledger unless it was a dry run). With keep_going, failed modules are in the report instead.
ReplayReport run_replay(Source& source, const ReplayOptions& options, Events& events);

/// Validates the raw_ tables of the newest committed run against the source, in a transaction
/// that is rolled back. Throws enmap::RefusedError when there is no committed run to validate.
ValidationReport run_validate(Source& source, const std::string& database_url,
                              const enmap::DecodeOptions& decode);

/// The lossy counts as JSON (only the non-zero ones).
nlohmann::json lossy_json(const enmap::LossyCounts& counts);

}  // namespace replay
