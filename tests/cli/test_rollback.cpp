// rehearse, cleanup and rollback through the real binary: two rehearsals give identical digests,
// cleanup refuses inside the window, and its archive restores on an empty store.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "enmap/sample.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using replay_test::query_value;
using test_support::run_cli;
using test_support::TempDir;
using test_support::TestDatabase;

namespace {

// --json output is JSON lines: one object per line, each with an "event"; the last is the report.
void check_json_lines(const std::string& out) {
    std::size_t start = 0;
    std::size_t lines = 0;
    std::string last_event;
    while (start < out.size()) {
        auto end = out.find('\n', start);
        REQUIRE_MESSAGE(end != std::string::npos, "the output does not end with a newline");
        auto line = out.substr(start, end - start);
        auto parsed = nlohmann::json::parse(line, nullptr, false);
        REQUIRE_MESSAGE(parsed.is_object(), std::string("not one JSON object: " + line));
        REQUIRE_MESSAGE(parsed.contains("event"), std::string("no \"event\": " + line));
        CHECK_MESSAGE(last_event != "report", std::string("a line after the report: " + line));
        last_event = parsed["event"].get<std::string>();
        ++lines;
        start = end + 1;
    }
    CHECK(lines > 2);
    CHECK(last_event == "report");
}

nlohmann::json last_line(const std::string& out) {
    auto end = out.find_last_not_of('\n');
    REQUIRE(end != std::string::npos);
    auto start = out.rfind('\n', end);
    return nlohmann::json::parse(out.substr(start == std::string::npos ? 0 : start + 1, end + 1));
}

fs::path sample_bot(const TempDir& tmp) {
    fs::path bot = tmp.path() / "bot";
    enmap::SampleOptions sample;
    sample.scale = 2;
    enmap::write_sample_database(bot, sample);
    return bot;
}

}  // namespace

TEST_CASE("cli rehearse: two rehearsals in a row give identical digests") {
    TempDir tmp;
    TestDatabase db;
    auto bot = sample_bot(tmp);
    std::string plan = (test_support::source_dir() / "examples" / "plan").string();
    std::string store = (tmp.path() / "store").string();
    auto first = run_cli({"--store", store, "--json", "rehearse", "--data-dir", bot.string(), "--plan", plan,
                          "--database", db.url()});
    REQUIRE_MESSAGE(first.status == 0, first.err);
    check_json_lines(first.out);
    auto a = last_line(first.out);
    CHECK(a["snapshot_created"] == true);
    CHECK(a["rolled_back"].empty());
    CHECK(a["validation"]["ok"] == true);
    CHECK(a["tables"].size() > 10);

    auto second = run_cli({"--store", store, "--json", "rehearse", "--snapshot",
                           a["snapshot"].get<std::string>(), "--plan", plan, "--database", db.url()});
    REQUIRE_MESSAGE(second.status == 0, second.err);
    check_json_lines(second.out);
    auto b = last_line(second.out);
    CHECK(b["rolled_back"] == nlohmann::json::array({a["run"]}));
    CHECK(b["run"] != a["run"]);
    CHECK(b["tables"] == a["tables"]);
    CHECK(b["digest"] == a["digest"]);
    // The rollback's log counts the objects status lists for that run, and status shows the kind.
    auto status = run_cli({"--database", db.url(), "--json", "status"});
    REQUIRE_MESSAGE(status.status == 0, status.err);
    auto ledger = nlohmann::json::parse(status.out);
    for (const auto& run : ledger["runs"]) {
        CHECK(run["kind"] == "rehearsal");
        if (run["id"] == a["run"]) {
            auto objects = std::to_string(run["objects"].size());
            CHECK_MESSAGE(second.err.find("its " + objects + " objects gone") != std::string::npos,
                          second.err);
        }
    }

    // A run that is not a rehearsal is never undone by rehearse.
    auto undo = run_cli({"--store", store, "rollback", "postgres", "--database", db.url()});
    REQUIRE_MESSAGE(undo.status == 0, undo.err);
    auto replay = run_cli({"--store", store, "--database", db.url(), "replay", "--snapshot",
                           a["snapshot"].get<std::string>(), "--plan", plan});
    REQUIRE_MESSAGE(replay.status == 0, replay.err);
    auto text = run_cli({"--database", db.url(), "status"});
    CHECK_MESSAGE(text.out.find("replay(go-live)") != std::string::npos, text.out);
    CHECK(text.out.find("rehearsal") != std::string::npos);
    auto refused = run_cli({"--store", store, "rehearse", "--snapshot", a["snapshot"].get<std::string>(),
                            "--plan", plan, "--database", db.url()});
    CHECK(refused.status == 7);
    CHECK(refused.err.find("not a rehearsal") != std::string::npos);
}

