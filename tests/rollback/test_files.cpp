// rollback/files.cpp: byte-exact restores of every fixture, the stale WAL case, idempotence, the
// safety snapshot, refusal while the database is open, and crash injection through the real binary.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "enmap/error.hpp"
#include "enmap/sample.hpp"
#include "rollback/files.hpp"
#include "snapshot/capture.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using test_support::TempDir;

namespace {

// name -> sha256 of every enmap.sqlite* file in the folder (the work folder is not part of the set).
std::map<std::string, std::string> file_set(const fs::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& entry : fs::directory_iterator(dir)) {
        auto name = entry.path().filename().string();
        if (entry.is_regular_file() && name.rfind("enmap.sqlite", 0) == 0) {
            out[name] = rollback::file_sha256(entry.path());
        }
    }
    return out;
}

snapshot::Hash take_snapshot(snapshot::Store& store, const fs::path& dir, const std::string& label = {}) {
    snapshot::CaptureOptions capture;
    capture.database = dir / "enmap.sqlite";
    capture.label = label;
    capture.summarize = snapshot::count_rows;
    return snapshot::capture(store, capture).id;
}

// Every table of an Enmap database (with its -wal), as "table|key|value" lines. It reads a copy:
// even a read-only open of a WAL database creates -wal and -shm files beside it.
std::vector<std::string> contents(const fs::path& db) {
    TempDir scratch;
    for (const char* suffix : {"", "-wal"}) {
        fs::path file = db.string() + suffix;
        if (fs::exists(file)) {
            fs::copy_file(file, scratch.path() / ("enmap.sqlite" + std::string(suffix)));
        }
    }
    SQLite::Database conn((scratch.path() / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
    std::vector<std::string> tables;
    SQLite::Statement list(conn, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    while (list.executeStep()) {
        tables.push_back(list.getColumn(0).getString());
    }
    std::vector<std::string> out;
    for (const auto& t : tables) {
        SQLite::Statement rows(conn, "SELECT * FROM \"" + t + "\" ORDER BY 1");
        while (rows.executeStep()) {
            std::string line = t;
            for (int i = 0; i < rows.getColumnCount(); ++i) {
                line += "|" + rows.getColumn(i).getString();
            }
            out.push_back(line);
        }
    }
    return out;
}

// Changes the data the way a bot does: rewrites a value in every enmap table and adds a key.
void change_data(const fs::path& db) {
    SQLite::Database conn(db.string(), SQLite::OPEN_READWRITE);
    std::vector<std::string> tables;
    SQLite::Statement list(
        conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'internal::%'");
    while (list.executeStep()) {
        tables.push_back(list.getColumn(0).getString());
    }
    REQUIRE_FALSE(tables.empty());
    for (const auto& t : tables) {
        conn.exec("UPDATE \"" + t + "\" SET value = '\"changed\"' WHERE key = (SELECT min(key) FROM \"" + t +
                  "\")");
        conn.exec("INSERT OR REPLACE INTO \"" + t + "\" (key, value) VALUES ('added-after-snapshot', '1')");
    }
}

}  // namespace

TEST_CASE("rollback files: byte-exact restore of every fixture after changing the data") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        TempDir tmp;
        fs::path data = tmp.path() / "data";
        snapshot_test::copy_fixture(name, data);
        auto original = file_set(data);
        auto before_rows = contents(data / "enmap.sqlite");
        snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
        auto id = take_snapshot(store, data);

        change_data(data / "enmap.sqlite");
        REQUIRE(file_set(data) != original);

        rollback::FilesOptions options{data, snapshot::to_hex(id), false};
        auto report = rollback::rollback_files(store, options);
        CHECK(report.changed);
        CHECK(file_set(data) == original);
        CHECK_FALSE(fs::exists(data / rollback::k_work_dir));
        CHECK(contents(data / "enmap.sqlite") == before_rows);
        REQUIRE_FALSE(report.safety_snapshot_id.empty());
        CHECK(report.safety_label.rfind("pre-rollback-", 0) == 0);
        CHECK(store.resolve(report.safety_label) == snapshot::from_hex(report.safety_snapshot_id));
        bool replaced = false;
        for (const auto& f : report.files) {
            replaced = replaced || (f.name == "enmap.sqlite" && f.change() == "replaced");
        }
        CHECK(replaced);

        // Idempotent: the second run changes nothing and takes no snapshot.
        auto again = rollback::rollback_files(store, options);
        CHECK_FALSE(again.changed);
        CHECK(again.safety_snapshot_id.empty());
        CHECK(file_set(data) == original);

        // The rollback itself can be undone through its safety snapshot.
        auto undo = rollback::rollback_files(store, {data, report.safety_label, false});
        CHECK(undo.changed);
        CHECK(contents(data / "enmap.sqlite") != before_rows);
        CHECK(rollback::rollback_files(store, options).changed);
        CHECK(file_set(data) == original);
    }
}

TEST_CASE("rollback files: a stale -wal and -shm beside the database are removed, not applied") {
    TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    auto original = file_set(data);
    auto rows = contents(data / "enmap.sqlite");
    auto id = take_snapshot(store, data);
    REQUIRE(original.count("enmap.sqlite-wal") == 0);

    // A bot killed mid-write leaves committed pages in the -wal: copy the files while it is open.
    fs::path scratch = tmp.path() / "scratch";
    snapshot_test::copy_fixture("enmap-6.1", scratch);
    {
        SQLite::Database conn((scratch / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
        conn.exec("PRAGMA journal_mode=wal");
        conn.exec("PRAGMA wal_autocheckpoint=0");
        change_data(scratch / "enmap.sqlite");
        SQLite::Database writer((scratch / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
        writer.exec("PRAGMA wal_autocheckpoint=0");
        writer.exec("BEGIN");
        SQLite::Statement list(writer, "SELECT name FROM sqlite_master WHERE type = 'table' LIMIT 1");
        REQUIRE(list.executeStep());
        writer.exec("INSERT OR REPLACE INTO \"" + list.getColumn(0).getString() +
                    "\" (key, value) VALUES ('in-wal', '2')");
        writer.exec("COMMIT");
        for (const char* f : {"enmap.sqlite-wal", "enmap.sqlite-shm"}) {
            REQUIRE(fs::exists(scratch / f));
            fs::copy_file(scratch / f, data / f, fs::copy_options::overwrite_existing);
        }
    }
    REQUIRE(contents(data / "enmap.sqlite") != rows);  // the stale WAL is what a reader would see
    // (reading created a new -shm; the -wal is still there)
    REQUIRE(fs::exists(data / "enmap.sqlite-wal"));

    auto report = rollback::rollback_files(store, {data, snapshot::to_hex(id), false});
    CHECK(report.changed);
    std::set<std::string> removed;
    for (const auto& f : report.files) {
        if (f.change() == "removed") {
            removed.insert(f.name);
        }
    }
    CHECK(removed.count("enmap.sqlite-wal") == 1);
    CHECK(file_set(data) == original);
    CHECK(contents(data / "enmap.sqlite") == rows);
    // The safety snapshot kept the -wal: restoring it brings the stale data back exactly.
    auto manifest = store.read_manifest(snapshot::from_hex(report.safety_snapshot_id));
    bool has_wal = false;
    for (const auto& f : manifest["files"]) {
        has_wal = has_wal || f["name"] == "enmap.sqlite-wal";
    }
    CHECK(has_wal);
}

TEST_CASE("rollback files: restores a snapshot that holds a -wal, and refuses while the database is open") {
    TempDir tmp;
    fs::path bot = tmp.path() / "bot";
    enmap::SampleOptions sample;
    sample.scale = 2;
    sample.wal = true;
    enmap::write_sample_database(bot, sample);
    REQUIRE(fs::exists(bot / "enmap.sqlite-wal"));
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    auto id = take_snapshot(store, bot);
    auto manifest = store.read_manifest(id);

    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-5.9", data);
    {
        snapshot_test::HeldOpen bot_process(data / "enmap.sqlite", "SELECT count(*) FROM sqlite_master");
        CHECK_THROWS_AS(rollback::rollback_files(store, {data, snapshot::to_hex(id), false}),
                        enmap::RefusedError);
    }
    auto report = rollback::rollback_files(store, {data, snapshot::to_hex(id), false});
    CHECK(report.changed);
    auto set = file_set(data);
    CHECK(set.size() == manifest["files"].size());
    for (const auto& f : manifest["files"]) {
        CHECK(set[f["name"].get<std::string>()] == f["sha256"].get<std::string>());
    }
}

namespace {

// The old set: a database with its -wal and -shm; the new set: a snapshot of another with a -wal.
struct CrashSetup {
    TempDir tmp;
    fs::path data = tmp.path() / "data";
    fs::path old_files = tmp.path() / "old";
    fs::path store = tmp.path() / "store";
    std::string id;
    std::map<std::string, std::string> old_set;
    std::map<std::string, std::string> new_set;

    CrashSetup() {
        enmap::SampleOptions a;
        a.scale = 3;
        a.wal = true;
        a.seed = 1;
        enmap::write_sample_database(old_files, a);
        enmap::SampleOptions b = a;
        b.seed = 2;
        b.generation = "5.9";
        fs::path bot = tmp.path() / "bot";
        enmap::write_sample_database(bot, b);
        snapshot::Store s(store, snapshot::Store::Access::k_write, "test");
        id = snapshot::to_hex(take_snapshot(s, bot));
        auto manifest = s.read_manifest(snapshot::from_hex(id));
        for (const auto& f : manifest["files"]) {
            new_set[f["name"].get<std::string>()] = f["sha256"].get<std::string>();
        }
        old_set = file_set(old_files);
        REQUIRE(old_set.size() == 3);
        REQUIRE(new_set.size() == 2);
    }
    void reset() {
        fs::remove_all(data);
        fs::create_directories(data);
        for (const auto& entry : fs::directory_iterator(old_files)) {
            fs::copy_file(entry.path(), data / entry.path().filename());
        }
    }
    std::vector<std::string> args() const {
        return {"--store", store.string(), "rollback",   "files", "--snapshot",
                id,        "--data-dir",   data.string()};
    }
    // What the folder holds: "old", "new", or a description of the mix.
    std::string state() const {
        auto now = file_set(data);
        if (now == old_set) {
            return "old";
        }
        if (now == new_set) {
            return "new";
        }
        std::string out = "mix:";
        for (const auto& [name, sha] : now) {
            out += " " + name + "=" +
                   (old_set.count(name) && old_set.at(name) == sha   ? "old"
                    : new_set.count(name) && new_set.at(name) == sha ? "new"
                                                                     : "?");
        }
        return out;
    }
    // A database is never beside a -wal of another version of it: (old, old), (old, none),
    // (new, none) or (new, new).
    bool wal_matches_database() const {
        auto now = file_set(data);
        std::string db = now["enmap.sqlite"];
        std::string wal = now.count("enmap.sqlite-wal") ? now["enmap.sqlite-wal"] : "";
        if (db == old_set.at("enmap.sqlite")) {
            return wal.empty() || wal == old_set.at("enmap.sqlite-wal");
        }
        return db == new_set.at("enmap.sqlite") && (wal.empty() || wal == new_set.at("enmap.sqlite-wal"));
    }
    // After a kill: old or new set, or a journal the next command completes; then it is the new set.
    void check_after_kill(const std::string& point) {
        CAPTURE(point);
        bool journal = fs::exists(data / rollback::k_work_dir / "journal.json");
        CHECK(wal_matches_database());
        if (!journal) {
            auto s = state();
            CHECK_MESSAGE((s == "old" || s == "new"), std::string(s));
        }
        auto next = test_support::run_cli(args());
        CHECK_MESSAGE(next.status == 0, std::string(next.err));
        CHECK(state() == "new");
        CHECK_FALSE(fs::exists(data / rollback::k_work_dir));
    }
};

}  // namespace

TEST_CASE("rollback files: kill -9 at every step of the protocol, then the next command completes") {
    CrashSetup setup;
    for (std::string point :
         {"safety-snapshot", "staged", "journal-written", "moved:enmap.sqlite-shm", "moved:enmap.sqlite-wal",
          "placed:enmap.sqlite", "placed:enmap.sqlite-wal", "verified", "journal-removed"}) {
        setup.reset();
        auto killed = test_support::run_cli(setup.args(), {"ENMAP_MIGRATE_TEST_KILL_AT=" + point});
        CHECK_MESSAGE(killed.status == 128 + SIGKILL, std::string(point + ": " + killed.err));
        setup.check_after_kill(point);
    }
}

TEST_CASE("rollback files: kill -9 the real binary at random moments") {
    CrashSetup setup;
    setup.reset();
    auto start = std::chrono::steady_clock::now();
    auto full = test_support::run_cli(setup.args());
    REQUIRE_MESSAGE(full.status == 0, std::string(full.err));
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
            .count();
    std::mt19937 random(20261124);
    std::uniform_int_distribution<long> when(0, micros);
    std::map<std::string, int> seen;
    for (int i = 0; i < 25; ++i) {
        setup.reset();
        auto args = setup.args();
        std::vector<char*> argv;
        std::string binary = ENMAP_MIGRATE_BINARY;
        argv.push_back(binary.data());
        for (auto& a : args) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int null = ::open("/dev/null", O_WRONLY);
            ::dup2(null, 1);
            ::dup2(null, 2);
            ::execv(binary.c_str(), argv.data());
            ::_exit(127);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(when(random)));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        bool journal = fs::exists(setup.data / rollback::k_work_dir / "journal.json");
        seen[WIFSIGNALED(status) ? (journal ? "killed with journal" : "killed, " + setup.state())
                                 : "finished"]++;
        setup.check_after_kill("random #" + std::to_string(i));
    }
    std::string summary;
    for (const auto& [what, n] : seen) {
        summary += what + ": " + std::to_string(n) + "; ";
    }
    MESSAGE(summary);
}
