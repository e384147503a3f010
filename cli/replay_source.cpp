#include "cli/replay_source.hpp"

#include <filesystem>

#include "enmap/error.hpp"
#include "replay/jsonl_source.hpp"

namespace cli {

void add_source_options(CLI::App* command, SourceOptions& options, bool policies) {
    command
        ->add_option(
            "--source-jsonl", options.jsonl,
            "rows to replay: `enmap-migrate dump` output, one {table,key,value} JSON object per line")
        ->required();
    if (policies) {
        command
            ->add_option("--invalid-text", options.invalid_text, "NUL and unpaired surrogates: error|replace")
            ->check(CLI::IsMember({"error", "replace"}))
            ->capture_default_str();
        command
            ->add_option("--functions", options.functions,
                         "JavaScript functions in values: error|drop|source")
            ->check(CLI::IsMember({"error", "drop", "source"}))
            ->capture_default_str();
    }
}

enmap::DecodeOptions decode_options(const SourceOptions& options) {
    enmap::DecodeOptions d;
    if (options.invalid_text == "replace") {
        d.invalid_text = enmap::InvalidTextPolicy::k_replace;
    } else if (options.invalid_text != "error") {
        throw enmap::UsageError("--invalid-text " + options.invalid_text + ": expected error or replace");
    }
    if (options.functions == "drop") {
        d.functions = enmap::FunctionPolicy::k_drop;
    } else if (options.functions == "source") {
        d.functions = enmap::FunctionPolicy::k_source;
    } else if (options.functions != "error") {
        throw enmap::UsageError("--functions " + options.functions + ": expected error, drop or source");
    }
    return d;
}

std::unique_ptr<replay::Source> open_source(const SourceOptions& options) {
    if (!std::filesystem::is_regular_file(options.jsonl)) {
        throw enmap::InputError("--source-jsonl " + options.jsonl + ": no such file",
                                "write one with `enmap-migrate dump --db PATH/enmap.sqlite > FILE`");
    }
    return std::make_unique<replay::JsonlSource>(options.jsonl);
}

}  // namespace cli
