#pragma once
// The global options every command sees, and the registration of commands.

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace cli {

/// Options shared by every command; set by main before a command runs.
struct GlobalOptions {
    std::string store = "./enmap-snapshots";  // --store, ENMAP_MIGRATE_STORE
    std::string database;                     // --database, DATABASE_URL
    bool json = false;                        // --json: machine-readable results on stdout
    int verbosity = 0;                        // -v raises it, -q lowers it
    /// The chosen command: its parse callback stores it here, main runs it inside the one catch.
    std::function<int()> action;
};

/// Registers every working command on the app; each command keeps a reference to the globals.
void register_commands(CLI::App& app, GlobalOptions& globals);

}  // namespace cli
