#include "cli/cmd_snapshot.hpp"
#include "cli/options.hpp"

namespace cli {

void register_commands(CLI::App& app, GlobalOptions& globals) {
    // Each command file adds a register_<name>(app, globals) call here when it works.
    register_snapshot(app, globals);
}

}  // namespace cli
