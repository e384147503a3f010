// `enmap-migrate snapshot show REF`: one snapshot's manifest.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "replay/snapshot_source.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct ShowOptions {
    std::string ref;
};

// The tables of a snapshot whose manifest has no summaries (an --export snapshot): its files
// decoded (never refused: text replaced, functions kept as source, as summaries are made).
nlohmann::json decoded_tables(const GlobalOptions& globals, const std::string& id) {
    enmap::DecodeOptions decode;
    decode.invalid_text = enmap::InvalidTextPolicy::k_replace;
    decode.functions = enmap::FunctionPolicy::k_source;
    replay::SnapshotSource source(globals.store, id);
    source.prepare(decode);
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& t : source.tables()) {
        tables[t.enmap_name] = {
            {"rows", t.rows}, {"sha256", t.digest}, {"encoding", t.encoding}, {"decoded", true}};
    }
    for (const auto& a : source.autonum()) {
        tables["internal::autonum"]["counters"][a.enmap] = a.lastnum;
    }
    return tables;
}

int run_snapshot_show(const ShowOptions& options, const GlobalOptions& globals) {
    snapshot::Hash id;
    nlohmann::json manifest;
    {
        snapshot::Store store(globals.store, snapshot::Store::Access::k_read, "enmap-migrate snapshot show");
        id = store.resolve(options.ref);
        manifest = store.read_manifest(id);
    }
    if (!manifest["tables"].is_object() && manifest.value("kind", "") == "export") {
        manifest["tables"] = decoded_tables(globals, snapshot::to_hex(id));
    }
    if (globals.json) {
        manifest["id"] = snapshot::to_hex(id);
        std::cout << manifest.dump(2) << "\n";
        return 0;
    }
    std::cout << "snapshot " << snapshot::to_hex(id) << "\n"
              << "  time    " << manifest.value("time", "") << "\n"
              << "  kind    " << manifest.value("kind", "") << "\n"
              << "  label   " << (manifest["label"].is_string() ? manifest["label"].get<std::string>() : "-")
              << "\n"
              << "  source  " << manifest["source"].dump() << "\n"
              << "  host    " << manifest.value("host", "") << "\n"
              << "files:\n";
    for (const auto& file : manifest["files"]) {
        std::cout << "  " << file["name"].get<std::string>() << "  " << file["role"].get<std::string>()
                  << "  " << human_bytes(file["size"].get<std::uint64_t>()) << "  mode "
                  << file["mode"].get<std::string>() << "  " << file["chunks"].get<std::uint64_t>()
                  << " chunks (" << file["chunking"].get<std::string>() << ")\n    sha256 "
                  << file["sha256"].get<std::string>() << "\n";
    }
    if (manifest["tables"].is_object()) {
        std::cout << "tables:\n";
        for (const auto& [name, summary] : manifest["tables"].items()) {
            if (summary.value("decoded", false)) {
                std::string encoding = summary.value("encoding", "");
                std::cout << "  " << name << "  " << summary.value("rows", 0) << " rows  "
                          << (encoding.empty() ? "" : encoding + "  ") << "sha256 "
                          << summary["sha256"].get<std::string>().substr(0, 16)
                          << "...  (decoded from the export)\n";
            } else if (summary.contains("sha256")) {
                std::string encodings;
                nlohmann::json counts = summary.value("encodings", nlohmann::json::object());
                for (const auto& [encoding, rows] : counts.items()) {
                    encodings += (encodings.empty() ? "" : ", ") + encoding + " " + rows.dump();
                }
                std::cout << "  " << name << "  " << summary.value("rows", 0) << " rows  "
                          << (encodings.empty() ? "empty" : encodings) << "  sha256 "
                          << summary["sha256"].get<std::string>().substr(0, 16) << "...\n";
            } else {
                std::cout << "  " << name << "  " << summary.dump() << "\n";
            }
        }
    }
    return 0;
}
}  // namespace

void register_snapshot_show(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<ShowOptions>();
    auto* cmd = snapshot.add_subcommand("show", "show one snapshot: its files, hashes and tables");
    cmd->add_option("REF", options->ref, "snapshot id, unique id prefix, label or latest")->required();
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_show(*options, globals); };
    });
}

}  // namespace cli
