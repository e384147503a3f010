// enmap-migrate rehearse: the rehearsal loop in one command: snapshot, roll back the previous
// rehearsal, replay with the plan, validate, report.

#include <cstdio>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/devdb.hpp"
#include "replay/naming.hpp"
#include "rollback/rehearse.hpp"

namespace cli {

namespace {

struct RehearseCommandOptions {
    std::string data_dir;
    std::string snapshot;
    std::string plan;
    std::string database;
    bool live = false;
    SourceOptions policies;  // --invalid-text, --functions, --format, as replay has them
    ReplayTuning tuning;     // --keep-going, --only, --rename, as replay has them
};

void print_report(const rollback::RehearseReport& report) {
    std::printf("rehearsal of snapshot %s%s\n", report.snapshot_id.c_str(),
                report.snapshot_created ? " (just taken)" : "");
    for (auto id : report.rolled_back) {
        std::printf("  rolled back the previous rehearsal, run %lld\n", static_cast<long long>(id));
    }
    const auto& r = report.replay;
    std::printf("  replay %s, run %lld: %llu rows in %.2f s\n", r.status.c_str(),
                static_cast<long long>(r.run_id), static_cast<unsigned long long>(r.rows), r.seconds);
    std::printf("  %-24s %-10s %10s %9s\n", "module", "status", "rows", "seconds");
    for (const auto& m : r.modules) {
        std::printf("  %-24s %-10s %10llu %9.2f\n", m.name.c_str(), m.status.c_str(),
                    static_cast<unsigned long long>(m.rows), m.seconds);
    }
    std::printf("  validation after commit: %llu tables, %llu rows, %s\n",
                static_cast<unsigned long long>(report.validation.tables),
                static_cast<unsigned long long>(report.validation.rows),
                report.validation.ok ? "ok" : "DIFFERENT");
    std::printf("  table digests (rows:digest):\n");
    for (const auto& [table, digest] : report.digests) {
        std::printf("    %-40s %s\n", table.c_str(), digest.c_str());
    }
    std::printf("  rehearsal digest: %s (equal across rehearsals of the same snapshot and plan)\n",
                report.digest.c_str());
}

int run_rehearse(const RehearseCommandOptions& options, const GlobalOptions& globals) {
    rollback::RehearseOptions o;
    o.store = globals.store;
    if (!options.data_dir.empty()) {
        o.data_dir = options.data_dir;
    }
    o.snapshot_ref = options.snapshot;
    o.live = options.live;
    o.plan_dir = options.plan;
    o.database_url =
        replay::default_database_url(options.database.empty() ? globals.database : options.database);
    SourceOptions policies = options.policies;
    ReplayTuning tuning = options.tuning;
    apply_plan_settings(options.plan, policies, tuning);  // plan.json's renames, formats, policies
    o.decode = decode_options(policies);
    o.formats = format_overrides(policies);
    o.renames = replay::parse_renames(tuning.renames);
    o.only = tuning.only;
    o.keep_going = tuning.keep_going;
    o.autonum = replay::parse_autonum(tuning.autonum);
    replay::Events events(globals.json,
                          !globals.json && globals.verbosity >= 0 && replay::stderr_is_terminal());
    auto report = rollback::rehearse(o, events);
    if (globals.json) {
        // The last of the JSON lines: the replay's events came first, one object per line.
        events.report(report.to_json());
    } else {
        print_report(report);
    }
    return report.replay.exit_status();
}

}  // namespace

void register_rehearse(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<RehearseCommandOptions>();
    auto* cmd = app.add_subcommand(
        "rehearse",
        "one rehearsal: snapshot, roll back the previous rehearsal, replay with the plan, validate");
    auto* data_dir = cmd->add_option("--data-dir", options->data_dir, "snapshot this Enmap folder first");
    auto* snap = cmd->add_option("--snapshot", options->snapshot,
                                 "rehearse this snapshot (id, prefix, label, latest)");
    data_dir->excludes(snap);
    cmd->add_option("--plan", options->plan, "the migration plan folder (plan.json)")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--database", options->database,
                    "PostgreSQL URL (default: $DATABASE_URL, else the embedded dev database)");
    cmd->add_flag("--live", options->live, "snapshot a running bot through SQLite's online backup API");
    add_policy_options(cmd, options->policies);
    add_tuning_options(cmd, options->tuning);
    cmd->footer(
        "Rehearse takes replay's --rename, --only, --keep-going, --format, --invalid-text and --functions,\n"
        "and applies the \"renames\", \"formats\" and \"policies\" of plan.json (the command line wins).\n"
        "Rehearse only rolls back runs it made itself; a database holding another run is refused.\n"
        "Exit statuses: 0 rehearsal passed; 2 usage; 3 bad input or plan; 4 policy refused data;\n"
        "5 store damaged or snapshot missing; 6 PostgreSQL error; 7 refused (database in use, or the\n"
        "database holds a run that is not a rehearsal); 8 a verify query or validation failed;\n"
        "9 out of disk space (the store or TMPDIR).");
    cmd->callback([options, &globals, data_dir, snap] {
        if (data_dir->count() + snap->count() != 1) {
            throw CLI::ValidationError("rehearse", "give one of --data-dir or --snapshot");
        }
        if (options->live && snap->count() > 0) {
            throw CLI::ValidationError("rehearse", "--live applies to --data-dir");
        }
        globals.action = [options, &globals] { return run_rehearse(*options, globals); };
    });
}

}  // namespace cli
