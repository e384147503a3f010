// `enmap-migrate snapshot ...` end to end through the real binary: JSON output, exit statuses,
// refusal of an open database, locking, and kill -9 of create at random moments.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "snapshot/hash.hpp"
#include "snapshot/lock.hpp"
#include "snapshot/store.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {
test_support::RunResult snap(const fs::path& store, std::vector<std::string> args, bool json = false) {
    std::vector<std::string> all = {"--store", store.string()};
    if (json) {
        all.push_back("--json");
    }
    all.push_back("snapshot");
    all.insert(all.end(), args.begin(), args.end());
    return run_cli(all);
}

pid_t spawn(const std::vector<std::string>& args) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int null = ::open("/dev/null", O_RDWR);
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        std::vector<std::string> copy = args;
        std::string binary = ENMAP_MIGRATE_BINARY;
        std::vector<char*> argv = {binary.data()};
        for (auto& a : copy) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    return pid;
}
}  // namespace

TEST_CASE("cli snapshot: create --json, list, show, diff, restore round trip") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "data" / "enmap.sqlite";
    snapshot_test::copy_fixture("enmap-6.1", db.parent_path());
    fs::path store = tmp.path() / "store";
    auto r = snap(store, {"create", "--data-dir", db.parent_path().string(), "--label", "before"}, true);
    REQUIRE(r.status == 0);
    auto created = nlohmann::json::parse(r.out);
    for (const char* key : {"id", "label", "files", "tables", "bytes_in", "bytes_stored_new"}) {
        CAPTURE(key);
        CHECK(created.contains(key));
    }
    CHECK(created["label"] == "before");
    CHECK(created["tables"]["points"]["rows"].get<int>() > 0);
    snapshot_test::update_rows(db, 0, 1, 0, "none");  // opening and closing changes nothing
    {
        SQLite::Database handle(db.string(), SQLite::OPEN_READWRITE);
        handle.exec("INSERT INTO points (key, value) VALUES ('new-key', '{\"t\":5}')");
    }
    auto second = snap(store, {"create", "--db", db.string()}, true);
    REQUIRE(second.status == 0);
    auto list = snap(store, {"list"}, true);
    REQUIRE(list.status == 0);
    auto listed = nlohmann::json::parse(list.out);
    REQUIRE(listed.size() == 2);
    CHECK(listed[0]["id"] == created["id"]);
    auto show = snap(store, {"show", created["id"].get<std::string>().substr(0, 10)}, true);
    REQUIRE(show.status == 0);
    CHECK(nlohmann::json::parse(show.out)["kind"] == "exact");
    auto diff = snap(store, {"diff", "before", "latest"}, true);
    REQUIRE(diff.status == 0);
    auto d = nlohmann::json::parse(diff.out);
    bool points_changed = false;
    for (const auto& table : d["tables"]) {
        if (table["table"] == "points") {
            points_changed = table["status"] == "changed";
        }
    }
    CHECK(points_changed);
    auto restore = snap(store, {"restore", "before", "--to", (tmp.path() / "out").string()});
    REQUIRE(restore.status == 0);
    CHECK(test_support::read_file(tmp.path() / "out" / "enmap.sqlite") ==
          test_support::read_file(test_support::fixture("enmap-6.1") / "enmap.sqlite"));
    auto again = snap(store, {"restore", "before", "--to", (tmp.path() / "out").string()});
    CHECK(again.status == 7);
    CHECK(snap(store, {"show", "nothing-like-this"}).status == 5);
    CHECK(snap(tmp.path() / "no-store", {"list"}).status == 5);
}

TEST_CASE("cli snapshot: an open database is refused with status 7, --live captures it") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 200);
    fs::path store = tmp.path() / "store";
    snapshot_test::HeldOpen bot(db, "INSERT INTO points (key, value) VALUES ('live', '{}')");
    auto refused = snap(store, {"create", "--db", db.string()});
    CHECK(refused.status == 7);
    CHECK(refused.err.find(std::to_string(bot.pid())) != std::string::npos);
    CHECK(refused.err.find("--live") != std::string::npos);
    auto live = snap(store, {"create", "--db", db.string(), "--live"}, true);
    REQUIRE(live.status == 0);
    CHECK(nlohmann::json::parse(live.out)["kind"] == "live");
    CHECK(nlohmann::json::parse(live.out)["tables"]["points"]["rows"] == 201);
}

TEST_CASE("cli snapshot: prune refuses while create holds the lock, naming the holder") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 50);
    fs::path store = tmp.path() / "store";
    REQUIRE(snap(store, {"create", "--db", db.string()}).status == 0);
    {
        snapshot::StoreLock held(store, snapshot::StoreLock::Mode::k_shared, "enmap-migrate snapshot create");
        auto prune = snap(store, {"prune", "--keep-last", "1"});
        CHECK(prune.status == 7);
        CHECK(prune.err.find("snapshot create") != std::string::npos);
        CHECK(prune.err.find(std::to_string(::getpid())) != std::string::npos);
        // Another create shares the lock.
        CHECK(snap(store, {"create", "--db", db.string()}).status == 0);
    }
    {
        snapshot::StoreLock held(store, snapshot::StoreLock::Mode::k_exclusive,
                                 "enmap-migrate snapshot prune");
        CHECK(snap(store, {"create", "--db", db.string()}).status == 7);
    }
    CHECK(snap(store, {"prune", "--keep-last", "1"}).status == 0);
    CHECK(snap(store, {"prune"}).status == 2);
    CHECK(snap(store, {"prune", "--keep-within", "soon"}).status == 2);
}

