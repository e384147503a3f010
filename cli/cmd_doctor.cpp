// enmap-migrate doctor: check a target database before migration day, and estimate how long the
// replay of a snapshot will take on this link.

#include <cstdio>
#include <memory>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "replay/doctor.hpp"

namespace cli {

namespace {

struct DoctorCommandOptions {
    std::string database;
    SourceOptions source;
};

void print_report(const replay::DoctorReport& report) {
    std::printf("doctor: %s\n", report.database.c_str());
    int counts[3] = {0, 0, 0};
    for (const auto& c : report.checks) {
        std::printf("  %-4s  %-36s %s\n", c.status.c_str(), c.name.c_str(), c.detail.c_str());
        if (!c.hint.empty() && c.status != "ok") {
            std::printf("        %-36s hint: %s\n", "", c.hint.c_str());
        }
        counts[c.status == "ok" ? 0 : c.status == "warn" ? 1 : 2]++;
    }
    std::printf("%d ok, %d warn, %d fail\n", counts[0], counts[1], counts[2]);
}

int run_doctor_command(const DoctorCommandOptions& options, const GlobalOptions& globals) {
    replay::DoctorOptions o;
    GlobalOptions target = globals;
    if (!options.database.empty()) {
        target.database = options.database;
    }
    o.database_url = target_database(target);
    std::unique_ptr<replay::Source> source;
    if (!options.source.snapshot.empty()) {
        source = open_source(options.source, globals.store);
        o.source = source.get();
    }
    auto report = replay::run_doctor(o);
    if (globals.json) {
        std::printf("%s\n", report.to_json().dump().c_str());
    } else {
        print_report(report);
    }
    return report.exit_status();
}

}  // namespace

void register_doctor(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<DoctorCommandOptions>();
    auto* cmd = app.add_subcommand(
        "doctor",
        "check a target database before migration day: TLS, endpoint, privileges, encoding, "
        "timeouts, round trips, COPY throughput, and with --snapshot the replay's duration");
    cmd->add_option("--database", options->database,
                    "PostgreSQL URL (default: $DATABASE_URL, else the embedded dev database)");
    cmd->add_option("--snapshot", options->source.snapshot,
                    "estimate how long replaying this snapshot (id, prefix, label, latest) will take");
    cmd->footer(
        "Each check prints ok, warn or fail, with a hint; --json prints them as one object.\n"
        "Exit statuses: 0 no check failed (warnings allowed); 2 usage; 5 store damaged or snapshot\n"
        "missing; 6 a check failed (or no connection could be made).");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_doctor_command(*options, globals); };
    });
}

}  // namespace cli
