#include "cli/cmd_snapshot.hpp"

#include <cstdio>

namespace cli {

void register_snapshot(CLI::App& app, GlobalOptions& globals) {
    auto* snapshot =
        app.add_subcommand("snapshot", "capture Enmap data into the snapshot store, inspect, restore");
    snapshot->require_subcommand(1);
    snapshot->footer(snapshot_exit_statuses());
    register_snapshot_create(*snapshot, globals);
    register_snapshot_list(*snapshot, globals);
    register_snapshot_show(*snapshot, globals);
    register_snapshot_diff(*snapshot, globals);
    register_snapshot_verify(*snapshot, globals);
    register_snapshot_prune(*snapshot, globals);
    register_snapshot_archive(*snapshot, globals);
    register_snapshot_import(*snapshot, globals);
    register_snapshot_restore(*snapshot, globals);
}

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* k_units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(k_units)) {
        value /= 1024;
        ++unit;
    }
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), unit == 0 ? "%.0f %s" : "%.1f %s", value, k_units[unit]);
    return buffer;
}

std::string snapshot_exit_statuses(const std::string& extra) {
    return "Exit statuses:\n"
           "  0  success\n"
           "  2  usage error (bad command line, ambiguous snapshot reference)\n"
           "  3  bad input (missing or unreadable database, export file or archive)\n"
           "  5  the snapshot store is damaged, or a snapshot is missing\n"
           "  7  refused for safety (database in use, store locked, files in the way)\n"
           "  9  out of disk space (the store, TMPDIR, or the folder written to)\n" +
           extra;
}

}  // namespace cli
