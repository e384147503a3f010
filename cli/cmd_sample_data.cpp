// enmap-migrate sample-data: write the sample bot's Enmap database for a chosen generation.

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "enmap/sample.hpp"

namespace cli {

namespace {

struct SampleDataOptions {
    enmap::SampleOptions sample;
    std::string out;
};

int run_sample_data(const SampleDataOptions& opts, const GlobalOptions& globals) {
    auto result = enmap::write_sample_database(opts.out, opts.sample);
    if (globals.json) {
        nlohmann::json j = {{"out", opts.out},
                            {"generation", opts.sample.generation},
                            {"scale", opts.sample.scale},
                            {"wal", opts.sample.wal},
                            {"rows", result.rows},
                            {"autonum", result.autonum},
                            {"total_rows", result.total_rows}};
        std::cout << j.dump() << "\n";
    } else {
        std::cout << "wrote " << opts.out << "/enmap.sqlite"
                  << (opts.sample.wal ? " (+ enmap.sqlite-wal)" : "") << ": Enmap " << opts.sample.generation
                  << ", " << result.total_rows << " rows\n";
        for (const auto& [table, rows] : result.rows) {
            std::cout << "  " << table << ": " << rows << "\n";
        }
    }
    return 0;
}

}  // namespace

void register_sample_data(CLI::App& app, GlobalOptions& globals) {
    auto opts = std::make_shared<SampleDataOptions>();
    auto* cmd = app.add_subcommand("sample-data", "write a realistic sample bot's Enmap database");
    cmd->footer(
        "Tables: global, guildsettings, points, tags, reminders (autonum), warnings, giveaways, economy,\n"
        "in the value encoding of the chosen generation (Dates, Maps, Sets and BigInts where it keeps "
        "them).\n"
        "Exit statuses: 0 ok; 2 bad option; 3 --out already holds an enmap.sqlite; 1 internal error.");
    cmd->add_option("--generation", opts->sample.generation, "Enmap generation: 5.7, 5.9 or 6")
        ->check(CLI::IsMember({"5.7", "5.9", "6"}))
        ->capture_default_str();
    cmd->add_option("--scale", opts->sample.scale, "number of guilds (about 50 rows each)")
        ->capture_default_str();
    cmd->add_option("--out", opts->out, "folder to write enmap.sqlite into")->required();
    cmd->add_flag("--wal", opts->sample.wal,
                  "leave the last writes in enmap.sqlite-wal, as a killed bot does");
    cmd->add_option("--seed", opts->sample.seed, "random seed (same seed, same data)")->capture_default_str();
    cmd->callback(
        [&globals, opts] { globals.action = [&globals, opts] { return run_sample_data(*opts, globals); }; });
}

}  // namespace cli
