// enmap-migrate sample-data: write the sample bot's Enmap database for a chosen generation, or
// (with --rows / --target-mb) one big table of points rows for benchmarks.

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "enmap/error.hpp"
#include "enmap/sample.hpp"

namespace cli {

namespace {

struct SampleDataOptions {
    enmap::SampleOptions sample;
    enmap::SampleTableOptions table;
    std::string table_name;  // --table, only with --rows / --target-mb
    std::string out;
};

int run_sample_table(SampleDataOptions opts, const GlobalOptions& globals) {
    opts.table.generation = opts.sample.generation;
    opts.table.seed = opts.sample.seed;
    if (!opts.table_name.empty()) {
        opts.table.table = opts.table_name;
    }
    auto result = enmap::write_sample_table(opts.out, opts.table);
    double average =
        result.rows > 0 ? static_cast<double>(result.value_bytes) / static_cast<double>(result.rows) : 0.0;
    if (globals.json) {
        nlohmann::json j = {{"out", opts.out},
                            {"generation", opts.table.generation},
                            {"table", opts.table.table},
                            {"rows", result.rows},
                            {"value_bytes", result.value_bytes},
                            {"average_value_bytes", average},
                            {"file_bytes", result.file_bytes}};
        std::cout << j.dump() << "\n";
    } else {
        std::cout << "wrote " << opts.out << "/enmap.sqlite: Enmap " << opts.table.generation << ", table "
                  << opts.table.table << ", " << result.rows << " rows, values of "
                  << static_cast<int>(average) << " bytes on average, "
                  << result.file_bytes / (std::uint64_t{1} << 20) << " MiB\n";
    }
    return 0;
}

int run_sample_data(const SampleDataOptions& opts, const GlobalOptions& globals) {
    if (opts.table.rows != 0 || opts.table.target_mb != 0) {
        return run_sample_table(opts, globals);
    }
    if (!opts.table_name.empty()) {
        throw enmap::UsageError("sample-data: --table needs --rows N or --target-mb M (the one-table mode)");
    }
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
        "With --rows and/or --target-mb: one table (--table, default points) of points rows keyed\n"
        "guild-user in random order, plus internal::autonum, written fast for benchmarks; it stops at\n"
        "whichever limit comes first and leaves a rollback-journal (not WAL) database.\n"
        "Exit statuses: 0 ok; 2 bad option; 3 --out already holds an enmap.sqlite; 1 internal error.");
    cmd->add_option("--generation", opts->sample.generation, "Enmap generation: 5.7, 5.9 or 6")
        ->check(CLI::IsMember({"5.7", "5.9", "6"}))
        ->capture_default_str();
    auto* scale = cmd->add_option("--scale", opts->sample.scale, "number of guilds (about 50 rows each)")
                      ->capture_default_str();
    cmd->add_option("--out", opts->out, "folder to write enmap.sqlite into")->required();
    auto* wal = cmd->add_flag("--wal", opts->sample.wal,
                              "leave the last writes in enmap.sqlite-wal, as a killed bot does");
    cmd->add_option("--seed", opts->sample.seed, "random seed (same seed, same data)")->capture_default_str();
    auto* rows = cmd->add_option("--rows", opts->table.rows, "one-table mode: write this many rows");
    auto* target = cmd->add_option("--target-mb", opts->table.target_mb,
                                   "one-table mode: stop once the file holds this many MiB");
    cmd->add_option("--table", opts->table_name, "one-table mode: the enmap's name (default points)")
        ->excludes(scale)
        ->excludes(wal);
    for (auto* option : {rows, target}) {
        option->excludes(scale)->excludes(wal);
    }
    cmd->callback(
        [&globals, opts] { globals.action = [&globals, opts] { return run_sample_data(*opts, globals); }; });
}

}  // namespace cli
