// `enmap-migrate snapshot restore REF --to DIR`: write a snapshot's files back out, checked.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct RestoreOptions {
    std::string ref;
    std::string to;
    bool force = false;
    bool no_sync = false;
};

int run_snapshot_restore(const RestoreOptions& options, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot restore");
    auto id = store.resolve(options.ref);
    snapshot::MaterializeOptions materialize;
    materialize.overwrite = options.force;
    materialize.durable = !options.no_sync;
    store.materialize(id, options.to, materialize);
    auto manifest = store.read_manifest(id);
    if (globals.json) {
        nlohmann::json out = {
            {"id", snapshot::to_hex(id)}, {"to", options.to}, {"files", nlohmann::json::array()}};
        for (const auto& file : manifest["files"]) {
            out["files"].push_back(
                {{"name", file["name"]}, {"size", file["size"]}, {"sha256", file["sha256"]}});
        }
        std::cout << out.dump(2) << "\n";
    } else {
        for (const auto& file : manifest["files"]) {
            std::cout << "restored "
                      << (std::filesystem::path(options.to) / file["name"].get<std::string>()).string()
                      << " (" << human_bytes(file["size"].get<std::uint64_t>()) << ", sha256 verified)\n";
        }
    }
    return 0;
}
}  // namespace

void register_snapshot_restore(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<RestoreOptions>();
    auto* cmd =
        snapshot.add_subcommand("restore", "write a snapshot's files into a folder, checking every hash");
    cmd->add_option("REF", options->ref, "snapshot id, unique id prefix, label or latest")->required();
    cmd->add_option("--to", options->to, "the folder to write the files into")->required();
    cmd->add_flag("--force", options->force,
                  "replace existing files, and remove stale -wal/-shm/-journal files beside the database");
    cmd->add_flag("--no-sync", options->no_sync,
                  "do not fsync the files: faster, for scratch copies; a crash right after may lose them");
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_restore(*options, globals); };
    });
}

}  // namespace cli
