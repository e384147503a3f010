// `enmap-migrate snapshot import FILE`: bring an archive's snapshots into the store.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct ImportOptions {
    std::string file;
};

int run_snapshot_import(const ImportOptions& options, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_write, "enmap-migrate snapshot import");
    auto ids = store.import_archive(options.file);
    if (globals.json) {
        nlohmann::json out = {{"file", options.file}, {"snapshots", nlohmann::json::array()}};
        for (const auto& id : ids) {
            out["snapshots"].push_back(snapshot::to_hex(id));
        }
        std::cout << out.dump(2) << "\n";
    } else {
        for (const auto& id : ids) {
            std::cout << "imported snapshot " << snapshot::to_hex(id) << "\n";
        }
    }
    return 0;
}
}  // namespace

void register_snapshot_import(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<ImportOptions>();
    auto* cmd = snapshot.add_subcommand("import", "bring the snapshots of an archive into the store");
    cmd->add_option("FILE", options->file, "an archive written by `snapshot archive`")->required();
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_import(*options, globals); };
    });
}

}  // namespace cli
