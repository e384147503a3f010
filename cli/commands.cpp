#include "cli/options.hpp"

namespace cli {

void register_snapshot(CLI::App& app, GlobalOptions& globals);
void register_dump(CLI::App& app, GlobalOptions& globals);
void register_analyze(CLI::App& app, GlobalOptions& globals);
void register_replay(CLI::App& app, GlobalOptions& globals);
void register_validate(CLI::App& app, GlobalOptions& globals);
void register_status(CLI::App& app, GlobalOptions& globals);
void register_plan(CLI::App& app, GlobalOptions& globals);
void register_sample_data(CLI::App& app, GlobalOptions& globals);
void register_devdb(CLI::App& app, GlobalOptions& globals);
void register_rollback(CLI::App& app, GlobalOptions& globals);
void register_rehearse(CLI::App& app, GlobalOptions& globals);
void register_cutover(CLI::App& app, GlobalOptions& globals);
void register_cleanup(CLI::App& app, GlobalOptions& globals);
void register_doctor(CLI::App& app, GlobalOptions& globals);
void register_completion(CLI::App& app, GlobalOptions& globals);

void register_commands(CLI::App& app, GlobalOptions& globals) {
    // Each command file adds a register_<name>(app, globals) call here when it works.
    register_snapshot(app, globals);
    register_dump(app, globals);
    register_analyze(app, globals);
    register_replay(app, globals);
    register_validate(app, globals);
    register_status(app, globals);
    register_plan(app, globals);
    register_sample_data(app, globals);
    register_devdb(app, globals);
    register_rollback(app, globals);
    register_rehearse(app, globals);
    register_cutover(app, globals);
    register_cleanup(app, globals);
    register_doctor(app, globals);
    register_completion(app, globals);  // hidden: completion, man
}

}  // namespace cli
