// What a plan keeps (renames, formats, policies, its drizzle folder) and how replay and rehearse
// use it, through the real binary.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/run_in.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {

std::string fixture_dump(const std::string& name) {
    return (test_support::fixture(name) / "expected.jsonl").string();
}

nlohmann::json read_json(const fs::path& file) {
    return nlohmann::json::parse(test_support::read_file(file));
}

// A drizzle-kit folder with one migration creating `guild_config`.
void write_drizzle(const fs::path& dir) {
    replay_test::write_file(
        dir / "0000_init.sql",
        "CREATE TABLE \"guild_config\" (\"id\" text PRIMARY KEY NOT NULL, \"data\" jsonb);\n");
    replay_test::write_file(dir / "meta" / "_journal.json",
                            R"({"version":"7","dialect":"postgresql","entries":[
        {"idx":0,"version":"7","when":1717000000000,"tag":"0000_init","breakpoints":true}]})");
}

}  // namespace

TEST_CASE("cli plan init: renames and policies are kept in plan.json, and replay applies them") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    fs::path plan = dir.path() / "plan";
    auto init = run_cli({"plan", "init", "--source-jsonl", fixture_dump("enmap-6.1"), "--out", plan.string(),
                         "--rename", "guildSettings=guild_config", "--invalid-text", "replace"});
    CAPTURE(init.err);
    REQUIRE(init.status == 0);
    auto j = read_json(plan / "plan.json");
    CHECK(j["renames"]["guildSettings"] == "guild_config");
    CHECK(j["policies"]["invalid_text"] == "replace");
    CHECK(j["modules"].size() == 9);

    // No --rename and no --invalid-text: the plan's are used.
    auto r = run_cli({"--database", db.url(), "replay", "--plan", plan.string(), "--source-jsonl",
                      fixture_dump("enmap-6.1")});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(replay_test::query_value(db.url(), "SELECT count(*) FROM raw_guild_config") == "3");
}

TEST_CASE("cli plan: a plan.json without the new fields still loads, and a bad one is named") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    fs::path plan = dir.path() / "plan";
    replay_test::write_file(plan / "plan.json",
                            R"({"version":1,"drizzle":null,"modules":[
        {"name":"all","enmaps":["economy","giveaways","global","guildsettings","points","samples","tags",
                                "warnings"]}]})");
    auto old = run_cli({"--database", db.url(), "replay", "--plan", plan.string(), "--source-jsonl",
                        fixture_dump("enmap-5.7"), "--invalid-text", "replace"});
    CAPTURE(old.err);
    CHECK(old.status == 0);

    replay_test::write_file(plan / "plan.json",
                            R"({"version":1,"renames":{"points":"Bad Name"},"modules":[]})");
    auto bad = run_cli({"--database", db.url(), "replay", "--plan", plan.string(), "--source-jsonl",
                        fixture_dump("enmap-5.7")});
    CHECK(bad.status == 3);
    CHECK(bad.err.find("Bad Name") != std::string::npos);
}

TEST_CASE("cli plan: an enmap Enmap 5 stored lowercased is named, with the fix") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    fs::path plan = dir.path() / "plan";
    // The bot's code says guildSettings; Enmap 5.7 stored it as guildsettings.
    replay_test::write_file(plan / "plan.json",
                            R"({"version":1,"modules":[
        {"name":"all","enmaps":["economy","giveaways","global","guildSettings","points","samples","tags",
                                "warnings"]}]})");
    auto r = run_cli({"--database", db.url(), "replay", "--plan", plan.string(), "--source-jsonl",
                      fixture_dump("enmap-5.7"), "--invalid-text", "replace"});
    CHECK(r.status == 3);
    CHECK(r.err.find("the source has 'guildsettings'") != std::string::npos);
    CHECK(r.err.find("Enmap 5 stores enmap names lowercased") != std::string::npos);
    CHECK(r.err.find("guildsettings=guild_settings") != std::string::npos);

    auto rename = run_cli({"--database", db.url(), "replay", "--source-jsonl", fixture_dump("enmap-5.7"),
                           "--rename", "guildSettings=guild_settings", "--invalid-text", "replace"});
    CHECK(rename.status == 2);
    CHECK(rename.err.find("the source has 'guildsettings'") != std::string::npos);
}

TEST_CASE("cli rehearse: takes replay's --rename, --only and --keep-going, and the plan's renames") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    fs::path data = dir.path() / "data";
    snapshot_test::copy_fixture("enmap-5.7", data);
    fs::path store = dir.path() / "store";
    REQUIRE(run_cli({"--store", store.string(), "snapshot", "create", "--data-dir", data.string(), "--label",
                     "pre"})
                .status == 0);
    fs::path plan = dir.path() / "plan";
    auto init = run_cli({"--store", store.string(), "plan", "init", "--snapshot", "pre", "--out",
                         plan.string(), "--rename", "guildsettings=guild_config"});
    CAPTURE(init.err);
    REQUIRE(init.status == 0);
    auto r = run_cli({"rehearse", "--snapshot", "pre", "--plan", plan.string(), "--database", db.url(),
                      "--store", store.string(), "--invalid-text", "replace", "--rename", "points=levels",
                      "--keep-going", "--format", "tags=json"});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(replay_test::query_value(db.url(), "SELECT count(*) FROM raw_guild_config") != "");
    CHECK(replay_test::query_value(db.url(), "SELECT to_regclass('raw_levels') IS NOT NULL") == "t");
}

TEST_CASE(
    "cli plan init: a drizzle folder is copied and named; one copied in later is used, with a warning") {
    test_support::TempDir dir;
    fs::path bot = dir.path() / "bot";
    write_drizzle(bot / "drizzle");
    auto init = cli_test::run_cli_in(bot, {"plan", "init", "--source-jsonl", fixture_dump("enmap-6.1"),
                                           "--out", "plan", "--rename", "guildSettings=guild_settings_raw"});
    CAPTURE(init.err);
    REQUIRE(init.status == 0);
    CHECK(read_json(bot / "plan" / "plan.json")["drizzle"] == "drizzle");
    CHECK(fs::is_regular_file(bot / "plan" / "drizzle" / "meta" / "_journal.json"));
    CHECK(init.out.find("drizzle migrations: copied") != std::string::npos);

    // An older plan with "drizzle": null and the README's `cp -r drizzle plan/drizzle`.
    test_support::TestDatabase db;
    fs::path plan = dir.path() / "old-plan";
    write_drizzle(plan / "drizzle");
    replay_test::write_file(plan / "plan.json", R"({"version":1,"drizzle":null,"modules":[
        {"name":"all","enmaps":["economy","giveaways","global","guildSettings","points","reminders","samples",
                                "tags","warnings"],"transform":["fill.sql"]}]})");
    replay_test::write_file(
        plan / "fill.sql",
        "INSERT INTO guild_config (id, data) SELECT key, value FROM raw_guild_settings;\n");
    auto r = run_cli({"--database", db.url(), "replay", "--plan", plan.string(), "--source-jsonl",
                      fixture_dump("enmap-6.1"), "--invalid-text", "replace"});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(r.err.find("names no drizzle folder") != std::string::npos);
    CHECK(replay_test::query_value(db.url(), "SELECT count(*) FROM guild_config") == "3");
}

TEST_SUITE_END();
