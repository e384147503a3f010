// enmap-migrate status: the ledger of runs in the database.

#include <cstdio>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/devdb.hpp"
#include "replay/ledger.hpp"
#include "replay/url.hpp"

namespace cli {

namespace {

struct StatusCommandOptions {
    int limit = 10;
};

std::string text_of(const nlohmann::json& j) {
    if (j.is_null()) {
        return "-";
    }
    return j.is_string() ? j.get<std::string>() : j.dump();
}

int run_status_command(const StatusCommandOptions& options, const GlobalOptions& globals) {
    std::string database = target_database(globals);
    nlohmann::json ledger = replay::read_ledger_of(database, options.limit);
    // Which dev database this project has, and whether it runs (the project folder decides which).
    auto dev = replay::DevDb(replay::DevDb::default_folder()).status();
    if (globals.json) {
        ledger["devdb"] = {{"folder", dev.folder.string()}, {"running", dev.running}, {"url", dev.url}};
        std::printf("%s\n", ledger.dump().c_str());
        return 0;
    }
    std::printf("database %s%s\n", replay::redact_url(database).c_str(),
                dev.running && dev.url == database ? " (the dev database)" : "");
    if (!dev.initialized) {
        std::printf("dev database: none in %s\n", dev.folder.string().c_str());
    } else {
        std::printf("dev database: %s in %s%s\n", dev.running ? "running" : "stopped",
                    dev.folder.string().c_str(), dev.running ? (" (" + dev.url + ")").c_str() : "");
    }
    if (ledger["runs"].empty()) {
        std::printf("no runs recorded (no enmap_migrate ledger yet)\n");
        return 0;
    }
    for (const auto& run : ledger["runs"]) {
        std::string kind = text_of(run["kind"]);
        kind = kind == "replay" ? "replay(go-live)" : kind;
        std::printf("run %s  %-11s %-15s  source %s  %s rows  started %s  finished %s\n",
                    text_of(run["id"]).c_str(), text_of(run["status"]).c_str(), kind.c_str(),
                    text_of(run["source_id"]).c_str(), text_of(run["rows"]).c_str(),
                    text_of(run["started_at"]).c_str(), text_of(run["finished_at"]).c_str());
        if (run.contains("base_run") && !run["base_run"].is_null()) {
            // The chain back to the full replay it rests on, as far as the runs listed reach.
            std::string chain = text_of(run["id"]);
            nlohmann::json base = run["base_run"];
            while (!base.is_null()) {
                chain += " <- " + text_of(base);
                nlohmann::json next;
                for (const auto& r : ledger["runs"]) {
                    if (r["id"] == base) {
                        next = r.value("base_run", nlohmann::json());
                    }
                }
                base = next;
            }
            std::printf("    catch-up of run %s (replay --since; chain %s)\n",
                        text_of(run["base_run"]).c_str(), chain.c_str());
        }
        for (const auto& m : run["modules"]) {
            std::printf("    %-24s %-11s %10s rows %8s ms", text_of(m["name"]).c_str(),
                        text_of(m["status"]).c_str(), text_of(m["rows"]).c_str(),
                        text_of(m["total_ms"]).c_str());
            if (!m["error"].is_null()) {
                std::printf("  error: %.160s", text_of(m["error"]).c_str());
            }
            std::printf("\n");
        }
        if (!run["error"].is_null()) {
            std::printf("    error: %s\n", text_of(run["error"]).c_str());
        }
        std::size_t existing = 0;
        for (const auto& w : run["written_tables"]) {
            existing += w["existed_before"].get<bool>() ? 1 : 0;
        }
        std::printf("    %zu objects created, %zu drizzle rows added, %zu existing table write(s) recorded\n",
                    run["objects"].size(), run["drizzle_rows"].size(), existing);
    }
    return 0;
}

}  // namespace

void register_status(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<StatusCommandOptions>();
    auto* cmd = app.add_subcommand("status", "show the runs the ledger (schema enmap_migrate) records");
    cmd->add_option("--limit", options->limit, "show at most this many runs, newest first")
        ->capture_default_str();
    cmd->footer("Exit statuses: 0 shown; 2 usage; 6 PostgreSQL error.");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_status_command(*options, globals); };
    });
}

}  // namespace cli
