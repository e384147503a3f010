// `enmap-migrate snapshot diff REF REF`: what changed between two snapshots.

#include <cstdio>
#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "replay/snapshot_source.hpp"
#include "replay/source_diff.hpp"
#include "snapshot/diff.hpp"

namespace cli {

namespace {
struct DiffOptions {
    std::string from;
    std::string to;
};

// The rows added, removed and changed per table, from both snapshots decoded (never refused:
// text is replaced and functions kept as source, as the manifests' summaries are made).
std::vector<replay::TableRowDiff> row_changes(const GlobalOptions& globals, const std::string& from,
                                              const std::string& to) {
    enmap::DecodeOptions decode;
    decode.invalid_text = enmap::InvalidTextPolicy::k_replace;
    decode.functions = enmap::FunctionPolicy::k_source;
    replay::SnapshotSource a(globals.store, from);
    replay::SnapshotSource b(globals.store, to);
    a.prepare(decode);
    b.prepare(decode);
    return replay::diff_sources(a, b);
}

int run_snapshot_diff(const DiffOptions& options, const GlobalOptions& globals) {
    nlohmann::json diff;
    {
        snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot diff");
        diff = snapshot::diff_snapshots(store, store.resolve(options.from), store.resolve(options.to));
    }
    auto rows = row_changes(globals, diff["from"].get<std::string>(), diff["to"].get<std::string>());
    if (globals.json) {
        diff["rows"] = nlohmann::json::array();
        for (const auto& r : rows) {
            diff["rows"].push_back(r.to_json());
        }
        std::cout << diff.dump(2) << "\n";
        return 0;
    }
    std::cout << "from " << diff["from"].get<std::string>() << "\nto   " << diff["to"].get<std::string>()
              << "\nfiles:\n";
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
    std::printf("tables:\n  %-28s %10s %10s %9s %9s %9s\n", "table", "rows from", "rows to", "added",
                "removed", "changed");
    std::uint64_t total = 0;
    for (const auto& r : rows) {
        std::string name = r.enmap + (!r.in_from ? " (new)" : !r.in_to ? " (gone)" : "");
        std::printf("  %-28s %10llu %10llu %9llu %9llu %9llu\n", name.c_str(),
                    static_cast<unsigned long long>(r.rows_from), static_cast<unsigned long long>(r.rows_to),
                    static_cast<unsigned long long>(r.added), static_cast<unsigned long long>(r.removed),
                    static_cast<unsigned long long>(r.changed));
        total += r.added + r.removed + r.changed;
    }
    std::printf("  %llu row(s) differ\n", static_cast<unsigned long long>(total));
    return 0;
}
}  // namespace

void register_snapshot_diff(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<DiffOptions>();
    auto* cmd = snapshot.add_subcommand(
        "diff", "compare two snapshots: files, chunks, and rows added, removed and changed per table");
    cmd->add_option("FROM", options->from, "the older snapshot (REF)")->required();
    cmd->add_option("TO", options->to, "the newer snapshot (REF)")->required();
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_diff(*options, globals); };
    });
}

}  // namespace cli
