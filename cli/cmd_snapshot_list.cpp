// `enmap-migrate snapshot list`: every snapshot in the store, oldest first.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct ListOptions {};

int run_snapshot_list(const ListOptions& /*options*/, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot list");
    std::vector<std::string> damaged;
    auto all = store.list(&damaged);
    // The sound snapshots are listed first; a damaged manifest then fails the command (status 5).
    auto fail_if_damaged = [&] {
        if (damaged.empty()) {
            return 0;
        }
        std::string list;
        for (const auto& line : damaged) {
            list += "\n  " + line;
        }
        throw enmap::StoreError(
            std::to_string(damaged.size()) + " damaged manifest(s) in " + globals.store +
                ", not listed:" + list,
            "run `enmap-migrate snapshot verify` to see what each damaged snapshot affects; "
            "restore the store folder from a backup, or `snapshot import` an archive");
    };
    if (globals.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& info : all) {
            out.push_back(
                {{"id", snapshot::to_hex(info.id)},
                 {"time", info.time},
                 {"label", info.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(info.label)},
                 {"kind", info.kind},
                 {"source", info.manifest.value("source", nlohmann::json(nullptr))},
                 {"bytes_in", info.bytes_in}});
        }
        std::cout << out.dump(2) << "\n";
        return fail_if_damaged();
    }
    if (all.empty() && damaged.empty()) {
        std::cout << "no snapshots in " << globals.store << "\n";
        return 0;
    }
    for (const auto& info : all) {
        std::cout << snapshot::to_hex(info.id).substr(0, 12) << "  " << info.time.substr(0, 19) << "Z  "
                  << info.kind << "  " << human_bytes(info.bytes_in) << "  "
                  << (info.label.empty() ? "-" : info.label) << "\n";
    }
    std::cout.flush();
    return fail_if_damaged();
}
}  // namespace

void register_snapshot_list(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<ListOptions>();
    auto* cmd = snapshot.add_subcommand("list", "list the snapshots in the store, oldest first");
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_list(*options, globals); };
    });
}

}  // namespace cli
