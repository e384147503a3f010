#include "cli/replay_source.hpp"

#include <filesystem>
#include <map>

#include "enmap/error.hpp"
#include "enmap/table_reader.hpp"
#include "replay/devdb.hpp"
#include "replay/jsonl_source.hpp"
#include "replay/snapshot_source.hpp"

namespace cli {

void add_source_options(CLI::App* command, SourceOptions& options, bool policies) {
    auto* snapshot =
        command->add_option("--snapshot", options.snapshot,
                            "snapshot to replay: id, unique id prefix, label or `latest` (see --store)");
    command
        ->add_option("--source-jsonl", options.jsonl,
                     "or rows from `enmap-migrate dump` output, one {table,key,value} JSON object per line")
        ->excludes(snapshot);
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
        command->add_option("--format", options.formats,
                            "TABLE=ENCODING: decode TABLE as json, serialize-javascript or better-serialize");
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

std::unique_ptr<replay::Source> open_source(const SourceOptions& options, const std::string& store) {
    if (options.snapshot.empty() == options.jsonl.empty()) {
        throw enmap::UsageError("give the rows to use with --snapshot REF (or --source-jsonl FILE)",
                                "list the snapshots with `enmap-migrate snapshot list`");
    }
    if (!options.snapshot.empty()) {
        std::map<std::string, enmap::Encoding> formats;
        for (const auto& f : options.formats) {
            formats.insert(enmap::parse_format_override(f));
        }
        return std::make_unique<replay::SnapshotSource>(store, options.snapshot, std::move(formats));
    }
    if (!std::filesystem::is_regular_file(options.jsonl)) {
        throw enmap::InputError("--source-jsonl " + options.jsonl + ": no such file",
                                "write one with `enmap-migrate dump --db PATH/enmap.sqlite > FILE`");
    }
    return std::make_unique<replay::JsonlSource>(options.jsonl);
}

}  // namespace cli

namespace cli {

std::string target_database(const GlobalOptions& globals) {
    return replay::default_database_url(globals.database);
}

}  // namespace cli
