#include "replay/validate.hpp"

#include <pqxx/pqxx>

#include <chrono>
#include <map>
#include <pqxx/stream_to>

#include "replay/digest.hpp"
#include "replay/json_text.hpp"
#include "replay/naming.hpp"

namespace replay {

nlohmann::json ValidationReport::to_json() const {
    nlohmann::json samples_json = nlohmann::json::array();
    for (const auto& d : samples) {
        samples_json.push_back({{"table", d.table}, {"key", d.key}, {"kind", d.kind}, {"actual", d.actual}});
    }
    return {{"ok", ok},
            {"tables", tables},
            {"rows", rows},
            {"missing", missing},
            {"extra", extra},
            {"changed", changed},
            {"count_mismatches", count_mismatches},
            {"samples", samples_json},
            {"seconds", seconds}};
}

std::string ValidationReport::describe() const {
    std::string out;
    for (const auto& c : count_mismatches) {
        out += "\n  " + c;
    }
    for (const auto& d : samples) {
        out += "\n  " + d.table + "/" + d.key + ": " + d.kind;
        if (!d.actual.empty()) {
            out += " (Postgres has " + d.actual.substr(0, 200) + ")";
        }
    }
    out += "\n  in all: " + std::to_string(missing) + " missing, " + std::to_string(extra) + " extra, " +
           std::to_string(changed) + " changed";
    return out;
}

ValidationReport validate_tables(pqxx::transaction_base& tx, Source& source,
                                 const std::vector<TableToValidate>& tables, bool autonum) {
    auto start = std::chrono::steady_clock::now();
    ValidationReport report;
    std::map<std::string, std::uint64_t> expected_rows;
    for (const auto& t : source.tables()) {
        expected_rows[t.enmap_name] = t.rows;
    }
    tx.exec(
        "CREATE TEMP TABLE IF NOT EXISTS enmap_migrate_expected (key text NOT NULL, h text NOT NULL) "
        "ON COMMIT DROP");
    Digest md5("md5");
    for (const auto& t : tables) {
        ++report.tables;
        std::string table = tx.quote_name(t.table);
        auto count = tx.exec1("SELECT count(*) FROM " + table)[0].as<std::uint64_t>();
        report.rows += count;
        if (count != expected_rows[t.enmap]) {
            report.count_mismatches.push_back(t.table + ": " + std::to_string(count) +
                                              " rows, the source has " +
                                              std::to_string(expected_rows[t.enmap]));
        }
        tx.exec("TRUNCATE pg_temp.enmap_migrate_expected");
        {
            pqxx::stream_to stream(tx, "pg_temp.enmap_migrate_expected",
                                   std::vector<std::string>{"key", "h"});
            std::string key_text;
            std::string hash;
            source.for_each_row(t.enmap, [&](std::string_view key, std::string_view value) {
                key_text.assign(key);
                md5.update(jsonb_text(value));
                hash = md5.hex_final();
                stream << std::tie(key_text, hash);
            });
            stream.complete();
        }
        tx.exec("ANALYZE pg_temp.enmap_migrate_expected");
        std::string join = " FROM (SELECT key, value, md5(value::text) AS h FROM " + table +
                           ") r FULL JOIN pg_temp.enmap_migrate_expected e ON e.key = r.key "
                           "WHERE r.key IS NULL OR e.key IS NULL OR r.h <> e.h";
        auto counts = tx.exec1(
            "SELECT count(*) FILTER (WHERE r.key IS NULL), count(*) FILTER (WHERE e.key IS NULL), "
            "count(*) FILTER (WHERE r.key IS NOT NULL AND e.key IS NOT NULL)" +
            join);
        auto missing = counts[0].as<std::uint64_t>();
        auto extra = counts[1].as<std::uint64_t>();
        auto changed = counts[2].as<std::uint64_t>();
        report.missing += missing;
        report.extra += extra;
        report.changed += changed;
        if (missing + extra + changed > 0) {
            for (const auto& row : tx.exec("SELECT coalesce(r.key, e.key), CASE WHEN r.key IS NULL THEN "
                                           "'missing' WHEN e.key IS NULL "
                                           "THEN 'extra' ELSE 'changed' END, coalesce(r.value::text, '')" +
                                           join + " ORDER BY 1 LIMIT 10")) {
                report.samples.push_back({t.table, row[0].c_str(), row[1].c_str(), row[2].c_str()});
            }
        }
    }
    if (autonum) {
        std::map<std::string, std::int64_t> expected;
        for (const auto& a : source.autonum()) {
            expected[a.enmap] = a.lastnum;
        }
        std::map<std::string, std::int64_t> actual;
        for (const auto& row : tx.exec("SELECT enmap, lastnum FROM " + std::string(k_autonum_table))) {
            actual[row[0].c_str()] = row[1].as<std::int64_t>();
        }
        ++report.tables;
        report.rows += actual.size();
        for (const auto& [enmap, n] : expected) {
            auto it = actual.find(enmap);
            if (it == actual.end()) {
                ++report.missing;
                report.samples.push_back({std::string(k_autonum_table), enmap, "missing", ""});
            } else if (it->second != n) {
                ++report.changed;
                report.samples.push_back(
                    {std::string(k_autonum_table), enmap, "changed", std::to_string(it->second)});
            }
        }
        for (const auto& [enmap, n] : actual) {
            if (expected.count(enmap) == 0) {
                ++report.extra;
                report.samples.push_back({std::string(k_autonum_table), enmap, "extra", std::to_string(n)});
            }
        }
    }
    tx.exec("DROP TABLE IF EXISTS pg_temp.enmap_migrate_expected");
    report.ok = report.count_mismatches.empty() && report.missing + report.extra + report.changed == 0;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace replay
