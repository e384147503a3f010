// enmap-migrate devdb start|stop|status|url|destroy: the embedded dev database.

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "replay/devdb.hpp"

namespace cli {

namespace {

struct DevDbOptions {
    std::string folder;
};

nlohmann::json to_json(const replay::DevDbStatus& s) {
    return {{"folder", s.folder.string()},
            {"initialized", s.initialized},
            {"running", s.running},
            {"port", s.port},
            {"url", s.url},
            {"data_dir", s.data_dir.string()},
            {"log", s.log_file.string()}};
}

int run_devdb(const std::string& action, const DevDbOptions& opts, const GlobalOptions& globals) {
    replay::DevDb devdb(opts.folder);
    if (action == "start") {
        std::string url = devdb.start();
        if (globals.json) {
            std::cout << to_json(devdb.status()).dump() << "\n";
        } else {
            std::cout << url << "\n";
        }
    } else if (action == "stop") {
        devdb.stop();
        if (globals.json) {
            std::cout << to_json(devdb.status()).dump() << "\n";
        }
    } else if (action == "url") {
        std::string url = devdb.url();
        std::cout << (globals.json ? nlohmann::json{{"url", url}}.dump() : url) << "\n";
    } else if (action == "destroy") {
        devdb.destroy();
        if (globals.json) {
            std::cout << nlohmann::json{{"destroyed", opts.folder}}.dump() << "\n";
        }
    } else {
        auto s = devdb.status();
        if (globals.json) {
            std::cout << to_json(s).dump() << "\n";
        } else if (!s.initialized) {
            std::cout << "dev database: not created (folder " << s.folder.string() << ")\n";
        } else {
            std::cout << "dev database: " << (s.running ? "running" : "stopped") << "\n"
                      << "  folder: " << s.folder.string() << "\n"
                      << "  data:   " << s.data_dir.string() << "\n"
                      << "  log:    " << s.log_file.string() << "\n"
                      << "  port:   " << s.port << "\n";
            if (s.running) {
                std::cout << "  url:    " << s.url << "\n";
            }
        }
        return s.running ? 0 : 3;
    }
    return 0;
}

}  // namespace

void register_devdb(CLI::App& app, GlobalOptions& globals) {
    auto* cmd =
        app.add_subcommand("devdb", "the embedded dev database: a private PostgreSQL cluster for rehearsals");
    cmd->footer(
        "The cluster lives in --dir (default: .enmap-migrate/devdb in the project folder, the nearest of\n"
        "this folder and its parents that holds .enmap-migrate/ or enmap-snapshots/; or "
        "$ENMAP_MIGRATE_DEVDB),\n"
        "listens on a unix socket there and on a free loopback port, and logs to server.log there. The "
        "server\n"
        "binaries come from /usr/lib/postgresql/<newest>/bin, or $ENMAP_MIGRATE_PG_BIN. --dir may follow "
        "the\n"
        "action (`devdb start --dir X`).\n"
        "Exit statuses: 0 ok; `status` exits 3 when the database is not running; 6 the server is\n"
        "missing (run scripts/bootstrap) or failed to start; 1 internal error.");
    cmd->require_subcommand(1, 1);
    auto opts = std::make_shared<DevDbOptions>();
    opts->folder = replay::DevDb::default_folder().string();
    cmd->add_option("--dir", opts->folder, "folder of the dev database")->capture_default_str();
    const std::vector<std::pair<std::string, std::string>> actions = {
        {"start", "create the cluster if needed, start it, print its URL"},
        {"stop", "stop the server"},
        {"status", "say whether it exists and runs"},
        {"url", "print its connection URL"},
        {"destroy", "stop it and delete the cluster and its data"},
    };
    for (const auto& [name, help] : actions) {
        auto* sub = cmd->add_subcommand(name, help);
        sub->callback([&globals, opts, action = name] {
            globals.action = [&globals, opts, action] { return run_devdb(action, *opts, globals); };
        });
    }
}

}  // namespace cli
