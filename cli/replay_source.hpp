#pragma once
// The source options shared by replay, validate and plan init: where the rows come from and the
// data policies applied to them.

#include <CLI/CLI.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/options.hpp"
#include "enmap/decode.hpp"
#include "replay/source.hpp"

namespace cli {

/// --snapshot or --source-jsonl, and the policy flags.
struct SourceOptions {
    std::string snapshot;              // a snapshot REF in the store (--store)
    std::string jsonl;                 // `enmap-migrate dump` output
    std::vector<std::string> formats;  // --format TABLE=ENCODING
    std::string invalid_text;          // error|replace; empty: the plan's, else error
    std::string functions;             // error|drop|source; empty: the plan's, else error
};

/// Adds --snapshot and --source-jsonl (exactly one is required), and with `policies`
/// --invalid-text, --functions and --format (add_policy_options).
void add_source_options(CLI::App* command, SourceOptions& options, bool policies);

/// Adds --invalid-text, --functions and --format.
void add_policy_options(CLI::App* command, SourceOptions& options);

/// What replay and rehearse both take beyond the source and the plan folder. A new replay option
/// goes here, so that rehearse has it too.
struct ReplayTuning {
    bool keep_going = false;
    std::vector<std::string> only;     // module names
    std::vector<std::string> renames;  // ENMAP=TABLE
    std::vector<std::string> autonum;  // ENMAP=N
};

/// Adds --keep-going, --only, --rename and --autonum.
void add_tuning_options(CLI::App* command, ReplayTuning& options);

/// Adds the settings the plan at `plan_dir` keeps (renames, formats, policies) to those of the
/// command line, which win. Throws enmap::InputError on a malformed plan.json.
void apply_plan_settings(const std::string& plan_dir, SourceOptions& source, ReplayTuning& tuning);

/// The --format overrides as a map; throws enmap::UsageError on a malformed one.
std::map<std::string, enmap::Encoding> format_overrides(const SourceOptions& options);

/// The decode options the policy flags ask for; throws enmap::UsageError on an unknown value.
enmap::DecodeOptions decode_options(const SourceOptions& options);

/// Opens the chosen source (a snapshot of the store at `store`, or a JSON-lines file); throws
/// enmap::UsageError when neither or both are given, enmap::InputError when the file does not exist.
std::unique_ptr<replay::Source> open_source(const SourceOptions& options, const std::string& store);

/// The database to use: --database / DATABASE_URL, else the embedded dev database, started on demand.
std::string target_database(const GlobalOptions& globals);

}  // namespace cli
