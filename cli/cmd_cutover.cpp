// enmap-migrate cutover: migration day as one command: refuse while the bot runs, the exact final
// snapshot, the catch-up replay of what changed since the pre-seed, validation, the downtime.

#include <cstdio>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/naming.hpp"
#include "rollback/cutover.hpp"
#include "snapshot/capture.hpp"

namespace cli {

namespace {

struct CutoverCommandOptions {
    std::string data_dir;
    std::string db;
    std::string since;
    std::string plan;
    std::string label;
    bool dry_run = false;
    int compression = snapshot::k_default_compression;
    unsigned threads = 0;
    SourceOptions policies;  // --invalid-text, --functions, --format: as the base run had them
    std::vector<std::string> renames;
    std::vector<std::string> autonum;
};

void print_report(const rollback::CutoverReport& report) {
    const auto& r = report.replay;
    std::printf("cutover %s: snapshot %s (%s), catch-up of run %lld (snapshot %s), run %lld\n",
                r.status.c_str(), report.snapshot_id.substr(0, 12).c_str(), report.label.c_str(),
                static_cast<long long>(r.base_run), report.base_id.substr(0, 12).c_str(),
                static_cast<long long>(r.run_id));
    for (const auto& t : r.catchup["tables"]) {
        std::printf("  %-32s +%llu ~%llu -%llu\n", t["table"].get<std::string>().c_str(),
                    static_cast<unsigned long long>(t["added"].get<std::uint64_t>()),
                    static_cast<unsigned long long>(t["changed"].get<std::uint64_t>()),
                    static_cast<unsigned long long>(t["removed"].get<std::uint64_t>()));
    }
    for (const auto& m : r.modules) {
        if (!m.catchup.empty()) {
            std::printf("  module %-25s %s (%llu upserted, %llu deleted)\n", m.name.c_str(),
                        m.catchup.c_str(), static_cast<unsigned long long>(m.upserted),
                        static_cast<unsigned long long>(m.deleted));
        }
    }
    std::printf("  validation: %llu tables, %llu rows, %s\n",
                static_cast<unsigned long long>(r.validation.tables),
                static_cast<unsigned long long>(r.validation.rows), r.validation.ok ? "ok" : "DIFFERENT");
    const auto& d = report.downtime;
    std::printf(
        "downtime %.2f s: snapshot %.2f, diff %.2f, apply %.2f, transforms %.2f, validation %.2f, other "
        "%.2f\n",
        d.total, d.snapshot, d.diff, d.apply, d.transforms, d.validation, d.other);
    if (r.status == "dry-run") {
        std::printf("dry run: the catch-up rolled back; the target is as it was\n");
    } else {
        std::printf(
            "the target holds the bot's data as of the final snapshot: start the bot on PostgreSQL\n");
    }
}

int run_cutover(const CutoverCommandOptions& options, const GlobalOptions& globals) {
    rollback::CutoverOptions o;
    o.store = globals.store;
    o.database = options.db.empty() ? std::filesystem::path(options.data_dir) / "enmap.sqlite"
                                    : std::filesystem::path(options.db);
    o.base_ref = options.since;
    o.plan_dir = options.plan;
    o.database_url = target_database(globals);
    o.label = options.label;
    if (!o.label.empty()) {
        snapshot::validate_label(o.label);
    }
    o.dry_run = options.dry_run;
    o.compression = options.compression;
    o.threads = options.threads;
    SourceOptions policies = options.policies;
    ReplayTuning tuning;
    tuning.renames = options.renames;
    tuning.autonum = options.autonum;
    apply_plan_settings(options.plan, policies, tuning);  // plan.json's renames, formats, policies
    o.decode = decode_options(policies);
    o.formats = format_overrides(policies);
    o.renames = replay::parse_renames(tuning.renames);
    o.autonum = replay::parse_autonum(tuning.autonum);
    replay::Events events(globals.json,
                          !globals.json && globals.verbosity >= 0 && replay::stderr_is_terminal());
    auto report = rollback::cutover(o, events);
    if (globals.json) {
        events.report(report.to_json());  // the last of the JSON lines
    } else {
        print_report(report);
    }
    return report.replay.exit_status();
}

}  // namespace

void register_cutover(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<CutoverCommandOptions>();
    auto* cmd = app.add_subcommand(
        "cutover",
        "migration day: with the bot stopped, the final snapshot, the catch-up since BASE, validation");
    auto* data_dir =
        cmd->add_option("--data-dir", options->data_dir, "the bot's Enmap folder (holds enmap.sqlite)");
    auto* db = cmd->add_option("--db", options->db, "the enmap.sqlite file");
    data_dir->excludes(db);
    cmd->add_option("--since", options->since,
                    "the pre-seed snapshot (id, prefix, label) whose committed run the target holds")
        ->required();
    cmd->add_option("--plan", options->plan, "the migration plan folder the base run used (plan.json)")
        ->required()
        ->check(CLI::ExistingDirectory);
    cmd->add_option("--label", options->label, "the final snapshot's label (default: cutover-<UTC time>)");
    cmd->add_flag("--dry-run", options->dry_run,
                  "do everything, validate, then roll the catch-up back (the final snapshot stays)");
    cmd->add_option("--compression", options->compression, "zstd level of the final snapshot, 1-19")
        ->capture_default_str();
    cmd->add_option("--threads", options->threads, "snapshot worker threads (default: the number of cores)");
    add_policy_options(cmd, options->policies);
    cmd->add_option("--rename", options->renames, "ENMAP=TABLE, as the base run had it");
    cmd->add_option("--autonum", options->autonum, "ENMAP=N, as replay takes it");
    cmd->footer(
        "The day before: `snapshot create --live --label base` and `replay --snapshot base --plan DIR`.\n"
        "On the day: stop the bot, run cutover, start the bot on PostgreSQL. On failure the target is as\n"
        "it was and the message says what to run; the bot's Enmap data is never written.\n"
        "Exit statuses: 0 validated and committed (or the dry run passed); 2 usage; 3 bad input or plan;\n"
        "4 policy refused data; 5 store damaged or BASE missing; 6 PostgreSQL error (rolled back);\n"
        "7 refused: the bot still has the database open, the target holds no committed run of BASE,\n"
        "or the plan changed since; 8 validation failed (rolled back); 9 out of disk space.");
    cmd->callback([options, &globals, data_dir, db] {
        if (data_dir->count() + db->count() != 1) {
            throw CLI::ValidationError("cutover", "give one of --data-dir or --db");
        }
        globals.action = [options, &globals] { return run_cutover(*options, globals); };
    });
}

}  // namespace cli
