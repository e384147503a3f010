#include "replay/validate.hpp"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <set>

#include <cstdlib>

#include "enmap/error.hpp"
#include "replay/json_text.hpp"
#include "replay/ledger.hpp"
#include "replay/naming.hpp"
#include "replay/pg_hash.hpp"
#include "replay/url.hpp"

namespace replay {

namespace {

// One row reduced to hashtextextended(key, 0) and hashtextextended(jsonb text of the value, 0).
struct RowHash {
    std::uint64_t key = 0;
    std::uint64_t value = 0;
    bool operator<(const RowHash& other) const { return key < other.key; }
};

constexpr int k_fetch_rows = 50000;
constexpr std::size_t k_samples_per_table = 10;

std::uint64_t parse_int64(const char* text) {
    return static_cast<std::uint64_t>(std::strtoll(text, nullptr, 10));
}

constexpr std::uint64_t k_rows_per_bucket = 2000000;  // 32 MB of hashes per side at most

// The bucket of a key hash, as PostgreSQL computes ((h % n) + n) % n on bigint.
std::uint64_t bucket_of(std::uint64_t key_hash, std::uint64_t buckets) {
    auto h = static_cast<std::int64_t>(key_hash);
    auto n = static_cast<std::int64_t>(buckets);
    return static_cast<std::uint64_t>(((h % n) + n) % n);
}

// Pass 1: count and an order-independent sum (mod 2^64) of hashtextextended(key TAB jsonb text).
// A tab cannot occur in jsonb's printing, so the split between key and value is unambiguous.
using Summary = TableChecksum;

ServerChecksum server_summary(pqxx::transaction_base& tx, const std::string& table) {
    std::string name = tx.quote_name(table);
    auto row = tx.exec1("SELECT count(*), " + checksum_sql(k_raw_row_text) + ", " + tx.quote(name) +
                        "::regclass::oid FROM " + name);
    return {row[2].as<std::uint32_t>(), row[0].as<std::uint64_t>(),
            std::strtoull(row[1].c_str(), nullptr, 10)};
}

Summary source_summary(Source& source, const std::string& enmap) {
    Summary s;
    source.for_each_row(enmap, [&](std::string_view key, std::string_view value) { s.add(key, value); });
    return s;
}

// Pass 2, only when pass 1 differs: one bucket of the table read back through a cursor.
std::vector<RowHash> read_back(pqxx::transaction_base& tx, const std::string& table, std::uint64_t bucket,
                               std::uint64_t buckets) {
    std::vector<RowHash> out;
    std::string n = std::to_string(buckets);
    tx.exec(
        "DECLARE enmap_migrate_validate NO SCROLL CURSOR FOR SELECT hashtextextended(key, 0), "
        "hashtextextended(value::text, 0) FROM " +
        tx.quote_name(table) + " WHERE ((hashtextextended(key, 0) % " + n + ") + " + n + ") % " + n + " = " +
        std::to_string(bucket));
    while (true) {
        auto batch =
            tx.exec("FETCH FORWARD " + std::to_string(k_fetch_rows) + " FROM enmap_migrate_validate");
        for (const auto& row : batch) {
            out.push_back({parse_int64(row[0].c_str()), parse_int64(row[1].c_str())});
        }
        if (batch.size() < static_cast<pqxx::result::size_type>(k_fetch_rows)) {
            break;
        }
    }
    tx.exec("CLOSE enmap_migrate_validate");
    return out;
}

std::vector<RowHash> source_hashes(Source& source, const std::string& enmap, std::uint64_t bucket,
                                   std::uint64_t buckets) {
    std::vector<RowHash> out;
    source.for_each_row(enmap, [&](std::string_view key, std::string_view value) {
        std::uint64_t key_hash = pg_hash_text_extended(key);
        if (bucket_of(key_hash, buckets) == bucket) {
            out.push_back({key_hash, pg_hash_text_extended(jsonb_text(value))});
        }
    });
    return out;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string path_step(const std::string& key) {
    bool plain = !key.empty() && !(key[0] >= '0' && key[0] <= '9');
    for (char c : key) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            plain = false;
        }
    }
    return plain ? "." + key : "[" + nlohmann::json(key).dump() + "]";
}

std::string difference_path(const nlohmann::json& a, const nlohmann::json& b, const std::string& path) {
    if (a.type() != b.type() && !(a.is_number() && b.is_number())) {
        return path;
    }
    if (a.is_object()) {
        std::set<std::string> keys;
        for (const auto& [k, v] : a.items()) {
            keys.insert(k);
        }
        for (const auto& [k, v] : b.items()) {
            keys.insert(k);
        }
        for (const auto& k : keys) {
            if (!a.contains(k) || !b.contains(k)) {
                return path + path_step(k);
            }
            auto inner = difference_path(a[k], b[k], path + path_step(k));
            if (!inner.empty()) {
                return inner;
            }
        }
        return {};
    }
    if (a.is_array()) {
        for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
            auto inner = difference_path(a[i], b[i], path + "[" + std::to_string(i) + "]");
            if (!inner.empty()) {
                return inner;
            }
        }
        return a.size() == b.size() ? std::string()
                                    : path + "[" + std::to_string(std::min(a.size(), b.size())) + "]";
    }
    return a == b ? std::string() : path;
}

}  // namespace