TEST_CASE("cli snapshot: verify exits 5 and names the damaged pack and the snapshots it affects") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 300);
    fs::path store = tmp.path() / "store";
    auto created = snap(store, {"create", "--db", db.string()}, true);
    REQUIRE(created.status == 0);
    std::string id = nlohmann::json::parse(created.out)["id"];
    CHECK(snap(store, {"verify"}).status == 0);
    CHECK(snap(store, {"verify", "latest"}).status == 0);
    auto packs = snapshot_test::files_under(store / "data");
    REQUIRE(packs.size() == 1);
    fs::resize_file(packs[0], fs::file_size(packs[0]) / 2);
    auto r = snap(store, {"verify"});
    CHECK(r.status == 5);
    CHECK(r.out.find(packs[0].filename().string()) != std::string::npos);
    CHECK(r.out.find("AFFECTED snapshot " + id) != std::string::npos);
    CHECK(snap(store, {"restore", "latest", "--to", (tmp.path() / "out").string()}).status == 5);
}

TEST_CASE("cli snapshot: kill -9 of create at random moments leaves the store valid") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 12000, "delete");
    fs::path store = tmp.path() / "store";
    std::string baseline = test_support::read_file(db);
    auto started = std::chrono::steady_clock::now();
    REQUIRE(snap(store, {"create", "--db", db.string(), "--label", "baseline"}).status == 0);
    auto full_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    std::set<std::string> versions = {snapshot::to_hex(snapshot::sha256(baseline))};
    unsigned seed = std::random_device{}();
    CAPTURE(seed);
    std::mt19937 rng(seed);
    int killed = 0;
    for (int i = 0; i < 20; ++i) {
        snapshot_test::update_rows(db, i * 7, 97, 60, "crash-" + std::to_string(i));
        versions.insert(snapshot::to_hex(snapshot::sha256(test_support::read_file(db))));
        pid_t pid = spawn({"--store", store.string(), "snapshot", "create", "--db", db.string()});
        auto delay = std::uniform_int_distribution<long>(0, full_us.count() * 3 / 4)(rng);
        ::usleep(static_cast<useconds_t>(delay));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        killed += WIFSIGNALED(status) ? 1 : 0;
    }
    MESSAGE("killed " << killed << " of 20 creates (one create takes " << full_us.count() << " us)");
    auto verify = snap(store, {"verify"});
    CHECK(verify.status == 0);
    CAPTURE(verify.out);
    // The next command cleaned up: no temporary files, no pack that no index lists.
    {
        snapshot::Store opened(store, snapshot::Store::Access::k_read, "test");
        CHECK(fs::is_empty(store / "tmp"));
        std::set<std::string> indexed;
        for (const auto& pack : opened.packs()) {
            indexed.insert(snapshot::to_hex(pack));
        }
        for (const auto& file : snapshot_test::files_under(store / "data")) {
            CHECK(indexed.count(file.filename().string()) == 1);
        }
        // Every listed snapshot is whole: it restores, and its file is one of the versions written.
        auto all = opened.list();
        CHECK(all.front().label == "baseline");
        for (const auto& info : all) {
            std::string bytes =
                snapshot_test::restored_bytes(opened, info.id, "enmap.sqlite", tmp.path() / "restore");
            CHECK(versions.count(snapshot::to_hex(snapshot::sha256(bytes))) == 1);
        }
        CHECK(snapshot_test::restored_bytes(opened, opened.resolve("baseline"), "enmap.sqlite",
                                            tmp.path() / "baseline") == baseline);
    }
    // And the store still takes new snapshots.
    CHECK(snap(store, {"create", "--db", db.string()}).status == 0);
    CHECK(snap(store, {"verify"}).status == 0);
}

TEST_CASE("cli snapshot: archive and import through the binary") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 300);
    fs::path store = tmp.path() / "store";
    REQUIRE(snap(store, {"create", "--db", db.string(), "--label", "keep-me"}).status == 0);
    fs::path archive = tmp.path() / "keep-me.emsa";
    REQUIRE(snap(store, {"archive", "keep-me", "--out", archive.string()}).status == 0);
    fs::path other = tmp.path() / "other";
    auto imported = snap(other, {"import", archive.string()}, true);
    REQUIRE(imported.status == 0);
    REQUIRE(snap(other, {"restore", "keep-me", "--to", (tmp.path() / "out").string()}).status == 0);
    CHECK(test_support::read_file(tmp.path() / "out" / "enmap.sqlite") == test_support::read_file(db));
    CHECK(snap(other, {"import", (tmp.path() / "missing.emsa").string()}).status == 3);
}
