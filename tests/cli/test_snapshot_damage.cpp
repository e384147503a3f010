// A store that was tampered with or lost a file, through the real binary: `snapshot list` checks
// each manifest against its id, and a store without its config is never made to look new.

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

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

std::string create(const fs::path& store, const fs::path& db, const std::string& label) {
    auto r = snap(store, {"create", "--db", db.string(), "--label", label}, true);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return nlohmann::json::parse(r.out)["id"].get<std::string>();
}

}  // namespace

TEST_CASE("cli snapshot list: a tampered manifest is reported, not listed, and the status is 5") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 50);
    fs::path store = tmp.path() / "store";
    std::string first = create(store, db, "first");
    snapshot_test::update_rows(db, 0, 3, 10, "second");
    std::string second = create(store, db, "second");

    // Change the label inside the manifest: still valid JSON, no longer its id's bytes.
    fs::path manifest = store / "snapshots" / second;
    std::string text = test_support::read_file(manifest);
    auto at = text.find("\"second\"");
    REQUIRE(at != std::string::npos);
    text.replace(at, 8, "\"forged\"");
    std::ofstream(manifest, std::ios::binary | std::ios::trunc) << text;

    auto r = snap(store, {"list"});
    CHECK(r.status == 5);
    CHECK(r.out.find(first.substr(0, 12)) != std::string::npos);
    CHECK(r.out.find("forged") == std::string::npos);
    CHECK_MESSAGE(r.err.find(second) != std::string::npos, r.err);
    CHECK(r.err.find("does not match its SHA-256") != std::string::npos);
    CHECK(r.err.find("snapshot verify") != std::string::npos);
    auto json = snap(store, {"list"}, true);
    CHECK(json.status == 5);
    CHECK(nlohmann::json::parse(json.out).size() == 1);
    // The forged label resolves to nothing, and `latest` is not silently the older snapshot.
    CHECK(snap(store, {"show", "forged"}).status == 5);
    auto latest = snap(store, {"show", "latest"});
    CHECK(latest.status == 5);
    CHECK(latest.err.find(second) != std::string::npos);
    // The sound snapshot still restores.
    CHECK(snap(store, {"restore", "first", "--to", (tmp.path() / "out").string()}).status == 0);
}

TEST_CASE("cli snapshot: a store whose config was deleted is neither recreated nor called missing") {
    test_support::TempDir tmp;
    fs::path data = tmp.path() / "data";
    fs::path db = data / "enmap.sqlite";
    fs::create_directories(data);
    snapshot_test::make_database(db, 30, "delete");
    fs::path store = tmp.path() / "store";
    create(store, db, "before");
    fs::remove(store / "config");

    for (const auto& args : std::vector<std::vector<std::string>>{
             {"create", "--db", db.string()}, {"list"}, {"verify"}, {"show", "before"}}) {
        CAPTURE(args.front());
        auto r = snap(store, args);
        CHECK(r.status == 5);
        CHECK_MESSAGE(
            r.err.find("has lost its config file, but still holds 1 snapshot(s)") != std::string::npos,
            r.err);
        CHECK(r.err.find("there is no snapshot store") == std::string::npos);
        CHECK(r.err.find("printf") != std::string::npos);  // the fix, spelled out
        CHECK(!fs::exists(store / "config"));
    }
    auto rollback = run_cli({"--store", store.string(), "rollback", "files", "--snapshot", "before",
                             "--data-dir", data.string()});
    CHECK(rollback.status == 5);
    CHECK_MESSAGE(rollback.err.find("has lost its config file") != std::string::npos, rollback.err);
    CHECK(!fs::exists(store / "config"));

    // The fix the message names works.
    std::ofstream(store / "config") << "{\"format\": \"enmap-migrate-store\", \"version\": 1}\n";
    CHECK(snap(store, {"verify"}).status == 0);
    CHECK(snap(store, {"list"}).out.find("before") != std::string::npos);
}
