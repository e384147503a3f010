// `enmap-migrate snapshot verify [REF]`: re-read and re-hash the store.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct VerifyOptions {
    std::string ref;
};

int run_snapshot_verify(const VerifyOptions& options, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot verify");
    std::optional<snapshot::Hash> only;
    if (!options.ref.empty()) {
        only = store.resolve(options.ref);
    }
    auto report = store.verify(only);
    if (globals.json) {
        std::cout << report.to_json().dump(2) << "\n";
    } else {
        std::cout << "checked " << report.packs << " packs, " << report.chunks << " chunks, "
                  << report.indexes << " index files, " << report.snapshots << " snapshots";
        if (only) {
            std::cout << ", " << report.files << " whole files";
        }
        std::cout << "\n";
        for (const auto& line : report.damaged) {
            std::cout << "DAMAGED " << line << "\n";
        }
        for (const auto& id : report.affected) {
            std::cout << "AFFECTED snapshot " << id << "\n";
        }
    }
    if (!report.ok()) {
        throw enmap::StoreError(
            "the store " + globals.store + " is damaged: " + std::to_string(report.damaged.size()) +
                " problem(s), " + std::to_string(report.affected.size()) + " snapshot(s) affected",
            "restore the damaged files from a copy or an archive (`snapshot import`), or prune the affected "
            "snapshots");
    }
    if (!globals.json) {
        std::cout << "no damage found\n";
    }
    return 0;
}
}  // namespace

void register_snapshot_verify(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<VerifyOptions>();
    auto* cmd = snapshot.add_subcommand(
        "verify", "re-read and re-hash every pack, chunk, index and manifest (or what one snapshot needs)");
    cmd->add_option("REF", options->ref, "only this snapshot, and re-assemble its files");
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_verify(*options, globals); };
    });
}

}  // namespace cli
