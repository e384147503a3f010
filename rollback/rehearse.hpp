#pragma once
// rollback/ the rehearsal loop in one call: snapshot the data folder (or take a snapshot), roll
// back the previous rehearsal's run on the database, replay with the plan, validate, report.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "enmap/decode.hpp"
#include "replay/engine.hpp"
#include "replay/events.hpp"

namespace rollback {

/// What `rehearse` was asked to do.
struct RehearseOptions {
    std::filesystem::path store;
    std::optional<std::filesystem::path> data_dir;  // snapshot this folder first...
    std::string snapshot_ref;                       // ...or rehearse this snapshot
    bool live = false;                              // capture a running bot with the online backup API
    std::filesystem::path plan_dir;
    std::string database_url;
    enmap::DecodeOptions decode;
    // What replay takes beyond the source and the plan (cli/replay_source.hpp shares the flags).
    std::map<std::string, std::string> renames;      // enmap -> table name without raw_
    std::map<std::string, enmap::Encoding> formats;  // enmap -> forced encoding
    std::vector<std::string> only;                   // module names; empty = all
    bool keep_going = false;
    std::map<std::string, std::int64_t> autonum;  // replay's --autonum
};

/// What a rehearsal did and found.
struct RehearseReport {
    std::string snapshot_id;
    bool snapshot_created = false;
    std::vector<std::int64_t> rolled_back;  // earlier rehearsal runs undone first
    replay::ReplayReport replay;
    replay::ValidationReport validation;         // a second validation, after COMMIT
    std::map<std::string, std::string> digests;  // table identity -> "rows:digest" as the run left it
    std::string digest;                          // SHA-256 over source id, plan digest and table digests
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Runs one rehearsal. Throws what capture, rollback_postgres and run_replay throw, RefusedError
/// when the database holds a run that is not a rehearsal, ValidationError when validation fails.
RehearseReport rehearse(const RehearseOptions& options, replay::Events& events);

/// The digests of the tables a run created, as recorded at its COMMIT: identity -> "rows:digest".
std::map<std::string, std::string> run_table_digests(const std::string& database_url, std::int64_t run_id);

}  // namespace rollback
