// `enmap-migrate snapshot create`: capture enmap.sqlite (exact or --live) or export() files.

#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/summary.hpp"

namespace cli {

namespace {
struct CreateOptions {
    std::string data_dir;
    std::string db;
    std::vector<std::string> exports;
    std::string label;
    bool live = false;
    int compression = snapshot::k_default_compression;
    unsigned threads = 0;
};

int run_snapshot_create(const CreateOptions& options, const GlobalOptions& globals) {
    snapshot::CaptureOptions capture;
    if (!options.exports.empty()) {
        if (options.live) {
            throw enmap::UsageError("--live applies to a database, not to --export files");
        }
        capture.kind = snapshot::CaptureOptions::Kind::k_export;
        capture.exports.assign(options.exports.begin(), options.exports.end());
    } else {
        capture.kind =
            options.live ? snapshot::CaptureOptions::Kind::k_live : snapshot::CaptureOptions::Kind::k_exact;
        capture.database = options.db.empty() ? std::filesystem::path(options.data_dir) / "enmap.sqlite"
                                              : std::filesystem::path(options.db);
        capture.summarize = snapshot::summarize_enmap;
        capture.summarize_pages = snapshot::summarize_enmap_pages;
    }
    capture.label = options.label;
    capture.compression = options.compression;
    capture.threads = options.threads;
    snapshot::Store store(globals.store, snapshot::Store::Access::k_write, capture.command);
    auto result = snapshot::capture(store, capture);
    const auto& m = result.manifest;
    if (globals.json) {
        nlohmann::json out = {
            {"id", snapshot::to_hex(result.id)},
            {"label", m["label"]},
            {"kind", m["kind"]},
            {"time", m["time"]},
            {"files", m["files"]},
            {"tables", m["tables"]},
            {"bytes_in", m["bytes_in"]},
            {"bytes_stored_new", m["bytes_stored_new"]},
            {"chunks_new", m["chunks_new"]},
            {"seconds", {{"store", result.seconds_store}, {"summarize", result.seconds_summarize}}}};
        for (auto& file : out["files"]) {
            file.erase("content");
        }
        std::cout << out.dump(2) << "\n";
    } else {
        std::cout << "snapshot " << snapshot::to_hex(result.id) << " (" << m["kind"].get<std::string>()
                  << ")";
        if (!options.label.empty()) {
            std::cout << " label " << options.label;
        }
        std::cout << "\n";
        for (const auto& file : m["files"]) {
            std::cout << "  " << file["name"].get<std::string>() << "  "
                      << human_bytes(file["size"].get<std::uint64_t>()) << "  sha256 "
                      << file["sha256"].get<std::string>() << "\n";
        }
        std::cout << "read " << human_bytes(m["bytes_in"].get<std::uint64_t>()) << ", stored "
                  << human_bytes(m["bytes_stored_new"].get<std::uint64_t>()) << " new\n";
    }
    return 0;
}
}  // namespace

void register_snapshot_create(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<CreateOptions>();
    auto* cmd = snapshot.add_subcommand("create", "capture a bot's Enmap data into the store");
    auto* data_dir =
        cmd->add_option("--data-dir", options->data_dir, "the bot's Enmap folder (holds enmap.sqlite)");
    auto* db = cmd->add_option("--db", options->db, "the enmap.sqlite file");
    auto* exports = cmd->add_option("--export", options->exports, "Enmap export() files, stored as they are");
    data_dir->excludes(db)->excludes(exports);
    db->excludes(exports);
    cmd->add_option("--label", options->label, "a name for the snapshot (a REF for it later)");
    cmd->add_flag("--live", options->live,
                  "capture a running bot's database through SQLite's online backup API");
    cmd->add_option("--compression", options->compression, "zstd level, 1-19")->capture_default_str();
    cmd->add_option("--threads", options->threads, "worker threads (default: the number of cores)");
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals, data_dir, db, exports] {
        if (data_dir->count() + db->count() + exports->count() == 0) {
            throw CLI::ValidationError("snapshot create", "give one of --data-dir, --db or --export");
        }
        globals.action = [options, &globals] { return run_snapshot_create(*options, globals); };
    });
}

}  // namespace cli