std::string first_difference(std::string_view a, std::string_view b) {
    auto parse = [](std::string_view text) {
        return nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    };
    auto ja = parse(a);
    auto jb = parse(b);
    if (ja.is_discarded() || jb.is_discarded()) {
        return {};
    }
    return difference_path(ja, jb, "$");
}

bool is_rehearsal_run(pqxx::transaction_base& tx, std::int64_t run_id) {
    std::string id = std::to_string(run_id);
    if (!tx.exec1("SELECT to_regclass('enmap_migrate.actions') IS NULL")[0].as<bool>() &&
        !tx.exec("SELECT 1 FROM enmap_migrate.actions WHERE run_id = " + id + " AND action = 'rehearse'")
             .empty()) {
        return true;
    }
    bool has_kind = !tx.exec(
                           "SELECT 1 FROM information_schema.columns WHERE table_schema = 'enmap_migrate' "
                           "AND table_name = 'runs' AND column_name = 'kind'")
                         .empty();
    return has_kind && !tx.exec("SELECT 1 FROM enmap_migrate.runs WHERE id = " + id +
                                " AND kind IN ('rehearse', 'rehearsal')")
                            .empty();
}

ValidateTarget read_validate_target(const std::string& database_url) {
    ValidateTarget target;
    auto conn = connect(database_url);
    try {
        pqxx::read_transaction tx(*conn);
        bool actions = !tx.exec1("SELECT to_regclass('enmap_migrate.actions') IS NULL")[0].as<bool>();
        for (const auto& run : active_runs(tx)) {
            LedgerRun r;
            r.id = run["id"].get<std::int64_t>();
            r.source_id = run["source_id"].get<std::string>();
            r.rehearsal = is_rehearsal_run(tx, r.id);
            if (actions) {
                auto rows = tx.exec(
                    "SELECT coalesce(details->>'archive', ''), at::text FROM enmap_migrate.actions "
                    "WHERE run_id = " +
                    std::to_string(r.id) + " AND action = 'cleanup' ORDER BY id DESC LIMIT 1");
                if (!rows.empty()) {
                    r.cleanup_archive = rows[0][0].c_str();
                    r.cleaned_at = rows[0][1].c_str();
                }
            }
            target.go_live = target.go_live || !r.rehearsal;
            if (!target.newest) {
                target.newest = r;
            }
        }
    } catch (const pqxx::sql_error& e) {
        throw enmap::DatabaseError("PostgreSQL refused a ledger query: " +
                                   redact_message(e.what(), database_url));
    } catch (const pqxx::broken_connection& e) {
        throw enmap::DatabaseError("the connection to PostgreSQL was lost: " +
                                   redact_message(e.what(), database_url));
    }
    return target;
}

