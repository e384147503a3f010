// enmap-migrate validate: compare the raw_ tables of the newest committed run with the source.

#include <cstdio>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/engine.hpp"

namespace cli {

namespace {

struct ValidateCommandOptions {
    SourceOptions source;
};

int run_validate_command(const ValidateCommandOptions& options, const GlobalOptions& globals) {
    std::string database = target_database(globals);
    auto source = open_source(options.source, globals.store);
    auto report = replay::run_validate(*source, database, decode_options(options.source));
    if (globals.json) {
        std::printf("%s\n", report.to_json().dump().c_str());
    } else {
        std::printf("validation: %llu tables, %llu rows, %s (%.2f s)\n",
                    static_cast<unsigned long long>(report.tables),
                    static_cast<unsigned long long>(report.rows), report.ok ? "ok" : "DIFFERENT",
                    report.seconds);
    }
    if (!report.ok) {
        throw enmap::ValidationError(
            "the database differs from the source:" + report.describe(),
            "roll the run back with `enmap-migrate rollback postgres` and replay again");
    }
    return 0;
}

}  // namespace

void register_validate(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<ValidateCommandOptions>();
    auto* cmd = app.add_subcommand(
        "validate", "compare the newest committed run's raw_ tables with the source, key by key");
    add_source_options(cmd, options->source, true);
    cmd->footer(
        "Exit statuses: 0 equal; 2 usage; 3 bad input; 4 policy refused data; 6 PostgreSQL error;\n"
        "7 no committed run in the database; 8 differences found (listed).");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_validate_command(*options, globals); };
    });
}

}  // namespace cli
