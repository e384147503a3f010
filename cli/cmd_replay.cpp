// enmap-migrate replay: load the source into PostgreSQL in one transaction, a savepoint per module.

#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/engine.hpp"
#include "replay/naming.hpp"

namespace cli {

namespace {

struct ReplayCommandOptions {
    SourceOptions source;
    std::string plan;
    bool dry_run = false;
    std::string since;    // --since BASE: a catch-up replay
    ReplayTuning tuning;  // --keep-going, --only, --rename: shared with rehearse
};

void print_report(const replay::ReplayReport& report) {
    std::printf("replay %s%s: %llu rows in %.2f s (load %.2f s, %.0f rows/s)\n", report.status.c_str(),
                report.run_id > 0 ? (", run " + std::to_string(report.run_id)).c_str() : "",
                static_cast<unsigned long long>(report.rows), report.seconds, report.load_seconds,
                report.load_seconds > 0 ? static_cast<double>(report.rows) / report.load_seconds : 0.0);
    std::printf("  %-24s %-10s %10s %9s %11s %9s %9s\n", "module", "status", "rows", "load s", "transform s",
                "verify s", "rows/s");
    for (const auto& m : report.modules) {
        std::printf("  %-24s %-10s %10llu %9.2f %11.2f %9.2f %9.0f\n", m.name.c_str(), m.status.c_str(),
                    static_cast<unsigned long long>(m.rows), m.load_seconds, m.transform_seconds,
                    m.verify_seconds,
                    m.load_seconds > 0 ? static_cast<double>(m.rows) / m.load_seconds : 0.0);
        if (!m.error.empty()) {
            std::printf("    error: %s\n", m.error.c_str());
        }
    }
    if (report.base_run > 0) {
        std::printf("  catch-up of run %lld: diff %.2f s\n", static_cast<long long>(report.base_run),
                    report.catchup.value("seconds", 0.0));
        for (const auto& t : report.catchup["tables"]) {
            std::printf("    %-24s +%llu ~%llu -%llu\n", t["table"].get<std::string>().c_str(),
                        static_cast<unsigned long long>(t["added"].get<std::uint64_t>()),
                        static_cast<unsigned long long>(t["changed"].get<std::uint64_t>()),
                        static_cast<unsigned long long>(t["removed"].get<std::uint64_t>()));
        }
        for (const auto& m : report.modules) {
            if (!m.catchup.empty()) {
                std::printf("    module %-17s %s (%llu upserted, %llu deleted)\n", m.name.c_str(),
                            m.catchup.c_str(), static_cast<unsigned long long>(m.upserted),
                            static_cast<unsigned long long>(m.deleted));
            }
        }
    }
    std::printf("  tables:");
    for (const auto& [enmap, table] : report.table_names) {
        std::printf(" %s->%s", enmap.c_str(), table.c_str());
    }
    std::printf("\n  validation: %llu tables, %llu rows, %s (%.2f s)\n",
                static_cast<unsigned long long>(report.validation.tables),
                static_cast<unsigned long long>(report.validation.rows),
                report.validation.ok ? "ok" : "DIFFERENT", report.validation.seconds);
    auto lossy = replay::lossy_json(report.lossy);
    std::printf("  lossy conversions: %s\n", lossy.empty() ? "none" : lossy.dump().c_str());
    for (const auto& a : report.autonum) {
        std::printf("  autonum counter of %s: %lld (from %s, not from the source)\n",
                    a["enmap"].get<std::string>().c_str(),
                    static_cast<long long>(a["lastnum"].get<std::int64_t>()),
                    a["from"].get<std::string>().c_str());
    }
    if (!report.drizzle_rows.empty()) {
        std::printf("  drizzle migrations applied: %zu\n", report.drizzle_rows.size());
    }
}

int run_replay_command(const ReplayCommandOptions& options, const GlobalOptions& globals) {
    std::string database = target_database(globals);
    replay::ReplayOptions o;
    o.database_url = database;
    if (!options.plan.empty()) {
        o.plan_dir = options.plan;
    }
    SourceOptions source_options = options.source;
    ReplayTuning tuning = options.tuning;
    apply_plan_settings(options.plan, source_options, tuning);  // plan.json's renames, formats, policies
    o.dry_run = options.dry_run;
    o.keep_going = tuning.keep_going;
    o.only = tuning.only;
    o.renames = replay::parse_renames(tuning.renames);
    o.autonum = replay::parse_autonum(tuning.autonum);
    o.decode = decode_options(source_options);
    auto source = open_source(source_options, globals.store);
    std::unique_ptr<replay::Source> base;
    if (!options.since.empty()) {
        if (source_options.snapshot.empty()) {
            throw enmap::UsageError("--since BASE needs --snapshot NEW: a catch-up compares two snapshots");
        }
        SourceOptions base_options = source_options;
        base_options.snapshot = options.since;
        base = open_source(base_options, globals.store);
        o.since = base.get();
    }
    replay::Events events(globals.json,
                          !globals.json && globals.verbosity >= 0 && replay::stderr_is_terminal());
    auto report = replay::run_replay(*source, o, events);
    if (!globals.json) {
        print_report(report);
    }
    return report.exit_status();
}

}  // namespace

void register_replay(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<ReplayCommandOptions>();
    auto* cmd = app.add_subcommand(
        "replay", "load the source into PostgreSQL: one transaction, a savepoint per module");
    add_source_options(cmd, options->source, true);
    cmd->add_option("--plan", options->plan,
                    "migration plan folder (plan.json); without it each enmap is a module")
        ->check(CLI::ExistingDirectory);
    cmd->add_flag("--dry-run", options->dry_run, "do everything, validate, then roll back: leaves no trace");
    cmd->add_option("--since", options->since,
                    "catch-up: the target holds a committed run of snapshot BASE; apply only what changed "
                    "from BASE to --snapshot");
    add_tuning_options(cmd, options->tuning);
    cmd->footer(
        "Exit statuses: 0 committed (or dry run passed); 2 usage; 3 bad input or plan; 4 policy refused "
        "data\n"
        "(nothing written); 6 PostgreSQL error (rolled back); 7 the database already holds a run (with\n"
        "--since: it holds no committed run of BASE, the plan changed, or NEW is not a later capture);\n"
        "8 a verify query or validation failed (rolled back); 9 out of disk space here (TMPDIR holds the\n"
        "decoded rows; nothing written). With --keep-going the run commits and exits with the status of\n"
        "the first failed module.");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_replay_command(*options, globals); };
    });
}

}  // namespace cli