std::string checksum_sql(const std::string& row_text) {
    return "((coalesce(sum(hashtextextended(" + row_text +
           ", 0)), 0) % 18446744073709551616) + 18446744073709551616) % 18446744073709551616";
}

void TableChecksum::add(std::string_view key, std::string_view value_json) {
    thread_local std::string line;
    line.assign(key);
    line.push_back('\t');
    append_jsonb_text(line, value_json);
    sum += pg_hash_text_extended(line);
    ++rows;
}

nlohmann::json ValidationReport::to_json() const {
    nlohmann::json samples_json = nlohmann::json::array();
    for (const auto& d : samples) {
        nlohmann::json sample = {{"table", d.table}, {"key", d.key}, {"kind", d.kind}, {"actual", d.actual}};
        if (d.kind == "changed") {
            sample["expected"] = d.expected;
            sample["path"] = d.path;
        }
        samples_json.push_back(std::move(sample));
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
        if (d.kind == "changed" && !d.expected.empty()) {
            out += d.path.empty() ? std::string() : " at " + d.path;
            out +=
                "\n    source:   " + d.expected.substr(0, 200) + "\n    Postgres: " + d.actual.substr(0, 200);
        } else if (!d.actual.empty()) {
            out += " (Postgres has " + d.actual.substr(0, 200) + ")";
        }
    }
    out += "\n  in all: " + std::to_string(missing) + " missing, " + std::to_string(extra) + " extra, " +
           std::to_string(changed) + " changed";
    return out;
}

