// enmap-migrate dump: prints every stored key of an Enmap database or of export() files as one
// JSON line {"table", "key", "value"} with the value's canonical JSON, then a summary on stderr.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "enmap/database.hpp"
#include "enmap/error.hpp"
#include "enmap/export_file.hpp"
#include "enmap/summary.hpp"
#include "enmap/table_reader.hpp"

namespace cli {

namespace {

constexpr const char* k_dump_statuses =
    "Exit statuses:\n"
    "  0  every row was dumped\n"
    "  2  usage error (bad command line)\n"
    "  3  bad input: missing or non-SQLite file, no Enmap tables, unknown table, malformed value\n"
    "     (the message names the file, table, key and byte offset)\n"
    "  4  a data policy (--invalid-text, --functions) refused values: every offending\n"
    "     table/key/path is listed; output stops before the first refused row\n";

constexpr std::size_t k_flush_bytes = 1 << 20;

/// The options of `dump`.
struct DumpOptions {
    std::string db;
    std::vector<std::string> exports;
    std::vector<std::string> tables;
    std::string invalid_text = "error";
    std::string functions = "error";
    std::vector<std::string> formats;
};

// Buffered writes to stdout; throws when stdout fails (a full disk, a closed pipe).
class Output {
public:
    ~Output() {
        if (!m_buffer.empty()) {
            std::fwrite(m_buffer.data(), 1, m_buffer.size(), stdout);
            std::fflush(stdout);
        }
    }
    std::string& buffer() { return m_buffer; }
    void maybe_flush() {
        if (m_buffer.size() >= k_flush_bytes) {
            flush();
        }
    }
    // Appends a value, writing a large one straight through instead of copying it into the buffer.
    void write_value(const std::string& value) {
        if (value.size() < k_flush_bytes) {
            m_buffer += value;
            return;
        }
        flush();
        if (std::fwrite(value.data(), 1, value.size(), stdout) != value.size()) {
            throw enmap::Error("cannot write to standard output",
                               "check the disk or the pipe dump writes to");
        }
    }
    void flush() {
        if (std::fwrite(m_buffer.data(), 1, m_buffer.size(), stdout) != m_buffer.size() ||
            std::fflush(stdout) != 0) {
            throw enmap::Error("cannot write to standard output",
                               "check the disk or the pipe dump writes to");
        }
        m_buffer.clear();
    }

private:
    std::string m_buffer;
};

// A progress line on stderr, shown only when stderr is a terminal and the dump takes over a second.
class Progress {
public:
    explicit Progress(bool enabled) : m_enabled(enabled), m_start(std::chrono::steady_clock::now()) {}
    ~Progress() { clear(); }
    [[nodiscard]] bool enabled() const { return m_enabled; }
    void update(const std::string& table, std::uint64_t done, std::uint64_t total) {
        if (!m_enabled || (done & 0xFFF) != 0) {
            return;
        }
        auto now = std::chrono::steady_clock::now();
        if (now - m_start < std::chrono::seconds(1) || now - m_last < std::chrono::milliseconds(200)) {
            return;
        }
        m_last = now;
        double seconds = std::chrono::duration<double>(now - m_start).count();
        std::fprintf(stderr, "\r\033[Kdump: %s %llu/%llu rows (%.0f rows/s overall)", table.c_str(),
                     static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                     static_cast<double>(m_rows + done) / seconds);
        m_shown = true;
    }
    void table_done(std::uint64_t rows) { m_rows += rows; }
    void clear() {
        if (m_shown) {
            std::fprintf(stderr, "\r\033[K");
            m_shown = false;
        }
    }

private:
    bool m_enabled;
    bool m_shown = false;
    std::uint64_t m_rows = 0;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_last;
};

void print_summary(const enmap::Source& source, const std::vector<enmap::TableStats>& stats,
                   const enmap::ViolationLog& log, const GlobalOptions& globals) {
    std::uint64_t rows = 0;
    for (const auto& table : stats) {
        rows += table.rows;
    }
    const auto* database = dynamic_cast<const enmap::Database*>(&source);
    if (globals.json) {
        nlohmann::json summary = {{"source", source.describe()},
                                  {"kind", database != nullptr ? "database" : "export"},
                                  {"rows", rows},
                                  {"violations", log.total()},
                                  {"tables", nlohmann::json::array()}};
        for (const auto& table : stats) {
            summary["tables"].push_back(enmap::stats_to_json(table));
        }
        if (database != nullptr) {
            summary["open_mode"] = enmap::open_mode_name(database->open_mode());
            nlohmann::json counters = nlohmann::json::object();
            for (const auto& counter : database->autonum()) {
                counters[counter.enmap] = counter.lastnum;
            }
            summary["autonum"] = counters;
            summary["change_tables"] = database->change_tables();
        } else if (const auto* exports = dynamic_cast<const enmap::ExportSet*>(&source)) {
            summary["exports"] = nlohmann::json::array();
            for (const auto& file : exports->files()) {
                summary["exports"].push_back({{"file", file->describe()},
                                              {"name", file->name()},
                                              {"version", file->version()},
                                              {"kind", enmap::export_kind_name(file->kind())}});
            }
        }
        std::cerr << summary.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return;
    }
    if (globals.verbosity < 0) {
        return;
    }
    std::string text = "dumped " + std::to_string(rows) + " rows from " + std::to_string(stats.size()) +
                       " tables of " + source.describe();
    if (database != nullptr) {
        text += " (opened " + std::string(enmap::open_mode_name(database->open_mode())) + ")";
    }
    text += "\n";
    for (const auto& table : stats) {
        text += "  " + table.table + ": " + std::to_string(table.rows) + " rows, " + table.encoding_label();
        if (table.null_values > 0) {
            text += ", " + std::to_string(table.null_values) + " SQL NULL";
        }
        auto lossy = enmap::lossy_to_json(table.lossy);
        if (!lossy.empty()) {
            text += ", lossy:";
            for (const auto& [name, count] : lossy.items()) {
                text += " " + name + " " + count.dump();
            }
        }
        text += "\n";
    }
    if (database != nullptr && !database->autonum().empty()) {
        text += "  autonum:";
        for (const auto& counter : database->autonum()) {
            text += " " + counter.enmap + "=" + std::to_string(counter.lastnum);
        }
        text += "\n";
    }
    if (!log.empty()) {
        text += "  refused by policy: " + std::to_string(log.total()) + " values\n";
    }
    std::cerr << text;
}

int run_dump(const DumpOptions& options, const GlobalOptions& globals) {
    if (options.db.empty() == options.exports.empty()) {
        throw enmap::UsageError("dump needs either --db FILE or --export FILE...",
                                "for example: enmap-migrate dump --db data/enmap.sqlite");
    }
    enmap::ReadOptions read;
    read.decode.invalid_text = options.invalid_text == "replace" ? enmap::InvalidTextPolicy::k_replace
                                                                 : enmap::InvalidTextPolicy::k_error;
    read.decode.functions = options.functions == "drop"     ? enmap::FunctionPolicy::k_drop
                            : options.functions == "source" ? enmap::FunctionPolicy::k_source
                                                            : enmap::FunctionPolicy::k_error;
    for (const auto& format : options.formats) {
        read.formats.insert(enmap::parse_format_override(format));
    }

    std::unique_ptr<enmap::Source> source;
    if (!options.db.empty()) {
        source = std::make_unique<enmap::Database>(options.db);
    } else {
        std::vector<std::filesystem::path> paths(options.exports.begin(), options.exports.end());
        source = std::make_unique<enmap::ExportSet>(paths);
    }
    auto tables = source->select_tables(options.tables);
    for (const auto& [table, encoding] : read.formats) {
        (void)encoding;
        if (std::find(tables.begin(), tables.end(), table) == tables.end()) {
            throw enmap::UsageError(
                "--format names the table '" + table + "', which is not dumped",
                "the tables dumped are those of --table, or all of " + source->describe());
        }
    }

    Output output;
    Progress progress(::isatty(STDERR_FILENO) == 1 && !globals.json && globals.verbosity >= 0);
    enmap::ViolationLog log;
    std::vector<enmap::TableStats> stats;
    enmap::RawRow row;
    enmap::DecodedRow decoded;
    for (const auto& table : tables) {
        std::uint64_t total = progress.enabled() ? source->row_count(table) : 0;
        std::string prefix = "{\"table\":";
        enmap::append_json_string(prefix, table);
        prefix += ",\"key\":";
        enmap::TableDecoder decoder(source->origin(table), table, read, log);
        auto cursor = source->rows(table);
        std::uint64_t done = 0;
        while (cursor->next(row)) {
            bool clean = decoder.decode(row, decoded);
            if (clean && log.empty()) {
                std::string& out = output.buffer();
                out += prefix;
                enmap::append_json_string(out, decoded.key);
                out += ",\"value\":";
                output.write_value(decoded.value);
                out += "}\n";
                output.maybe_flush();
            }
            progress.update(table, ++done, total);
        }
        progress.table_done(done);
        stats.push_back(decoder.stats());
    }
    output.flush();
    progress.clear();
    print_summary(*source, stats, log, globals);
    log.throw_if_any();
    return 0;
}

}  // namespace

/// Registers `dump` on the app.
void register_dump(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<DumpOptions>();
    auto* cmd =
        app.add_subcommand("dump",
                           "Print every stored key as a JSON line {table, key, value} with the value's "
                           "canonical JSON, in table order then key order; a summary goes to stderr.");
    cmd->footer(k_dump_statuses);
    auto* db = cmd->add_option("--db", options->db, "the Enmap database, PATH/enmap.sqlite (never modified)");
    auto* exports = cmd->add_option("--export", options->exports,
                                    "an Enmap export() JSON file (repeat for several enmaps)");
    db->excludes(exports);
    cmd->add_option("--table", options->tables, "dump only this enmap table (repeatable)");
    cmd->add_option(
           "--invalid-text", options->invalid_text,
           "NUL, unpaired surrogates, invalid UTF-8: error (refuse, list them all) or replace (U+FFFD)")
        ->check(CLI::IsMember({"error", "replace"}))
        ->capture_default_str();
    cmd->add_option("--functions", options->functions,
                    "JavaScript functions in 5.8-5.9 values: error, drop (omit), or source (keep the text)")
        ->check(CLI::IsMember({"error", "drop", "source"}))
        ->capture_default_str();
    cmd->add_option(
        "--format", options->formats,
        "TABLE=ENCODING: force a table's encoding (json, serialize-javascript, better-serialize)");
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_dump(*options, globals); };
    });
}

}  // namespace cli
