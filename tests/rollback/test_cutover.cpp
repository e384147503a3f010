// enmap-migrate cutover: migration day in one command, through the real binary. It must leave the
// target exactly as a full replay of its final snapshot would, refuse before capturing while the
// bot runs or the target lacks the pre-seed, and leave the target as it was on any later failure.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "enmap/sample.hpp"
#include "snapshot/store.hpp"
#include "tests/replay/json_schema_subset.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using test_support::run_cli;
using test_support::TempDir;
using test_support::TestDatabase;

namespace {

const std::string k_plan = (test_support::source_dir() / "examples" / "plan").string();

// A sample bot, its live pre-seed snapshot "base", and (with a url) that snapshot replayed there.
struct Bot {
    TempDir tmp;
    fs::path dir = tmp.path() / "bot";
    std::string store = (tmp.path() / "store").string();
    explicit Bot(const std::string& url = {}) {
        enmap::SampleOptions sample;
        sample.generation = "5.7";  // JSON.stringify values: SQLite's json_set keeps them valid
        sample.scale = 2;
        sample.seed = 3;
        enmap::write_sample_database(dir, sample);
        auto snap = run_cli({"-q", "--store", store, "snapshot", "create", "--data-dir", dir.string(),
                             "--live", "--label", "base"});
        REQUIRE(snap.status == 0);
        if (!url.empty()) {
            auto seed = run_cli({"-q", "--store", store, "--database", url, "replay", "--snapshot", "base",
                                 "--plan", k_plan});
            CAPTURE(seed.err);
            REQUIRE(seed.status == 0);
        }
    }
    // What the bot does before it stops: an update, an insert, a delete, the autonum bumped.
    void change(const std::string& user = "999") const {
        SQLite::Database db((dir / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
        db.exec(
            "UPDATE guildsettings SET value = json_set(value, '$.prefix', '!!') WHERE key = (SELECT min(key) "
            "FROM guildsettings)");
        db.exec("INSERT INTO points (key, value) SELECT substr(key, 1, instr(key, '-')) || '" + user +
                "', json_set(value, '$.user', '" + user +
                "') FROM points WHERE key = (SELECT min(key) FROM points)");
        db.exec("DELETE FROM tags WHERE key = (SELECT max(key) FROM tags)");
        db.exec("UPDATE 'internal::autonum' SET lastnum = lastnum + 2 WHERE enmap = 'reminders'");
    }
    [[nodiscard]] std::size_t snapshots() const {
        return snapshot::Store(store, snapshot::Store::Access::k_read, "test").list().size();
    }
    [[nodiscard]] test_support::RunResult cutover(const std::string& url,
                                                  const std::vector<std::string>& more = {},
                                                  const std::string& plan = k_plan) const {
        std::vector<std::string> args = {"--store", store,        "--database", url,
                                         "cutover", "--data-dir", dir.string(), "--since",
                                         "base",    "--plan",     plan};
        args.insert(args.end(), more.begin(), more.end());
        return run_cli(args);
    }
};

// The last of the JSON lines; every line must be what docs/events.schema.json says.
nlohmann::json last_line(const std::string& out) {
    std::ifstream in(test_support::source_dir() / "docs" / "events.schema.json");
    schema_subset::Validator schema(nlohmann::json::parse(in));
    std::istringstream lines(out);
    std::string line;
    nlohmann::json last;
    while (std::getline(lines, line)) {
        last = nlohmann::json::parse(line);
        auto errors = schema.errors(last);
        CAPTURE(line);
        CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
    }
    return last;
}

}  // namespace

TEST_CASE("cutover: the final snapshot caught up leaves what a full replay of it leaves") {
    TestDatabase a;
    TestDatabase b;
    Bot bot(a.url());
    auto before = replay_test::digests(a.url());
    bot.change();
    auto r = bot.cutover(a.url(), {"--json"});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    auto report = last_line(r.out);
    CHECK(report["event"] == "report");
    CHECK(report["base"].get<std::string>().size() == 64);
    CHECK(report["label"].get<std::string>().rfind("cutover-", 0) == 0);
    CHECK(report["replay"]["status"] == "committed");
    CHECK(report["replay"]["base_run"] == 1);
    CHECK(report["replay"]["validation"]["ok"] == true);
    const auto& d = report["downtime"];
    double parts = 0;
    for (const char* part : {"snapshot", "diff", "apply", "transforms", "validation", "other"}) {
        CAPTURE(part);
        REQUIRE(d.contains(part));
        CHECK(d[part].get<double>() >= 0);
        parts += d[part].get<double>();
    }
    CHECK(d["snapshot"].get<double>() > 0);
    CHECK(d["total"].get<double>() == doctest::Approx(parts).epsilon(1e-9));
    CHECK(bot.snapshots() == 2);

    // The proof: every table equals a full replay of the final snapshot into an empty database.
    auto full = run_cli({"-q", "--store", bot.store, "--database", b.url(), "replay", "--snapshot",
                         report["snapshot"].get<std::string>(), "--plan", k_plan});
    REQUIRE(full.status == 0);
    auto after = replay_test::digests(a.url());
    CHECK(after == replay_test::digests(b.url()));
    CHECK(after != before);

    // The text report names the parts; status shows the catch-up's chain.
    auto status = run_cli({"--database", a.url(), "status"});
    CHECK(status.out.find("catch-up of run 1") != std::string::npos);
    // rollback postgres returns the database to the pre-seed's state, exactly.
    auto undo = run_cli({"-q", "--store", bot.store, "--database", a.url(), "rollback", "postgres"});
    CAPTURE(undo.err);
    CHECK(undo.status == 0);
    CHECK(replay_test::digests(a.url()) == before);
}

TEST_CASE("rollback postgres --all undoes a cutover and the pre-seed it rested on") {
    TestDatabase a;
    Bot bot(a.url());
    bot.change();
    auto first = bot.cutover(a.url(), {"--json"});
    REQUIRE(first.status == 0);
    std::string final_id = last_line(first.out)["snapshot"];
    bot.change("998");
    // A catch-up of a catch-up: the second cutover rests on the first one's final snapshot.
    auto second = run_cli({"-q", "--store", bot.store, "--database", a.url(), "cutover", "--data-dir",
                           bot.dir.string(), "--since", final_id, "--plan", k_plan});
    CAPTURE(second.err);
    REQUIRE(second.status == 0);
    REQUIRE(replay_test::user_relations(a.url()) > 0);
    auto both =
        run_cli({"--store", bot.store, "--database", a.url(), "rollback", "postgres", "--all", "--run", "1"});
    CHECK(both.status == 2);  // --all is the chain from the newest run
    auto r =
        run_cli({"--store", bot.store, "--database", a.url(), "--json", "rollback", "postgres", "--all"});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    auto out = nlohmann::json::parse(r.out);
    REQUIRE(out["rolled_back"].size() == 3);
    CHECK(out["rolled_back"][0]["run"] == 3);
    CHECK(out["rolled_back"][1]["run"] == 2);
    CHECK(out["rolled_back"][2]["run"] == 1);
    // The database held nothing before the pre-seed, and holds nothing now.
    CHECK(replay_test::user_relations(a.url()) == 0);
    auto again = run_cli({"--store", bot.store, "--database", a.url(), "rollback", "postgres", "--all"});
    CHECK(again.status == 7);
}

TEST_CASE("cutover: refuses before capturing while the bot runs, or when the target lacks the pre-seed") {
    TestDatabase empty;
    Bot bot;
    auto r = bot.cutover(empty.url());
    CHECK(r.status == 7);
    CHECK(r.err.find("does not hold a committed run of the base snapshot") != std::string::npos);
    CHECK(r.err.find("snapshot create --live") != std::string::npos);
    CHECK(bot.snapshots() == 1);

    TestDatabase a;
    auto seed = run_cli({"-q", "--store", bot.store, "--database", a.url(), "replay", "--snapshot", "base",
                         "--plan", k_plan});
    REQUIRE(seed.status == 0);
    auto before = replay_test::digests(a.url());
    {
        snapshot_test::HeldOpen running((bot.dir / "enmap.sqlite"), "SELECT count(*) FROM guildsettings");
        auto held = bot.cutover(a.url());
        CHECK(held.status == 7);
        CHECK(held.err.find("is open in another process") != std::string::npos);
        CHECK(held.err.find("stop the bot") != std::string::npos);
    }
    CHECK(bot.snapshots() == 1);
    CHECK(replay_test::digests(a.url()) == before);

    auto missing = run_cli({"--store", bot.store, "--database", a.url(), "cutover", "--data-dir",
                            bot.dir.string(), "--since", "nosuchlabel", "--plan", k_plan});
    CHECK(missing.status == 5);
    auto usage = run_cli(
        {"--store", bot.store, "--database", a.url(), "cutover", "--since", "base", "--plan", k_plan});
    CHECK(usage.status == 2);
}

TEST_CASE("cutover: a failure after the capture leaves the target as it was and names what to run") {
    TestDatabase a;
    Bot bot(a.url());
    auto before = replay_test::digests(a.url());
    bot.change();
    // A changed plan: the catch-up refuses after the capture, the final snapshot stays.
    TempDir plans;
    fs::copy(k_plan, plans.path() / "plan", fs::copy_options::recursive);
    replay_test::write_file(
        plans.path() / "plan" / "modules" / "tags" / "verify.sql",
        test_support::read_file(plans.path() / "plan" / "modules" / "tags" / "verify.sql") +
            "\n-- changed\n");
    auto r = bot.cutover(a.url(), {}, (plans.path() / "plan").string());
    CHECK(r.status == 7);
    CHECK(r.err.find("the plan changed") != std::string::npos);
    CHECK(r.err.find("the target is as it was") != std::string::npos);
    CHECK(r.err.find("enmap-migrate replay --snapshot") != std::string::npos);
    CHECK(r.err.find("start the bot again on Enmap") != std::string::npos);
    CHECK(bot.snapshots() == 2);
    CHECK(replay_test::digests(a.url()) == before);

    // --dry-run: everything, validated, then rolled back.
    auto dry = bot.cutover(a.url(), {"--dry-run", "--label", "rehearsed-cutover"});
    CAPTURE(dry.err);
    CHECK(dry.status == 0);
    CHECK(dry.out.find("dry run: the catch-up rolled back") != std::string::npos);
    CHECK(dry.out.find("downtime ") != std::string::npos);
    CHECK(replay_test::digests(a.url()) == before);
    CHECK(bot.snapshots() == 3);
}

TEST_SUITE_END();
