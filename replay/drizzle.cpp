#include "replay/drizzle.hpp"

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "enmap/error.hpp"
#include "replay/digest.hpp"
#include "replay/paths.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {
constexpr std::string_view k_breakpoint = "--> statement-breakpoint";
}

std::vector<DrizzleMigration> read_drizzle_folder(const fs::path& dir) {
    fs::path journal_path = dir / "meta" / "_journal.json";
    if (!fs::is_regular_file(journal_path)) {
        throw enmap::InputError("the Drizzle folder " + dir.string() + " has no meta/_journal.json",
                                "point \"drizzle\" in plan.json at drizzle-kit's output folder");
    }
    std::ifstream in(journal_path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    nlohmann::json journal;
    try {
        journal = nlohmann::json::parse(buf.str());
    } catch (const nlohmann::json::parse_error& e) {
        throw enmap::InputError(journal_path.string() + ": malformed JSON: " + e.what());
    }
    if (!journal.is_object() || !journal.contains("entries") || !journal["entries"].is_array()) {
        throw enmap::InputError(journal_path.string() + ": expected an object with an \"entries\" array");
    }
    if (journal.contains("dialect") && journal["dialect"] != "postgresql") {
        throw enmap::InputError(journal_path.string() + ": dialect is " + journal["dialect"].dump() +
                                ", not \"postgresql\"");
    }
    std::vector<DrizzleMigration> out;
    std::size_t index = 0;
    for (const auto& entry : journal["entries"]) {
        std::string where = journal_path.string() + ": entries[" + std::to_string(index++) + "]";
        if (!entry.is_object() || !entry.contains("tag") || !entry["tag"].is_string() ||
            !entry.contains("when") || !entry["when"].is_number_integer()) {
            throw enmap::InputError(where + " needs a string \"tag\" and an integer \"when\"");
        }
        DrizzleMigration m;
        m.tag = entry["tag"].get<std::string>();
        m.when = entry["when"].get<std::int64_t>();
        m.file = dir / (m.tag + ".sql");
        if (m.tag.empty() || fs::path(m.tag).is_absolute() || !inside_folder(dir, m.file)) {
            throw enmap::InputError(
                where + ": the tag \"" + m.tag + "\" names a file outside " + dir.string(),
                "a journal tag is a file name in the Drizzle folder, as drizzle-kit writes it");
        }
        if (!fs::is_regular_file(m.file)) {
            throw enmap::InputError(where + ": the file " + m.file.string() + " does not exist",
                                    "regenerate the folder with drizzle-kit generate");
        }
        std::ifstream sql(m.file, std::ios::binary);
        std::ostringstream text;
        text << sql.rdbuf();
        std::string bytes = text.str();
        m.hash = sha256_hex(bytes);
        std::size_t start = 0;
        while (true) {
            std::size_t pos = bytes.find(k_breakpoint, start);
            m.statements.push_back(
                bytes.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
            if (pos == std::string::npos) {
                break;
            }
            start = pos + k_breakpoint.size();
        }
        out.push_back(std::move(m));
    }
    for (std::size_t i = 1; i < out.size(); ++i) {
        const auto& before = *std::max_element(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(i),
                                               [](const auto& a, const auto& b) { return a.when < b.when; });
        if (!(before.when < out[i].when)) {
            spdlog::warn(
                "{}: entry {} (when {}) is not later than the earlier entry {} (when {}): drizzle-orm's "
                "migrate() would skip it on a database migrated up to {}",
                journal_path.string(), out[i].tag, out[i].when, before.tag, before.when, before.tag);
        }
    }
    return out;
}

std::vector<DrizzleSkip> drizzle_skip_hazards(pqxx::transaction_base& tx,
                                              const std::vector<DrizzleMigration>& migrations) {
    std::vector<DrizzleSkip> out;
    if (tx.exec1("SELECT to_regclass('\"drizzle\".\"__drizzle_migrations\"') IS NULL")[0].as<bool>()) {
        return out;
    }
    // The row migrate() compares with: its own query, so NULLs sort first as they do for it (and
    // count as 0, as Number(null) does).
    auto last = tx.exec(
        "select created_at from \"drizzle\".\"__drizzle_migrations\" order by created_at desc limit 1");
    if (last.empty()) {
        return out;
    }
    std::int64_t newest = last[0][0].is_null() ? 0 : last[0][0].as<std::int64_t>();
    std::set<std::string> hashes;
    std::set<std::int64_t> created;
    for (const auto& row : tx.exec("select hash, created_at from \"drizzle\".\"__drizzle_migrations\"")) {
        hashes.insert(row[0].c_str());
        if (!row[1].is_null()) {
            created.insert(row[1].as<std::int64_t>());
        }
    }
    for (const auto& m : migrations) {
        bool recorded = hashes.count(m.hash) > 0 || created.count(m.when) > 0;
        if (!recorded && !(newest < m.when)) {
            out.push_back({m.tag, m.when, newest});
        }
    }
    return out;
}

void refuse_drizzle_skips(const std::vector<DrizzleSkip>& skips, const fs::path& journal) {
    if (skips.empty()) {
        return;
    }
    std::string list;
    for (const auto& s : skips) {
        list += (list.empty() ? "" : ", ") + s.tag + " (when " + std::to_string(s.when) + ")";
    }
    std::string newest = std::to_string(skips.front().newest);
    std::string where = journal.empty() ? std::string("the Drizzle journal") : journal.string();
    throw enmap::RefusedError(
        where + ": drizzle-orm's migrate() would skip " + list +
            " on this database without a word: no row of drizzle.__drizzle_migrations records " +
            (skips.size() == 1 ? "it" : "them") + ", and migrate() applies only entries whose \"when\" is " +
            "later than its newest row's created_at (" + newest + "; drizzle-orm issues 5316 and 5769)",
        "in " + where + ", give " + (skips.size() == 1 ? "that entry" : "each of those entries") +
            " a \"when\" later than " + newest + " (e.g. " + std::to_string(skips.front().newest + 1) +
            ", keeping the entries in increasing order of \"when\"), ship the same journal with the bot, "
            "and replay again; if its SQL was already applied by hand, record it instead with INSERT INTO "
            "drizzle.__drizzle_migrations (hash, created_at) VALUES (<sha256 of the .sql file>, <its when>)");
}

std::vector<DrizzleRow> apply_drizzle(pqxx::transaction_base& tx,
                                      const std::vector<DrizzleMigration>& migrations,
                                      const fs::path& journal) {
    refuse_drizzle_skips(drizzle_skip_hazards(tx, migrations), journal);
    tx.exec("CREATE SCHEMA IF NOT EXISTS \"drizzle\"");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS \"drizzle\".\"__drizzle_migrations\" ("
        " id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint)");
    auto last = tx.exec(
        "select id, hash, created_at from \"drizzle\".\"__drizzle_migrations\" order by created_at desc "
        "limit 1");
    std::optional<std::int64_t> last_when;
    if (!last.empty() && !last[0][2].is_null()) {
        last_when = last[0][2].as<std::int64_t>();
    }
    std::vector<DrizzleRow> added;
    for (const auto& m : migrations) {
        if (last_when && !(*last_when < m.when)) {
            continue;
        }
        for (const auto& statement : m.statements) {
            if (statement.find_first_not_of(" \t\r\n") == std::string::npos) {
                continue;
            }
            tx.exec(statement, "drizzle " + m.tag);
        }
        auto row =
            tx.exec("insert into \"drizzle\".\"__drizzle_migrations\" (\"hash\", \"created_at\") values (" +
                    tx.quote(m.hash) + ", " + std::to_string(m.when) + ") returning id");
        added.push_back({row[0][0].as<std::int64_t>(), m.hash, m.when});
    }
    return added;
}

}  // namespace replay
