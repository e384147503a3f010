#include "cli/replay_source.hpp"

#include <filesystem>
#include <map>
#include <set>

#include "enmap/error.hpp"
#include "enmap/table_reader.hpp"
#include "replay/devdb.hpp"
#include "replay/jsonl_source.hpp"
#include "replay/plan.hpp"
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
        add_policy_options(command, options);
    }
}

void add_policy_options(CLI::App* command, SourceOptions& options) {
    command
        ->add_option("--invalid-text", options.invalid_text,
                     "NUL and unpaired surrogates: error|replace (default: the plan's, else error)")
        ->check(CLI::IsMember({"error", "replace"}));
    command
        ->add_option("--functions", options.functions,
                     "JavaScript functions in values: error|drop|source (default: the plan's, else error)")
        ->check(CLI::IsMember({"error", "drop", "source"}));
    command->add_option("--format", options.formats,
                        "TABLE=ENCODING: decode TABLE as json, serialize-javascript or better-serialize");
}

void add_tuning_options(CLI::App* command, ReplayTuning& options) {
    command->add_flag("--keep-going", options.keep_going,
                      "roll back a failed module alone and commit the others");
    command->add_option("--only", options.only, "run only this module (repeatable)");
    command->add_option(
        "--rename", options.renames,
        "ENMAP=TABLE: load ENMAP into raw_TABLE (repeatable; adds to the plan's \"renames\")");
    command->add_option(
        "--autonum", options.autonum,
        "ENMAP=N: ENMAP's autonum counter, for a source without internal::autonum (an export() "
        "file); without it, the highest key of an autonum-style enmap is used, with a warning "
        "(repeatable)");
}

void apply_plan_settings(const std::string& plan_dir, SourceOptions& source, ReplayTuning& tuning) {
    if (plan_dir.empty() ||
        !std::filesystem::is_regular_file(std::filesystem::path(plan_dir) / "plan.json")) {
        return;  // load_plan reports the missing plan.json
    }
    auto settings = replay::read_plan_settings(plan_dir);
    auto merge = [](const std::map<std::string, std::string>& planned, std::vector<std::string>& given) {
        std::set<std::string> named;
        for (const auto& spec : given) {
            named.insert(spec.substr(0, spec.rfind('=')));
        }
        std::vector<std::string> out;
        for (const auto& [enmap, value] : planned) {
            if (named.count(enmap) == 0) {
                std::string spec = enmap;
                spec += "=";
                spec += value;
                out.push_back(std::move(spec));
            }
        }
        out.insert(out.end(), given.begin(), given.end());
        given = std::move(out);
    };
    merge(settings.renames, tuning.renames);
    merge(settings.formats, source.formats);
    if (source.invalid_text.empty()) {
        source.invalid_text = settings.invalid_text;
    }
    if (source.functions.empty()) {
        source.functions = settings.functions;
    }
}

std::map<std::string, enmap::Encoding> format_overrides(const SourceOptions& options) {
    std::map<std::string, enmap::Encoding> formats;
    for (const auto& f : options.formats) {
        formats.insert(enmap::parse_format_override(f));
    }
    return formats;
}

enmap::DecodeOptions decode_options(const SourceOptions& options) {
    enmap::DecodeOptions d;
    if (options.invalid_text == "replace") {
        d.invalid_text = enmap::InvalidTextPolicy::k_replace;
    } else if (!options.invalid_text.empty() && options.invalid_text != "error") {
        throw enmap::UsageError("--invalid-text " + options.invalid_text + ": expected error or replace");
    }
    if (options.functions == "drop") {
        d.functions = enmap::FunctionPolicy::k_drop;
    } else if (options.functions == "source") {
        d.functions = enmap::FunctionPolicy::k_source;
    } else if (!options.functions.empty() && options.functions != "error") {
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
        return std::make_unique<replay::SnapshotSource>(store, options.snapshot, format_overrides(options));
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
