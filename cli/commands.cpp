#include "cli/options.hpp"

namespace cli {

void register_dump(CLI::App& app, GlobalOptions& globals);

void register_commands(CLI::App& app, GlobalOptions& globals) {
    // Each command file adds a register_<name>(app, globals) call here when it works.
    register_dump(app, globals);
}

}  // namespace cli
