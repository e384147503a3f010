// Where options may stand on the command line, and which folders the defaults point at: the
// program's and a parent command's options after the subcommand, and the project folder found
// upward from the current one (as git finds .git).

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

TEST_CASE("cli options: program and parent options work after the subcommand") {
    test_support::TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    fs::path store = tmp.path() / "store";

    auto create = run_cli({"snapshot", "create", "--data-dir", data.string(), "--store", store.string(),
                           "--json", "--label", "after"});
    CAPTURE(create.err);
    REQUIRE(create.status == 0);
    CHECK(nlohmann::json::parse(create.out)["label"] == "after");
    CHECK(fs::is_directory(store / "snapshots"));

    auto list = run_cli({"snapshot", "list", "--json", "--store", store.string()});
    REQUIRE(list.status == 0);
    CHECK(nlohmann::json::parse(list.out).size() == 1);

    // devdb's --dir belongs to `devdb`, given after `status`: exits 3 (not created), not 2.
    auto devdb = run_cli({"devdb", "status", "--dir", (tmp.path() / "devdb").string(), "--json"});
    CAPTURE(devdb.err);
    CHECK(devdb.status == 3);
    CHECK(nlohmann::json::parse(devdb.out)["folder"] == (tmp.path() / "devdb").string());

    test_support::TestDatabase db;
    auto replay = run_cli({"replay", "--snapshot", "after", "--store", store.string(), "--database", db.url(),
                           "--invalid-text", "replace", "-q"});
    CAPTURE(replay.err);
    CHECK(replay.status == 0);
    CHECK(replay.out.find("replay committed") != std::string::npos);

    // An option nobody has is still a usage error naming it.
    auto unknown = run_cli({"snapshot", "list", "--store", store.string(), "--no-such-thing"});
    CHECK(unknown.status == 2);
    CHECK(unknown.err.find("no-such-thing") != std::string::npos);
}

TEST_CASE("cli options: the store and the dev database follow the project folder, not the current one") {
    test_support::TempDir tmp;
    fs::path project = tmp.path() / "bot";
    fs::create_directories(project / ".enmap-migrate");
    fs::path deeper = project / "src" / "commands";
    fs::create_directories(deeper);
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    std::vector<std::string> env = {"ENMAP_MIGRATE_STORE=", "ENMAP_MIGRATE_DEVDB="};

    auto create = cli_test::run_cli_in(deeper, {"snapshot", "create", "--data-dir", data.string()}, env);
    CAPTURE(create.err);
    REQUIRE(create.status == 0);
    CHECK(fs::is_directory(project / "enmap-snapshots" / "snapshots"));
    CHECK(!fs::exists(deeper / "enmap-snapshots"));
    CHECK(create.err.find((project / "enmap-snapshots").string()) != std::string::npos);

    auto status = cli_test::run_cli_in(deeper, {"devdb", "status", "--json"}, env);
    CHECK(status.status == 3);
    CHECK(nlohmann::json::parse(status.out)["folder"] == (project / ".enmap-migrate" / "devdb").string());

    // A folder with no project above it keeps everything in itself, and says where.
    fs::path alone = tmp.path() / "alone";
    fs::create_directories(alone);
    auto here = cli_test::run_cli_in(alone, {"devdb", "status"}, env);
    CHECK(here.out.find((alone / ".enmap-migrate" / "devdb").string()) != std::string::npos);
}

TEST_CASE("cli status: names the project's dev database and whether it runs") {
    test_support::TempDir tmp;
    test_support::TestDatabase db;
    fs::path devdb = tmp.path() / "devdb";
    auto r = run_cli({"status", "--database", db.url()}, {"ENMAP_MIGRATE_DEVDB=" + devdb.string()});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.out.find("dev database: none in " + devdb.string()) != std::string::npos);
    auto j = run_cli({"status", "--json", "--database", db.url()}, {"ENMAP_MIGRATE_DEVDB=" + devdb.string()});
    REQUIRE(j.status == 0);
    auto ledger = nlohmann::json::parse(j.out);
    CHECK(ledger["devdb"]["folder"] == devdb.string());
    CHECK(ledger["devdb"]["running"] == false);
}

TEST_SUITE_END();
