#pragma once
// The source options shared by replay, validate and plan init: where the rows come from and the
// data policies applied to them.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "cli/options.hpp"
#include "enmap/decode.hpp"
#include "replay/source.hpp"

namespace cli {

/// --source-jsonl and the policy flags.
struct SourceOptions {
    std::string jsonl;  // `enmap-migrate dump` output
    std::string invalid_text = "error";
    std::string functions = "error";
};

/// Adds --source-jsonl (required), and with `policies` --invalid-text and --functions.
void add_source_options(CLI::App* command, SourceOptions& options, bool policies);

/// The decode options the policy flags ask for; throws enmap::UsageError on an unknown value.
enmap::DecodeOptions decode_options(const SourceOptions& options);

/// Opens the chosen source; throws enmap::InputError when the file does not exist.
std::unique_ptr<replay::Source> open_source(const SourceOptions& options);

}  // namespace cli
