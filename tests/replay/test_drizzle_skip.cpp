// Drizzle's skip hazard, with the real drizzle-orm: migrate() compares each journal entry's `when`
// with the newest row of __drizzle_migrations only, so an entry older than that row is never
// applied. Replay refuses such a journal instead of leaving the bot's schema silently behind.

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "enmap/error.hpp"
#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;

namespace {

int shell(const std::string& command, std::string& output) {
    output.clear();
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) {
        output.append(buf.data(), n);
    }
    int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

fs::path node_dir() {
    auto dir = test_support::source_dir() / "tests" / "node";
    if (!fs::exists(dir / "node_modules" / "drizzle-orm" / "package.json") ||
        !fs::exists(dir / "node_modules" / "pg" / "package.json")) {
        std::string output;
        int status = shell("cd " + quoted(dir.string()) + " && npm install --no-audit --no-fund", output);
        REQUIRE_MESSAGE(status == 0, "npm install in tests/node failed: " << output);
    }
    return dir;
}

// The bot's own migrate() against `url` with `folder`; returns its report.
nlohmann::json bot_migrate(const std::string& url, const fs::path& folder) {
    std::string output;
    int status = shell("cd " + quoted(node_dir().string()) + " && node drizzle_migrate.mjs " + quoted(url) +
                           " " + quoted(folder.string()),
                       output);
    REQUIRE_MESSAGE(status == 0, "drizzle_migrate.mjs failed: " << output);
    return nlohmann::json::parse(output.substr(output.rfind('{')));
}

struct Entry {
    std::string tag;
    long long when;
    std::string sql;
};

void write_folder(const fs::path& dir, const std::vector<Entry>& entries) {
    std::string journal = R"({"version":"7","dialect":"postgresql","entries":[)";
    int idx = 0;
    for (const auto& e : entries) {
        replay_test::write_file(dir / (e.tag + ".sql"), e.sql);
        journal += std::string(idx > 0 ? "," : "") + R"({"idx":)" + std::to_string(idx) +
                   R"(,"version":"7","when":)" + std::to_string(e.when) + R"(,"tag":")" + e.tag +
                   R"(","breakpoints":true})";
        ++idx;
    }
    replay_test::write_file(dir / "meta" / "_journal.json", journal + "]}");
}

const Entry k_init{"0000_init", 1717000000000,
                   "CREATE TABLE \"levels\" (\"id\" text PRIMARY KEY, \"xp\" integer);"};
const Entry k_badges{"0002_badges", 1717000200000, "CREATE TABLE \"badges\" (\"id\" text PRIMARY KEY);"};
// Written on a branch before 0002 was, merged after 0002 had reached production.
const Entry k_tags{"0001_tags", 1717000100000, "CREATE TABLE \"tags\" (\"name\" text PRIMARY KEY);"};

}  // namespace

TEST_CASE("drizzle skip hazard: migrate() skips an entry older than the newest row, and replay refuses it") {
    test_support::TempDir dir;
    // The bot ran migrate() on the target with the journal it shipped first.
    write_folder(dir.path() / "shipped", {k_init, k_badges});
    test_support::TestDatabase target;
    test_support::TestDatabase witness;
    CHECK(bot_migrate(target.url(), dir.path() / "shipped")["after"] == 2);
    CHECK(bot_migrate(witness.url(), dir.path() / "shipped")["after"] == 2);

    // The plan's folder: the merged branch's 0001_tags, whose `when` is older than 0002's.
    auto plan = dir.path() / "plan";
    write_folder(plan / "drizzle", {k_init, k_tags, k_badges});

    // The real migrate() skips it without a word: no row added, no table tags.
    auto skipped = bot_migrate(witness.url(), plan / "drizzle");
    CHECK(skipped["before"] == 2);
    CHECK(skipped["after"] == 2);
    CHECK(skipped["tables"] == nlohmann::json::array({"badges", "levels"}));

    replay_test::write_file(dir.path() / "dump.jsonl", R"({"table":"points","key":"k1","value":{"xp":3}})"
                                                       "\n");
    replay_test::write_file(plan / "plan.json",
                            R"({"drizzle":"drizzle","modules":[{"name":"points","enmaps":["points"]}]})");
    replay::ReplayOptions options;
    options.database_url = target.url();
    options.plan_dir = plan;
    {
        replay::JsonlSource source(dir.path() / "dump.jsonl");
        replay::Events events;
        try {
            replay::run_replay(source, options, events);
            FAIL("replay should refuse a journal entry migrate() would skip");
        } catch (const enmap::RefusedError& e) {
            std::string what = e.what();
            CAPTURE(what);
            CHECK(what.find("0001_tags (when 1717000100000)") != std::string::npos);
            CHECK(what.find("_journal.json") != std::string::npos);
            CHECK(what.find("1717000200000") != std::string::npos);
            CHECK(e.hint().find("a \"when\" later than 1717000200000") != std::string::npos);
        }
    }
    // Nothing was written: no table tags, no raw_ table, still the bot's two rows.
    CHECK(replay_test::query_value(target.url(), "SELECT count(*) FROM drizzle.__drizzle_migrations") == "2");
    CHECK(replay_test::query_value(target.url(), "SELECT to_regclass('tags') IS NULL") == "t");
    CHECK(replay_test::query_value(target.url(), "SELECT to_regclass('raw_points') IS NULL") == "t");

    // The fix the hint gives: a later `when`, entries in increasing order. Replay applies it, and
    // the bot's migrate() then finds nothing pending.
    write_folder(plan / "drizzle", {k_init, k_badges, Entry{k_tags.tag, 1717000300000, k_tags.sql}});
    {
        replay::JsonlSource source(dir.path() / "dump.jsonl");
        replay::Events events;
        auto report = replay::run_replay(source, options, events);
        CHECK(report.status == "committed");
        REQUIRE(report.drizzle_rows.size() == 1);
        CHECK(report.drizzle_rows[0].created_at == 1717000300000);
    }
    auto after = bot_migrate(target.url(), plan / "drizzle");
    CHECK(after["before"] == 3);
    CHECK(after["after"] == 3);
    CHECK(after["tables"] ==
          nlohmann::json::array({"badges", "levels", "raw_internal_autonum", "raw_points", "tags"}));
}

TEST_CASE("drizzle skip hazard: entries the target already records are not a hazard") {
    test_support::TempDir dir;
    write_folder(dir.path() / "drizzle", {k_init, k_badges});
    test_support::TestDatabase target;
    CHECK(bot_migrate(target.url(), dir.path() / "drizzle")["after"] == 2);
    auto migrations = replay::read_drizzle_folder(dir.path() / "drizzle");
    pqxx::connection conn(target.url());
    pqxx::work tx(conn);
    CHECK(replay::drizzle_skip_hazards(tx, migrations).empty());
    // An entry recorded under an edited file (another hash, same created_at) counts as applied too.
    tx.exec("UPDATE drizzle.__drizzle_migrations SET hash = 'edited' WHERE created_at = 1717000000000");
    CHECK(replay::drizzle_skip_hazards(tx, migrations).empty());
    tx.exec("DELETE FROM drizzle.__drizzle_migrations WHERE created_at = 1717000000000");
    auto skips = replay::drizzle_skip_hazards(tx, migrations);
    REQUIRE(skips.size() == 1);
    CHECK(skips[0].tag == "0000_init");
    CHECK(skips[0].newest == 1717000200000);
}

TEST_SUITE_END();
