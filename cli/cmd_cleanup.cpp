// enmap-migrate cleanup: after go-live, archive the pre-migration snapshots, verify the archive,
// drop the raw_ tables, optionally prune the archived snapshots.

#include <iostream>

#include "cli/options.hpp"
#include "enmap/error.hpp"
#include "replay/devdb.hpp"
#include "rollback/cleanup.hpp"

namespace cli {

namespace {

struct CleanupCommandOptions {
    std::string database;
    std::string older_than = "48h";
    std::string archive_to;
    bool prune = false;
    bool force = false;
};

int run_cleanup(const CleanupCommandOptions& options, const GlobalOptions& globals) {
    rollback::CleanupOptions o;
    o.store = globals.store;
    o.database_url =
        replay::default_database_url(options.database.empty() ? globals.database : options.database);
    o.older_than_seconds = rollback::parse_duration(options.older_than);
    o.archive_to = options.archive_to;
    o.prune = options.prune;
    o.force = options.force;
    auto report = rollback::cleanup(o);
    if (globals.json) {
        std::cout << report.to_json().dump(2) << "\n";
        return 0;
    }
    if (report.runs.empty()) {
        std::cout << "nothing to clean up: no committed run still holds raw_ tables\n";
        return 0;
    }
    std::cout << "archived " << report.snapshots.size() << " pre-migration snapshot(s) to " << report.archive
              << " (" << report.archive_bytes << " bytes, sha256 " << report.archive_sha256
              << "), checked by importing it into an empty store\n";
    for (const auto& t : report.dropped) {
        std::cout << "  dropped " << t << "\n";
    }
    for (const auto& s : report.pruned) {
        std::cout << "  pruned snapshot " << s << " from the store\n";
    }
    std::cout << "restore later with: enmap-migrate --store NEW_STORE snapshot import " << report.archive
              << "\n";
    return 0;
}

}  // namespace

void register_cleanup(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<CleanupCommandOptions>();
    auto* cmd = app.add_subcommand(
        "cleanup", "after go-live: archive the pre-migration snapshots, then drop the raw_ tables");
    cmd->add_option("--database", options->database,
                    "PostgreSQL URL (default: $DATABASE_URL, else the embedded dev database)");
    cmd->add_option("--older-than", options->older_than, "the window after go-live: 90s, 30m, 48h, 7d")
        ->capture_default_str();
    cmd->add_option("--archive-to", options->archive_to,
                    "the archive file to write (one self-contained file)")
        ->required();
    cmd->add_flag("--prune", options->prune, "remove the archived snapshots from the store afterwards");
    cmd->add_flag("--force", options->force, "also clean up runs committed inside the window");
    cmd->footer(
        "Exit statuses: 0 cleaned up (or nothing to do); 2 usage; 5 the archive failed its check (nothing\n"
        "dropped) or the store is damaged; 6 PostgreSQL error (nothing dropped); 7 refused: a run is\n"
        "inside the window (use --force), a run was not replayed from a snapshot, or the store is locked;\n"
        "9 out of disk space for the archive (nothing dropped).");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_cleanup(*options, globals); };
    });
}

}  // namespace cli
