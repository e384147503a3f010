// The fault suite (issue 18): kill -9 at random moments of the writing snapshot commands, each
// followed by what the README promises: earlier snapshots intact and restorable byte for byte,
// `snapshot verify` clean, the source untouched, and the next command working. Bounded: a few
// seconds per loop.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <chrono>
#include <random>
#include <thread>

#include "rollback/files.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

// Starts the real binary, kills it with SIGKILL after `micros`, and returns whether the kill came

long micros_of(const std::vector<std::string>& args) {
    auto start = std::chrono::steady_clock::now();
    auto r = test_support::run_cli(args);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
        .count();
}

}  // namespace

TEST_CASE("faults: kill -9 snapshot create, import and archive at random moments") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 20000);
    std::string source_sha = rollback::file_sha256(db);
    std::string store = (tmp.path() / "store").string();
    std::string other = (tmp.path() / "other").string();
    std::vector<std::string> create = {"--store", store, "snapshot", "create", "--db", db.string()};
    auto first = test_support::run_cli(
        {"--store", store, "--json", "snapshot", "create", "--db", db.string(), "--label", "first"});
    REQUIRE_MESSAGE(first.status == 0, first.err);
    std::string archive = (tmp.path() / "a.enmap-archive").string();
    std::vector<std::string> archive_args = {"--store", store,   "snapshot", "archive",
                                             "first",   "--out", archive};
    std::vector<std::vector<std::string>> commands = {
        create, archive_args, {"--store", other, "snapshot", "import", archive}};
    std::vector<long> full;
    full.reserve(commands.size());
    for (const auto& c : commands) {
        full.push_back(micros_of(c));
    }
    std::mt19937 random(20261203);
    int kills = 0;
    int rounds = 0;
    for (int i = 0; i < 24; ++i) {
        std::size_t which = static_cast<std::size_t>(i) % commands.size();
        std::uniform_int_distribution<long> when(0, full[which]);
        kills += test_support::run_and_kill(commands[which], when(random)) ? 1 : 0;
        ++rounds;
        for (const auto& s : {store, other}) {
            if (!fs::exists(fs::path(s) / "config")) {
                continue;
            }
            auto verify = test_support::run_cli({"--store", s, "snapshot", "verify"});
            CHECK_MESSAGE(verify.status == 0, "round " << i << " " << s << ": " << verify.err);
        }
        CHECK(rollback::file_sha256(db) == source_sha);
    }
    // The snapshot taken before the kills restores byte for byte, and the commands work again.
    auto restore = test_support::run_cli(
        {"--store", store, "snapshot", "restore", "first", "--to", (tmp.path() / "out").string()});
    REQUIRE_MESSAGE(restore.status == 0, restore.err);
    CHECK(rollback::file_sha256(tmp.path() / "out" / "enmap.sqlite") == source_sha);
    for (const auto& c : commands) {
        auto again = test_support::run_cli(c);
        CHECK_MESSAGE(again.status == 0, again.err);
    }
    MESSAGE("kill -9 loop: " << kills << " kills in " << rounds << " rounds of create, archive and import");
}
