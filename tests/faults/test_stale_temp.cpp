// A killed `snapshot archive` (or restore) leaves its temporary file, a copy of production data,
// in the output folder. The next run removes the ones whose process is dead, and says so.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <thread>

#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {

// A pid that no process has: a child that has exited and been reaped.
pid_t dead_pid() {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(::kill(pid, 0) != 0);
    return pid;
}

std::vector<fs::path> temp_files(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().filename().string().rfind(".tmp-", 0) == 0) {
            out.push_back(entry.path());
        }
    }
    return out;
}

}  // namespace

TEST_CASE("faults: archive removes the temporary files of dead archives, keeps everyone else's") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 500);
    std::string store = (tmp.path() / "store").string();
    REQUIRE(
        run_cli({"--store", store, "snapshot", "create", "--db", db.string(), "--label", "first"}).status ==
        0);
    fs::path out = tmp.path() / "out";
    fs::create_directories(out);
    fs::path stale = out / (".tmp-" + std::to_string(dead_pid()) + "-0-123456");
    fs::path running = out / (".tmp-" + std::to_string(::getpid()) + "-0-1");
    fs::path foreign = out / ".tmp-not-ours";
    for (const auto& p : {stale, running, foreign}) {
        std::ofstream(p) << "production data";
    }
    auto r = run_cli({"--store", store, "snapshot", "archive", "first", "--out", (out / "a.emsa").string()});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(!fs::exists(stale));
    CHECK_MESSAGE(r.err.find("removed " + stale.string() + " (15 bytes)") != std::string::npos, r.err);
    CHECK(fs::exists(running));
    CHECK(fs::exists(foreign));
    CHECK(fs::exists(out / "a.emsa"));

    // restore does the same in the folder it writes to.
    fs::path to = tmp.path() / "restored";
    fs::create_directories(to);
    fs::path left = to / (".tmp-" + std::to_string(dead_pid()) + "-3-99");
    std::ofstream(left) << "x";
    auto restored = run_cli({"--store", store, "snapshot", "restore", "first", "--to", to.string()});
    REQUIRE_MESSAGE(restored.status == 0, restored.err);
    CHECK(!fs::exists(left));
    CHECK(restored.err.find("removed " + left.string()) != std::string::npos);
}

TEST_CASE("faults: kill -9 of snapshot archive leaves a temporary file that the next archive removes") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 40000);
    std::string store = (tmp.path() / "store").string();
    REQUIRE(
        run_cli({"--store", store, "snapshot", "create", "--db", db.string(), "--label", "first"}).status ==
        0);
    fs::path out = tmp.path() / "out";
    fs::create_directories(out);
    std::vector<std::string> archive = {
        "--store", store, "snapshot", "archive", "first", "--out", (out / "a.emsa").string()};
    auto start = std::chrono::steady_clock::now();
    REQUIRE(run_cli(archive).status == 0);
    long full =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
            .count();
    fs::remove(out / "a.emsa");
    std::mt19937 rng(18);
    std::vector<fs::path> left;
    for (int attempt = 0; attempt < 60 && left.empty(); ++attempt) {
        std::uniform_int_distribution<long> at(full / 5, full);
        test_support::run_and_kill(archive, at(rng));
        left = temp_files(out);
    }
    REQUIRE_MESSAGE(!left.empty(), "no kill landed while the archive was being written (" << full << " us)");
    auto r = run_cli(archive);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    for (const auto& p : left) {
        CHECK(!fs::exists(p));
        CHECK_MESSAGE(r.err.find("removed " + p.string()) != std::string::npos, r.err);
    }
    CHECK(temp_files(out).empty());
    CHECK(
        run_cli({"--store", (tmp.path() / "other").string(), "snapshot", "import", (out / "a.emsa").string()})
            .status == 0);
}