ValidationReport validate_tables(pqxx::transaction_base& tx, Source& source,
                                 const std::vector<TableToValidate>& tables, bool autonum,
                                 const std::vector<AutonumRow>* counters) {
    auto start = std::chrono::steady_clock::now();
    ValidationReport report;
    std::map<std::string, std::uint64_t> expected_rows;
    for (const auto& t : source.tables()) {
        expected_rows[t.enmap_name] = t.rows;
    }
    for (const auto& t : tables) {
        ++report.tables;
        // Both sides at once: the source is hashed on another core while PostgreSQL reads back.
        auto table_start = std::chrono::steady_clock::now();
        double source_seconds = 0;
        auto source_future = std::async(std::launch::async, [&] {
            auto summary = source_summary(source, t.enmap);
            source_seconds = seconds_since(table_start);
            return summary;
        });
        Summary actual_summary;
        try {
            ServerChecksum server = server_summary(tx, t.table);
            report.checksums.push_back(server);
            actual_summary.rows = server.rows;
            actual_summary.sum = server.sum;
        } catch (...) {
            source_future.wait();
            throw;
        }
        double server_seconds = seconds_since(table_start);
        Summary expected_summary = source_future.get();
        spdlog::debug("validate {}: PostgreSQL's checksum {:.2f} s, the source's {:.2f} s", t.table,
                      server_seconds, source_seconds);
        report.rows += actual_summary.rows;
        if (actual_summary.rows != expected_rows[t.enmap]) {
            report.count_mismatches.push_back(t.table + ": " + std::to_string(actual_summary.rows) +
                                              " rows, the source has " +
                                              std::to_string(expected_rows[t.enmap]));
        }
        if (actual_summary.rows == expected_summary.rows && actual_summary.sum == expected_summary.sum) {
            continue;
        }
        spdlog::debug("validate {}: the summaries differ; comparing key by key", t.table);
        std::uint64_t buckets = std::max(actual_summary.rows, expected_summary.rows) / k_rows_per_bucket + 1;
        std::set<std::uint64_t> missing;
        std::set<std::uint64_t> extra;
        std::set<std::uint64_t> changed;
        std::uint64_t n_missing = 0;
        std::uint64_t n_extra = 0;
        std::uint64_t n_changed = 0;
        for (std::uint64_t bucket = 0; bucket < buckets; ++bucket) {
            auto expected_future = std::async(
                std::launch::async, [&] { return source_hashes(source, t.enmap, bucket, buckets); });
            std::vector<RowHash> actual;
            try {
                actual = read_back(tx, t.table, bucket, buckets);
            } catch (...) {
                expected_future.wait();
                throw;
            }
            std::vector<RowHash> expected = expected_future.get();
            std::sort(actual.begin(), actual.end());
            std::sort(expected.begin(), expected.end());
            auto note = [](std::set<std::uint64_t>& set, std::uint64_t key, std::uint64_t& count) {
                ++count;
                if (set.size() < k_samples_per_table) {
                    set.insert(key);
                }
            };
            std::size_t i = 0;
            std::size_t j = 0;
            while (i < expected.size() || j < actual.size()) {
                if (j == actual.size() || (i < expected.size() && expected[i].key < actual[j].key)) {
                    note(missing, expected[i++].key, n_missing);
                } else if (i == expected.size() || actual[j].key < expected[i].key) {
                    note(extra, actual[j++].key, n_extra);
                } else {
                    if (expected[i].value != actual[j].value) {
                        note(changed, expected[i].key, n_changed);
                    }
                    ++i;
                    ++j;
                }
            }
        }
        report.missing += n_missing;
        report.extra += n_extra;
        report.changed += n_changed;
        if (n_missing + n_extra + n_changed == 0) {
            report.count_mismatches.push_back(t.table +
                                              ": the table's checksum differs from the source's, yet "
                                              "no key does (a 64-bit hash collision?)");
            continue;
        }
        // Name the keys: the source knows the missing ones, PostgreSQL the extra and changed ones.
        if (!missing.empty()) {
            source.for_each_row(t.enmap, [&](std::string_view key, std::string_view) {
                if (missing.count(pg_hash_text_extended(key)) > 0) {
                    report.samples.push_back({t.table, std::string(key), "missing", "", "", ""});
                }
            });
        }
        std::string list;
        for (const auto* set : {&extra, &changed}) {
            for (auto h : *set) {
                list += (list.empty() ? "" : ", ") + std::to_string(static_cast<std::int64_t>(h));
            }
        }
        if (!list.empty()) {
            for (const auto& row :
                 tx.exec("SELECT key, value::text, hashtextextended(key, 0) FROM " + tx.quote_name(t.table) +
                         " WHERE hashtextextended(key, 0) IN (" + list + ") ORDER BY key")) {
                bool is_extra = extra.count(parse_int64(row[2].c_str())) > 0;
                report.samples.push_back(
                    {t.table, row[0].c_str(), is_extra ? "extra" : "changed", row[1].c_str(), "", ""});
            }
        }
        if (!changed.empty()) {
            std::map<std::string, Difference*> wanted;
            for (auto& d : report.samples) {
                if (d.table == t.table && d.kind == "changed") {
                    wanted[d.key] = &d;
                }
            }
            source.for_each_row(t.enmap, [&](std::string_view key, std::string_view value) {
                auto it = wanted.find(std::string(key));
                if (it != wanted.end()) {
                    std::string text;
                    append_jsonb_text(text, value);
                    it->second->expected = text;
                    it->second->path = first_difference(value, it->second->actual);
                }
            });
        }
    }
    if (autonum) {
        std::map<std::string, std::int64_t> expected;
        for (const auto& a : counters != nullptr ? *counters : source.autonum()) {
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
                report.samples.push_back({std::string(k_autonum_table), enmap, "missing", "", "", ""});
            } else if (it->second != n) {
                ++report.changed;
                report.samples.push_back({std::string(k_autonum_table), enmap, "changed",
                                          std::to_string(it->second), std::to_string(n), ""});
            }
        }
        for (const auto& [enmap, n] : actual) {
            if (expected.count(enmap) == 0) {
                ++report.extra;
                report.samples.push_back(
                    {std::string(k_autonum_table), enmap, "extra", std::to_string(n), "", ""});
            }
        }
    }
    report.ok = report.count_mismatches.empty() && report.missing + report.extra + report.changed == 0;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace replay
