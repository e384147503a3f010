// The real-client test: drizzle-orm's own migrate() (node-postgres) against a replayed database.
// Needs node and npm; installs tests/node's packages once (node_modules is cached in the tree).

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace {

// Runs a shell command, returns its exit status and output (stdout and stderr).
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

}  // namespace

TEST_CASE(
    "drizzle client: drizzle-orm migrate() applies nothing after a replay, and Drizzle reads the rows") {
    std::string output;
    REQUIRE_MESSAGE(shell("node --version && npm --version", output) == 0,
                    "node and npm are required for the drizzle-orm client test: " << output);
    auto node_dir = test_support::source_dir() / "tests" / "node";
    if (!std::filesystem::exists(node_dir / "node_modules" / "drizzle-orm" / "package.json") ||
        !std::filesystem::exists(node_dir / "node_modules" / "pg" / "package.json")) {
        int status =
            shell("cd " + quoted(node_dir.string()) + " && npm install --no-audit --no-fund", output);
        REQUIRE_MESSAGE(status == 0, "npm install in tests/node failed: " << output);
    }

    test_support::TempDir dir;
    test_support::TestDatabase db;
    std::ostringstream dump;
    for (int i = 0; i < 25; ++i) {
        dump << nlohmann::json{{"table", "points"},
                               {"key", "k" + std::to_string(i)},
                               {"value", {{"guild", std::to_string(100000 + i)}, {"xp", i * 7}}}}
                    .dump()
             << "\n";
    }
    replay_test::write_file(dir.path() / "dump.jsonl", dump.str());
    auto plan = dir.path() / "plan";
    replay_test::write_file(plan / "drizzle/0000_init.sql",
                            "CREATE TABLE IF NOT EXISTS \"levels\" (\n\t\"id\" text PRIMARY KEY NOT NULL,\n"
                            "\t\"xp\" integer NOT NULL\n);\n");
    replay_test::write_file(
        plan / "drizzle/0001_guild.sql",
        "ALTER TABLE \"levels\" ADD COLUMN \"guild\" text;--> statement-breakpoint\n"
        "CREATE INDEX IF NOT EXISTS \"levels_guild_idx\" ON \"levels\" USING btree (\"guild\");");
    replay_test::write_file(plan / "drizzle/meta/_journal.json", R"({
  "version": "7",
  "dialect": "postgresql",
  "entries": [
    { "idx": 0, "version": "7", "when": 1717000000000, "tag": "0000_init", "breakpoints": true },
    { "idx": 1, "version": "7", "when": 1717000100000, "tag": "0001_guild", "breakpoints": true }
  ]
})");
    replay_test::write_file(plan / "plan.json", R"({"drizzle":"drizzle","modules":[
        {"name":"levels","enmaps":["points"],"transform":["levels.sql"],"verify":["levels_verify.sql"]}]})");
    replay_test::write_file(
        plan / "levels.sql",
        "INSERT INTO levels (id, xp, guild)\nSELECT key, (value->>'xp')::int, value->>'guild' "
        "FROM raw_points;\n");
    replay_test::write_file(
        plan / "levels_verify.sql",
        "SELECT r.key FROM raw_points r LEFT JOIN levels l ON l.id = r.key WHERE l.id IS NULL;\n");

    replay::JsonlSource source(dir.path() / "dump.jsonl");
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.plan_dir = plan;
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    REQUIRE(report.status == "committed");
    REQUIRE(report.drizzle_rows.size() == 2);

    int status = shell("cd " + quoted(node_dir.string()) + " && node drizzle_client.mjs " + quoted(db.url()) +
                           " " + quoted((plan / "drizzle").string()) + " 25",
                       output);
    CAPTURE(output);
    CHECK(status == 0);
    CHECK(output.find("\"ok\":true") != std::string::npos);
    CHECK(replay_test::query_value(db.url(), "SELECT count(*) FROM drizzle.__drizzle_migrations") == "2");
}

TEST_SUITE_END();
