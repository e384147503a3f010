// enmap-migrate analyze: reads every value of a snapshot, an Enmap database or export() files once
// and writes what their data looks like: shapes.json, report.md and report.html (docs/analyze.md).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "analyze/analyze.hpp"
#include "analyze/report.hpp"
#include "cli/options.hpp"
#include "enmap/error.hpp"
#include "enmap/export_file.hpp"
#include "enmap/table_reader.hpp"

namespace cli {

namespace {

constexpr const char* k_analyze_statuses =
    "Exit statuses:\n"
    "  0  the data was analyzed and the reports written (malformed values and refused text are\n"
    "     findings in the report, not failures)\n"
    "  2  usage error (bad command line)\n"
    "  3  bad input: missing or non-SQLite file, no Enmap tables, unknown table; or the report\n"
    "     could not be written\n"
    "  5  the snapshot store is damaged, or the snapshot is missing\n";

struct AnalyzeCommandOptions {
    std::string snapshot;
    std::string db;
    std::vector<std::string> exports;
    std::vector<std::string> tables;
    std::vector<std::string> formats;
    std::string out = "analysis";
    bool examples = false;
    std::size_t max_paths = 2000;
};

// A progress line on stderr while a table is read, on a terminal only, after the first second.
class Progress {
public:
    explicit Progress(bool enabled) : m_enabled(enabled), m_start(std::chrono::steady_clock::now()) {}
    ~Progress() { clear(); }
    [[nodiscard]] bool enabled() const { return m_enabled; }
    void update(const std::string& table, std::uint64_t done, std::uint64_t total) {
        auto now = std::chrono::steady_clock::now();
        if (now - m_start < std::chrono::seconds(1) || now - m_last < std::chrono::milliseconds(200)) {
            return;
        }
        m_last = now;
        std::fprintf(stderr, "\r\033[Kanalyze: %s %llu/%llu rows", table.c_str(),
                     static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
        m_shown = true;
    }
    void clear() {
        if (m_shown) {
            std::fprintf(stderr, "\r\033[K");
            m_shown = false;
        }
    }

private:
    bool m_enabled;
    bool m_shown = false;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last;
};

void print_summary(const nlohmann::json& shapes, const std::string& out) {
    std::string text = "analyzed " + std::to_string(shapes["summary"]["rows"].get<std::uint64_t>()) +
                       " rows of " + std::to_string(shapes["summary"]["tables"].get<std::uint64_t>()) +
                       " tables of " + shapes["source"]["description"].get<std::string>() + "\n";
    for (const auto& t : shapes["tables"]) {
        text += "  " + t["name"].get<std::string>() + ": " + std::to_string(t["rows"].get<std::uint64_t>()) +
                " rows, keys " + t["keys"].value("dominant", "-") + ", " + std::to_string(t["paths"].size()) +
                " paths, " + std::to_string(analyze::review_points(t).size()) + " points to review\n";
    }
    text += "  relationships: " + std::to_string(shapes["relationships"].size()) + "\n";
    text += "wrote " + out + "/shapes.json, " + out + "/report.md, " + out + "/report.html\n";
    std::cout << text;
}

int run_analyze(const AnalyzeCommandOptions& options, const GlobalOptions& globals) {
    int sources =
        (options.snapshot.empty() ? 0 : 1) + (options.db.empty() ? 0 : 1) + (options.exports.empty() ? 0 : 1);
    if (sources != 1) {
        throw enmap::UsageError("analyze needs one of --snapshot REF, --db FILE or --export FILE...",
                                "for example: enmap-migrate analyze --snapshot latest --out analysis");
    }
    if (options.max_paths < 1) {
        throw enmap::UsageError("--max-paths must be at least 1");
    }
    analyze::AnalyzeOptions analyze_options;
    analyze_options.examples = options.examples;
    analyze_options.max_paths = options.max_paths;
    for (const auto& f : options.formats) {
        analyze_options.formats.insert(enmap::parse_format_override(f));
    }

    std::unique_ptr<analyze::SnapshotFiles> snapshot;
    std::unique_ptr<enmap::Source> opened;
    const enmap::Source* source = nullptr;
    std::vector<enmap::AutonumCounter> autonum;
    analyze::SourceInfo info;
    if (!options.snapshot.empty()) {
        snapshot = std::make_unique<analyze::SnapshotFiles>(globals.store, options.snapshot);
        source = &snapshot->source();
        autonum = snapshot->autonum();
        info = snapshot->info();
    } else if (!options.db.empty()) {
        auto database = std::make_unique<enmap::Database>(options.db);
        autonum = database->autonum();
        info = {"database", database->describe(), ""};
        opened = std::move(database);
        source = opened.get();
    } else {
        std::vector<std::filesystem::path> paths(options.exports.begin(), options.exports.end());
        opened = std::make_unique<enmap::ExportSet>(paths);
        info = {"export", opened->describe(), ""};
        source = opened.get();
    }

    Progress progress(::isatty(STDERR_FILENO) == 1 && !globals.json && globals.verbosity >= 0);
    analyze::ProgressCallback callback;
    if (progress.enabled()) {
        callback = [&progress](const std::string& table, std::uint64_t done, std::uint64_t total) {
            progress.update(table, done, total);
        };
    }
    nlohmann::json shapes =
        analyze::analyze_source(*source, autonum, info, analyze_options, options.tables, callback);
    progress.clear();
    analyze::write_reports(options.out, shapes);
    if (globals.json) {
        std::cout << shapes.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else if (globals.verbosity >= 0) {
        print_summary(shapes, options.out);
    }
    return 0;
}

}  // namespace

/// Registers `analyze` on the app.
void register_analyze(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<AnalyzeCommandOptions>();
    auto* cmd = app.add_subcommand(
        "analyze",
        "Read every value once and write the data's shapes: shapes.json, report.md and report.html "
        "(key patterns, the field tree with its JavaScript types, ranges, map-like objects, "
        "relationships, edge cases).");
    cmd->footer(k_analyze_statuses);
    auto* snapshot =
        cmd->add_option("--snapshot", options->snapshot,
                        "a snapshot of the store: id, unique id prefix, label or `latest` (see --store)");
    auto* db =
        cmd->add_option("--db", options->db, "or an Enmap database, PATH/enmap.sqlite (never modified)");
    auto* exports =
        cmd->add_option("--export", options->exports, "or Enmap export() JSON files (repeatable)");
    snapshot->excludes(db)->excludes(exports);
    db->excludes(exports);
    cmd->add_option("--out", options->out, "the folder to write shapes.json, report.md and report.html into")
        ->capture_default_str();
    cmd->add_flag(
        "--examples", options->examples,
        "show example string values (by default only their length and class: values may be personal data)");
    cmd->add_option("--table", options->tables, "analyze only this enmap table (repeatable)");
    cmd->add_option(
        "--format", options->formats,
        "TABLE=ENCODING: force a table's encoding (json, serialize-javascript, better-serialize)");
    cmd->add_option("--max-paths", options->max_paths, "field-tree paths tracked per table")
        ->capture_default_str();
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_analyze(*options, globals); };
    });
}

}  // namespace cli