TEST_CASE(
    "cli cleanup: refuses inside the window, archives, drops raw_ tables, prunes; the archive restores") {
    TempDir tmp;
    TestDatabase db;
    auto bot = sample_bot(tmp);
    std::string plan = (test_support::source_dir() / "examples" / "plan").string();
    std::string store = (tmp.path() / "store").string();
    auto snap = run_cli({"--store", store, "--json", "snapshot", "create", "--data-dir", bot.string()});
    REQUIRE_MESSAGE(snap.status == 0, snap.err);
    std::string id = nlohmann::json::parse(snap.out)["id"];
    auto replay =
        run_cli({"--store", store, "--database", db.url(), "replay", "--snapshot", id, "--plan", plan});
    REQUIRE_MESSAGE(replay.status == 0, replay.err);
    std::string archive = (tmp.path() / "pre-migration.archive").string();

    auto early = run_cli({"--store", store, "cleanup", "--database", db.url(), "--archive-to", archive});
    CHECK(early.status == 7);
    CHECK(early.err.find("window") != std::string::npos);
    CHECK_FALSE(fs::exists(archive));
    CHECK(query_value(db.url(), "SELECT to_regclass('raw_points') IS NULL") == "f");

    auto done = run_cli({"--store", store, "--json", "cleanup", "--database", db.url(), "--older-than", "0s",
                         "--archive-to", archive, "--prune"});
    REQUIRE_MESSAGE(done.status == 0, done.err);
    auto report = nlohmann::json::parse(done.out);
    CHECK(report["snapshots"] == nlohmann::json::array({id}));
    CHECK(report["pruned"] == nlohmann::json::array({id}));
    CHECK(fs::exists(archive));
    CHECK(query_value(db.url(), "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'raw\\_%'") == "0");
    CHECK(query_value(db.url(), "SELECT to_regclass('member_levels') IS NULL") == "f");
    CHECK(query_value(db.url(), "SELECT count(*) FROM enmap_migrate.actions WHERE action = 'cleanup'") ==
          "1");
    CHECK(query_value(db.url(),
                      "SELECT count(*) FROM enmap_migrate.actions WHERE action = 'cleanup-prune'") == "1");
    auto list = run_cli({"--store", store, "snapshot", "list"});
    CHECK(list.out.find(id.substr(0, 12)) == std::string::npos);

    // A second cleanup finds nothing left to do.
    auto again = run_cli({"--store", store, "cleanup", "--database", db.url(), "--older-than", "0s",
                          "--archive-to", (tmp.path() / "second.archive").string()});
    CHECK(again.status == 0);
    CHECK(again.out.find("nothing to clean up") != std::string::npos);

    // After cleanup the run is live: rollback postgres says so, names the archive, and wants --force.
    auto live = run_cli({"--store", store, "rollback", "postgres", "--database", db.url()});
    CHECK(live.status == 7);
    CHECK_MESSAGE(live.err.find("cleaned up") != std::string::npos, live.err);
    CHECK(live.err.find(fs::absolute(archive).string()) != std::string::npos);
    CHECK(live.err.find("--force") != std::string::npos);
    CHECK(query_value(db.url(), "SELECT to_regclass('member_levels') IS NULL") == "f");
    auto forced = run_cli({"--store", store, "rollback", "postgres", "--database", db.url(), "--force"});
    REQUIRE_MESSAGE(forced.status == 0, forced.err);
    CHECK(forced.out.find(fs::absolute(archive).string()) != std::string::npos);
    // The Drizzle table was the run's own: no "deleted ... rows" of a table already dropped.
    CHECK(forced.out.find("row(s) of drizzle.__drizzle_migrations") == std::string::npos);
    CHECK(forced.out.find("was the run's own: dropped") != std::string::npos);

    // The archive alone restores the exact files on an empty store.
    std::string fresh = (tmp.path() / "fresh-store").string();
    auto imported = run_cli({"--store", fresh, "snapshot", "import", archive});
    REQUIRE_MESSAGE(imported.status == 0, imported.err);
    auto restored =
        run_cli({"--store", fresh, "snapshot", "restore", id, "--to", (tmp.path() / "out").string()});
    REQUIRE_MESSAGE(restored.status == 0, restored.err);
    CHECK(test_support::read_file(tmp.path() / "out" / "enmap.sqlite") ==
          test_support::read_file(bot / "enmap.sqlite"));
}

TEST_SUITE_END();
