// `enmap-migrate snapshot diff REF REF`: what changed between two snapshots.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/diff.hpp"

namespace cli {

namespace {
struct DiffOptions {
    std::string from;
    std::string to;
};

int run_snapshot_diff(const DiffOptions& options, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot diff");
    auto diff = snapshot::diff_snapshots(store, store.resolve(options.from), store.resolve(options.to));
    if (globals.json) {
        std::cout << diff.dump(2) << "\n";
        return 0;
    }
    std::cout << "from " << diff["from"].get<std::string>() << "\nto   " << diff["to"].get<std::string>()
              << "\n";
    for (const auto& file : diff["files"]) {
        std::string status = file["status"];
        std::cout << "  " << status << "  " << file["name"].get<std::string>();
        if (status == "changed") {
            std::cout << "  " << file["chunks_changed"].get<std::uint64_t>() << " of "
                      << file["chunks_to"].get<std::uint64_t>() << " chunks changed ("
                      << file["chunks_new"].get<std::uint64_t>() << " new), size "
                      << human_bytes(file["size_from"].get<std::uint64_t>()) << " -> "
                      << human_bytes(file["size_to"].get<std::uint64_t>());
        }
        std::cout << "\n";
    }
    for (const auto& table : diff["tables"]) {
        if (table["status"] == "same") {
            continue;
        }
        std::cout << "  table " << table["status"].get<std::string>() << "  "
                  << table["table"].get<std::string>() << "  "
                  << table.value("from", nlohmann::json(nullptr)).dump() << " -> "
                  << table.value("to", nlohmann::json(nullptr)).dump() << "\n";
    }
    return 0;
}
}  // namespace

void register_snapshot_diff(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<DiffOptions>();
    auto* cmd = snapshot.add_subcommand("diff", "compare two snapshots: files, chunks and table summaries");
    cmd->add_option("FROM", options->from, "the older snapshot (REF)")->required();
    cmd->add_option("TO", options->to, "the newer snapshot (REF)")->required();
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_diff(*options, globals); };
    });
}

}  // namespace cli
