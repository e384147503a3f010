// `validate` as it is used on production after go-live, and what validate and rollback files say
// after cleanup, through the real binary.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/replay/replay_support.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {

// A store with snapshot "pre" of the 6.1 fixture and "later" with one value changed, and a
// database holding a committed (go-live) replay of "pre".
struct GoLive {
    test_support::TempDir tmp;
    test_support::TestDatabase db;
    fs::path data = tmp.path() / "data";
    fs::path store = tmp.path() / "store";

    GoLive() {
        snapshot_test::copy_fixture("enmap-6.1", data);
        REQUIRE(cli({"snapshot", "create", "--data-dir", data.string(), "--label", "pre"}).status == 0);
        {
            SQLite::Database handle((data / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
            handle.exec("INSERT INTO tags (key, value) VALUES ('added-later', '{\"t\":5}')");
        }
        REQUIRE(cli({"snapshot", "create", "--data-dir", data.string(), "--label", "later"}).status == 0);
        auto r = cli({"replay", "--snapshot", "pre", "--invalid-text", "replace"});
        CAPTURE(r.err);
        REQUIRE(r.status == 0);
    }
    test_support::RunResult cli(std::vector<std::string> args) const {
        std::vector<std::string> all = {"--store", store.string(), "--database", db.url()};
        all.insert(all.end(), args.begin(), args.end());
        return run_cli(all);
    }
};

}  // namespace

TEST_CASE("cli validate: defaults to the run's own snapshot, and warns about another") {
    GoLive live;
    auto own = live.cli({"validate", "--invalid-text", "replace"});
    CAPTURE(own.err);
    CHECK(own.status == 0);
    CHECK(own.out.find("validation of run 1:") != std::string::npos);
    CHECK(own.out.find(" ok ") != std::string::npos);

    auto other = live.cli({"validate", "--snapshot", "later", "--invalid-text", "replace"});
    CAPTURE(other.err);
    CHECK(other.status == 8);
    CHECK(other.err.find("is not the one run 1 replayed") != std::string::npos);
    CHECK(other.err.find("raw_tags/added-later: missing") != std::string::npos);
    // A committed go-live run: never the advice to roll it back.
    CHECK(other.err.find("rollback postgres") == std::string::npos);
    CHECK(other.err.find("go-live") != std::string::npos);
}

TEST_CASE("cli validate: a changed key shows both values and the first JSON path where they differ") {
    GoLive live;
    {
        pqxx::connection conn(live.db.url());
        pqxx::work tx(conn);
        tx.exec(
            "UPDATE raw_points SET value = jsonb_set(value, '{xp}', '0') WHERE key = (SELECT min(key) FROM "
            "raw_points)");
        tx.commit();
    }
    auto r = live.cli({"validate", "--invalid-text", "replace"});
    CHECK(r.status == 8);
    CHECK(r.err.find("changed at $.xp") != std::string::npos);
    CHECK(r.err.find("source:   {") != std::string::npos);
    CHECK(r.err.find("Postgres: {") != std::string::npos);
    CHECK(r.err.find("rollback postgres") == std::string::npos);
    auto j = live.cli({"--json", "validate", "--invalid-text", "replace"});
    CHECK(j.status == 8);
    auto report = nlohmann::json::parse(j.out);
    REQUIRE(report["samples"].size() == 1);
    CHECK(report["samples"][0]["path"] == "$.xp");
    CHECK(report["samples"][0]["expected"].get<std::string>() != report["samples"][0]["actual"]);
    CHECK(report["own_source"] == true);
}

TEST_CASE("cli validate, rollback files: after cleanup both say so and name the archive") {
    GoLive live;
    fs::path archive = live.tmp.path() / "pre-migration.archive";
    auto clean = live.cli({"cleanup", "--force", "--prune", "--archive-to", archive.string()});
    CAPTURE(clean.err);
    REQUIRE(clean.status == 0);

    auto v = live.cli({"validate", "--snapshot", "later", "--invalid-text", "replace"});
    CHECK(v.status == 7);
    CHECK(v.err.find("cleanup dropped the raw_ tables of run 1") != std::string::npos);
    CHECK(v.err.find(archive.string()) != std::string::npos);
    CHECK(v.err.find("does not exist") == std::string::npos);

    auto f = live.cli({"rollback", "files", "--snapshot", "pre", "--data-dir", live.data.string()});
    CHECK(f.status == 5);
    CHECK(f.err.find("cleanup of run 1") != std::string::npos);
    CHECK(f.err.find(archive.string()) != std::string::npos);
    CHECK(f.err.find("snapshot import") != std::string::npos);
}

TEST_CASE("cli rollback files: a --data-dir that does not exist yet is created, mode 0700") {
    test_support::TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    fs::path store = tmp.path() / "store";
    REQUIRE(run_cli({"--store", store.string(), "snapshot", "create", "--data-dir", data.string(), "--label",
                     "pre-migration"})
                .status == 0);
    fs::path fresh = tmp.path() / "restore" / "data";
    auto r = run_cli({"rollback", "files", "--snapshot", "pre-migration", "--data-dir", fresh.string(),
                      "--store", store.string()});
    CAPTURE(r.err);
    CHECK(r.status == 0);
    CHECK((fs::status(fresh).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(test_support::read_file(fresh / "enmap.sqlite") == test_support::read_file(data / "enmap.sqlite"));
}

TEST_SUITE_END();
