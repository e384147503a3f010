// enmap-migrate validate: compare the raw_ tables of the newest committed run with the source.
// Read-only: it runs on production after go-live, so it never suggests undoing a go-live run.

#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/engine.hpp"
#include "replay/validate.hpp"
#include "snapshot/hash.hpp"

namespace cli {

namespace {

struct ValidateCommandOptions {
    SourceOptions source;
};

std::string short_id(const std::string& id) {
    return snapshot::is_hex_digest(id) ? id.substr(0, 12) : id;
}

int run_validate_command(const ValidateCommandOptions& options, const GlobalOptions& globals) {
    std::string database = target_database(globals);
    auto target = replay::read_validate_target(database);
    if (!target.newest) {
        throw enmap::RefusedError("the database holds no committed run to validate",
                                  "run `enmap-migrate replay` first");
    }
    const auto& run = *target.newest;
    std::string run_name = "run " + std::to_string(run.id);
    if (!run.cleanup_archive.empty()) {
        throw enmap::RefusedError(
            "cleanup dropped the raw_ tables of " + run_name + " (at " + run.cleaned_at +
                "): validate compares those tables with the source, so there is nothing left to validate",
            "the pre-migration snapshot is in the archive " + run.cleanup_archive +
                " (`enmap-migrate snapshot import " + run.cleanup_archive + "` brings it back into a store)");
    }
    SourceOptions source_options = options.source;
    if (source_options.snapshot.empty() && source_options.jsonl.empty()) {
        if (!snapshot::is_hex_digest(run.source_id)) {
            throw enmap::UsageError(run_name + " was replayed from a JSON-lines file (" + run.source_id + ")",
                                    "give that file with --source-jsonl FILE");
        }
        source_options.snapshot = run.source_id;
        spdlog::info("validating {} against the snapshot it replayed, {}", run_name, short_id(run.source_id));
    }
    auto source = open_source(source_options, globals.store);
    auto report = replay::run_validate(*source, database, decode_options(source_options));
    bool own = source->id() == run.source_id;
    if (!own) {
        spdlog::warn(
            "the source {} is not the one {} replayed ({}): a difference may be a change made between the "
            "two, not a fault of the replay",
            short_id(source->id()), run_name, short_id(run.source_id));
    }
    if (globals.json) {
        auto out = report.to_json();
        out["run"] = run.id;
        out["run_source_id"] = run.source_id;
        out["source_id"] = source->id();
        out["own_source"] = own;
        std::printf("%s\n", out.dump().c_str());
    } else {
        std::printf("validation of %s: %llu tables, %llu rows, %s (%.2f s)\n", run_name.c_str(),
                    static_cast<unsigned long long>(report.tables),
                    static_cast<unsigned long long>(report.rows), report.ok ? "ok" : "DIFFERENT",
                    report.seconds);
    }
    if (!report.ok) {
        std::string hint;
        if (target.go_live) {
            hint =
                "the database holds a committed go-live run: do not roll it back on this alone. Rows the "
                "bot wrote since go-live differ from the snapshot too; ";
            hint += own ? "look at the keys above in the bot first"
                        : "validate against the run's own snapshot (leave out --snapshot) first";
        } else if (!own) {
            hint = "validate against the run's own snapshot (leave out --snapshot and --source-jsonl)";
        } else {
            hint = "roll the rehearsal back with `enmap-migrate rollback postgres` and replay again";
        }
        throw enmap::ValidationError("the database differs from the source:" + report.describe(), hint);
    }
    return 0;
}

}  // namespace

void register_validate(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<ValidateCommandOptions>();
    auto* cmd = app.add_subcommand(
        "validate", "compare the newest committed run's raw_ tables with the source, key by key (read-only)");
    add_source_options(cmd, options->source, true);
    cmd->footer(
        "Without --snapshot or --source-jsonl, the source is the snapshot the newest run replayed; another\n"
        "source is compared too, with a warning. Nothing is written to the database.\n"
        "Exit statuses: 0 equal; 2 usage; 3 bad input; 4 policy refused data; 6 PostgreSQL error;\n"
        "7 no committed run in the database, or cleanup dropped its raw_ tables; 8 differences found\n"
        "(listed: for a changed key both values and the first JSON path where they differ).");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_validate_command(*options, globals); };
    });
}

}  // namespace cli
