#pragma once
// The source options shared by replay, validate and plan init: where the rows come from and the
// data policies applied to them.

#include <CLI/CLI.hpp>
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
    std::string invalid_text = "error";
    std::string functions = "error";
};

/// Adds --snapshot and --source-jsonl (exactly one is required), and with `policies`
/// --invalid-text, --functions and --format.
void add_source_options(CLI::App* command, SourceOptions& options, bool policies);

/// The decode options the policy flags ask for; throws enmap::UsageError on an unknown value.
enmap::DecodeOptions decode_options(const SourceOptions& options);

/// Opens the chosen source (a snapshot of the store at `store`, or a JSON-lines file); throws
/// enmap::UsageError when neither or both are given, enmap::InputError when the file does not exist.
std::unique_ptr<replay::Source> open_source(const SourceOptions& options, const std::string& store);

/// The database to use: --database / DATABASE_URL, else the embedded dev database, started on demand.
std::string target_database(const GlobalOptions& globals);

}  // namespace cli
