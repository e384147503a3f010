#pragma once
// rollback/ migration day in one call: refuse while the bot has its database open, take the exact
// final snapshot, replay what changed since the pre-seed (a catch-up run of BASE), validate, and
// account for the downtime part by part (docs/replay.md, "Migration day").

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "enmap/decode.hpp"
#include "replay/engine.hpp"
#include "replay/events.hpp"

namespace rollback {

/// What `cutover` was asked to do.
struct CutoverOptions {
    std::filesystem::path store;
    std::filesystem::path database;  // the bot's enmap.sqlite
    std::string base_ref;            // --since: the pre-seed snapshot the target holds a run of
    std::filesystem::path plan_dir;
    std::string database_url;
    std::string label;  // the final snapshot's; empty: cutover-<UTC time>
    int compression = 3;
    unsigned threads = 0;
    bool dry_run = false;  // everything, then roll the catch-up back (the snapshot stays)
    enmap::DecodeOptions decode;
    std::map<std::string, std::string> renames;
    std::map<std::string, enmap::Encoding> formats;
    std::map<std::string, std::int64_t> autonum;
};

/// The downtime, part by part, in seconds. The parts add up to `total`.
struct Downtime {
    double snapshot = 0;    // the exact final capture into the store
    double diff = 0;        // reading both snapshots and comparing them key by key (with the plan checks)
    double apply = 0;       // the diff applied to the raw_ tables, and the autonum counters
    double transforms = 0;  // incremental SQL, or the transforms re-run
    double validation = 0;  // verify queries and key-by-key validation against the final snapshot
    double other = 0;       // connecting, the ledger's checks and records, COMMIT
    double total = 0;
    /// The downtime of a finished catch-up `run` after a capture that took `snapshot_seconds`.
    static Downtime of(const replay::ReplayReport& run, double snapshot_seconds, double total_seconds);
    [[nodiscard]] nlohmann::json to_json() const;
};

/// What a cutover did.
struct CutoverReport {
    std::string base_id;
    std::string snapshot_id;  // the final snapshot
    std::string label;
    replay::ReplayReport replay;
    Downtime downtime;
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Runs migration day's steps. Throws RefusedError while a process has the database open, or when
/// the target holds no committed run of BASE (before anything is captured); afterwards what
/// capture and run_replay throw, with a hint naming the final snapshot and the command to re-run.
/// On any failure the target is as it was: the catch-up is one transaction.
CutoverReport cutover(const CutoverOptions& options, replay::Events& events);

}  // namespace rollback
