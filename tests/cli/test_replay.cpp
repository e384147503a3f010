// The replay, validate, status and plan init commands through the real binary.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

using test_support::run_cli;

namespace {
std::string fixture_dump(const std::string& name) {
    return (test_support::fixture(name) / "expected.jsonl").string();
}
}  // namespace

TEST_CASE("cli replay: --json emits parseable events and status shows the run") {
    test_support::TestDatabase db;
    auto r = run_cli({"--database", db.url(), "--json", "replay", "--source-jsonl", fixture_dump("enmap-6.1"),
                      "--invalid-text", "replace"});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    std::istringstream lines(r.out);
    std::string line;
    std::set<std::string> events;
    nlohmann::json last;
    while (std::getline(lines, line)) {
        last = nlohmann::json::parse(line);
        events.insert(last["event"].get<std::string>());
        CHECK(last.contains("time"));
    }
    for (const char* e : {"module_started", "progress", "module_finished", "run_finished"}) {
        CAPTURE(e);
        CHECK(events.count(e) == 1);
    }
    CHECK(last["event"] == "run_finished");
    CHECK(last["status"] == "committed");
    CHECK(last["rows"] == 117);
    CHECK(last["validation"]["ok"] == true);
    CHECK(last["lossy"]["text_replaced"] == 1);
    CHECK(last["tables"]["guildSettings"] == "raw_guild_settings");

    auto status = run_cli({"--database", db.url(), "--json", "status"});
    REQUIRE(status.status == 0);
    auto ledger = nlohmann::json::parse(status.out);
    REQUIRE(ledger["runs"].size() == 1);
    CHECK(ledger["runs"][0]["status"] == "committed");
    CHECK(ledger["runs"][0]["modules"].size() == 10);
    auto text = run_cli({"--database", db.url(), "status"});
    CHECK(text.status == 0);
    CHECK(text.out.find("committed") != std::string::npos);
    CHECK(text.out.find("guild_settings") != std::string::npos);

    auto validate = run_cli({"--database", db.url(), "validate", "--source-jsonl", fixture_dump("enmap-6.1"),
                             "--invalid-text", "replace"});
    CHECK(validate.status == 0);
    CHECK(validate.out.find("ok") != std::string::npos);

    auto again = run_cli({"--database", db.url(), "replay", "--source-jsonl", fixture_dump("enmap-6.1"),
                          "--invalid-text", "replace"});
    CHECK(again.status == 7);
    CHECK(again.err.find("rollback postgres") != std::string::npos);

    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        tx.exec(
            "UPDATE raw_points SET value = jsonb_set(value, '{xp}', '0') WHERE key = (SELECT min(key) FROM "
            "raw_points)");
        tx.commit();
    }
    auto changed = run_cli({"--database", db.url(), "validate", "--source-jsonl", fixture_dump("enmap-6.1"),
                            "--invalid-text", "replace"});
    CHECK(changed.status == 8);
    CHECK(changed.err.find("raw_points/") != std::string::npos);
    CHECK(changed.err.find("changed") != std::string::npos);
}

TEST_CASE("cli replay: a policy violation exits 4 and lists the offending key") {
    test_support::TestDatabase db;
    auto r = run_cli({"--database", db.url(), "replay", "--source-jsonl", fixture_dump("enmap-5.9")});
    CHECK(r.status == 4);
    CHECK(r.err.find("samples/nul-in-string") != std::string::npos);
    CHECK(r.err.find("--invalid-text=replace") != std::string::npos);
    CHECK(replay_test::user_relations(db.url()) == 0);
}

TEST_CASE("cli replay: a dry run prints the report and leaves nothing") {
    test_support::TestDatabase db;
    auto r = run_cli({"--database", db.url(), "replay", "--dry-run", "--source-jsonl",
                      fixture_dump("enmap-5.7"), "--invalid-text", "replace"});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(r.out.find("replay dry-run") != std::string::npos);
    CHECK(r.out.find("validation: 9 tables, 107 rows, ok") != std::string::npos);
    CHECK(replay_test::user_relations(db.url()) == 0);
    // Every module's line says "passed": a dry run's ROLLBACK commits nothing.
    std::size_t passed = 0;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        CHECK_MESSAGE(line.find(" committed ") == std::string::npos, line);
        passed += line.find(" passed ") != std::string::npos ? 1 : 0;
    }
    CHECK(passed >= 9);
}

TEST_CASE("cli plan init: the written plan replays") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    auto init = run_cli({"plan", "init", "--source-jsonl", fixture_dump("enmap-6.1"), "--out",
                         (dir.path() / "plan").string(), "--rename", "guildSettings=guild_config"});
    CAPTURE(init.err);
    REQUIRE(init.status == 0);
    CHECK(init.out.find("guildSettings") != std::string::npos);
    CHECK(init.out.find("raw_guild_config") != std::string::npos);
    auto again = run_cli({"plan", "init", "--source-jsonl", fixture_dump("enmap-6.1"), "--out",
                          (dir.path() / "plan").string()});
    CHECK(again.status == 3);
    auto r = run_cli({"--database", db.url(), "replay", "--plan", (dir.path() / "plan").string(),
                      "--source-jsonl", fixture_dump("enmap-6.1"), "--invalid-text", "replace", "--rename",
                      "guildSettings=guild_config"});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK(replay_test::query_value(db.url(), "SELECT count(*) FROM raw_guild_config") == "3");
}

TEST_CASE("cli replay: usage and connection errors, with the password kept out") {
    // Without --database and DATABASE_URL, replay falls back to the embedded dev database; with no
    // server installed that is a clear error naming scripts/bootstrap.
    test_support::TempDir devdb;
    auto none = run_cli({"replay", "--source-jsonl", fixture_dump("enmap-6.1")},
                        {"DATABASE_URL=", "ENMAP_MIGRATE_PG_BIN=/nonexistent/bin",
                         "ENMAP_MIGRATE_DEVDB=" + (devdb.path() / "devdb").string()});
    CHECK(none.status == 6);
    CHECK(none.err.find("embedded dev database") != std::string::npos);
    CHECK(none.err.find("scripts/bootstrap") != std::string::npos);
    auto bad = run_cli({"--database", "postgresql://bot:Sup3rS3cret@127.0.0.1:1/app?sslmode=disable",
                        "replay", "--source-jsonl", fixture_dump("enmap-6.1"), "--invalid-text", "replace"});
    CHECK(bad.status == 6);
    CHECK(bad.err.find("Sup3rS3cret") == std::string::npos);
    CHECK(bad.err.find("bot:***@127.0.0.1:1") != std::string::npos);
    auto env = run_cli({"status"}, {"DATABASE_URL=postgresql://bot:Sup3rS3cret@127.0.0.1:1/app"});
    CHECK(env.status == 6);
    CHECK(env.err.find("Sup3rS3cret") == std::string::npos);
    auto missing = run_cli(
        {"--database", "postgresql://x@127.0.0.1:1/x", "replay", "--source-jsonl", "/nonexistent.jsonl"});
    CHECK(missing.status == 3);
}

TEST_SUITE_END();
