// `enmap-migrate snapshot archive REF... --out FILE`: snapshots and their chunks in one file.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct ArchiveOptions {
    std::vector<std::string> refs;
    std::string out;
};

int run_snapshot_archive(const ArchiveOptions& options, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot archive");
    std::vector<snapshot::Hash> ids;
    for (const auto& ref : options.refs) {
        auto id = store.resolve(ref);
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
            ids.push_back(id);
        }
    }
    store.archive(ids, options.out);
    auto size = std::filesystem::file_size(options.out);
    if (globals.json) {
        nlohmann::json out = {{"out", options.out}, {"bytes", size}, {"snapshots", nlohmann::json::array()}};
        for (const auto& id : ids) {
            out["snapshots"].push_back(snapshot::to_hex(id));
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::cout << "wrote " << ids.size() << " snapshot(s) to " << options.out << " (" << human_bytes(size)
                  << ")\n";
    }
    return 0;
}
}  // namespace

void register_snapshot_archive(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<ArchiveOptions>();
    auto* cmd = snapshot.add_subcommand(
        "archive", "write snapshots and every chunk they need into one self-contained, checksummed file");
    cmd->add_option("REF", options->refs, "snapshots to archive")->required();
    cmd->add_option("--out", options->out, "the archive file to write")->required();
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_archive(*options, globals); };
    });
}

}  // namespace cli
