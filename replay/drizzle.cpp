#include "replay/drizzle.hpp"

#include <pqxx/pqxx>

#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
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
    return out;
}

std::vector<DrizzleRow> apply_drizzle(pqxx::transaction_base& tx,
                                      const std::vector<DrizzleMigration>& migrations) {
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
