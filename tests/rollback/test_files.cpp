// rollback/files.cpp: byte-exact restores of every fixture, the stale WAL case, idempotence, the
// safety snapshot, refusal while the database is open, the journal fallback, and crash injection
// through the real binary: kills at every named step, before every file change SQLite makes while
// folding, and at random moments, each followed by a check of what SQLite reads in the folder.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "enmap/error.hpp"
#include "enmap/sample.hpp"
#include "rollback/files.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/summary.hpp"
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

void write_bytes(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    REQUIRE(out.good());
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

TEST_CASE("rollback files: run as root, the restored files keep the bot's owner and mode") {
    if (::geteuid() != 0) {
        MESSAGE("skipped: changing a file's owner needs root");
        return;
    }
    const auto name = test_support::fixture_names().front();
    TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture(name, data);
    // The bot's files: its own user (not one that exists here: the numbers are what count), 0640.
    const uid_t bot_uid = 4321;
    const gid_t bot_gid = 4322;
    REQUIRE(::chown(data.c_str(), bot_uid, bot_gid) == 0);
    for (const auto& entry : fs::directory_iterator(data)) {
        REQUIRE(::chown(entry.path().c_str(), bot_uid, bot_gid) == 0);
        REQUIRE(::chmod(entry.path().c_str(), 0640) == 0);
    }
    auto original = file_set(data);
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    auto id = take_snapshot(store, data);
    change_data(data / "enmap.sqlite");

    auto report = rollback::rollback_files(store, {data, snapshot::to_hex(id), false});
    REQUIRE(report.changed);
    CHECK(file_set(data) == original);
    for (const auto& entry : fs::directory_iterator(data)) {
        CAPTURE(entry.path());
        struct stat st {};
        REQUIRE(::stat(entry.path().c_str(), &st) == 0);
        if (entry.path().filename() == ".enmap-migrate-rollback.lock") {
            CHECK(st.st_uid == bot_uid);  // the lock file: the bot's user can take it later
            continue;
        }
        CHECK(st.st_uid == bot_uid);
        CHECK(st.st_gid == bot_gid);
        CHECK((st.st_mode & 0777) == 0640);
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

TEST_CASE("rollback files: a -wal without its database is kept under another name, not deleted") {
    TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    auto original = file_set(data);
    auto id = take_snapshot(store, data);
    // The database was deleted (by hand, by a script) and its -wal and -shm stayed.
    fs::remove(data / "enmap.sqlite");
    const std::string wal_bytes = "not a database of ours, but not ours to delete either";
    write_bytes(data / "enmap.sqlite-wal", wal_bytes);
    write_bytes(data / "enmap.sqlite-shm", std::string(32768, '\0'));

    // A rollback that fails (a damaged copy of the store) leaves the folder as it was: the -wal
    // is moved aside only once the new files are staged and checked.
    fs::copy(tmp.path() / "store", tmp.path() / "damaged", fs::copy_options::recursive);
    snapshot_test::flip_middle_byte(snapshot_test::only_pack(tmp.path() / "damaged"));
    {
        snapshot::Store damaged(tmp.path() / "damaged", snapshot::Store::Access::k_write, "test");
        CHECK_THROWS_AS(rollback::rollback_files(damaged, {data, snapshot::to_hex(id), false}),
                        enmap::StoreError);
    }
    CHECK(file_set(data) == std::map<std::string, std::string>{
                                {"enmap.sqlite-shm", rollback::file_sha256(data / "enmap.sqlite-shm")},
                                {"enmap.sqlite-wal", rollback::file_sha256(data / "enmap.sqlite-wal")}});

    auto report = rollback::rollback_files(store, {data, snapshot::to_hex(id), false});
    CHECK(report.changed);
    CHECK(report.safety_snapshot_id.empty());  // no database to snapshot
    std::string kept_as;
    for (const auto& f : report.files) {
        if (f.name == "enmap.sqlite-wal") {
            CHECK(f.change() == "removed");
            kept_as = f.kept_as;
        } else {
            CHECK(f.kept_as.empty());
        }
    }
    REQUIRE(kept_as.rfind("enmap.sqlite-wal.orphaned-", 0) == 0);
    CHECK(report.to_json()["files"].dump().find(kept_as) != std::string::npos);
    // The database is the snapshot's, SQLite sees no -wal or -shm, and the -wal's bytes are kept.
    auto now = file_set(data);
    CHECK(now.erase(kept_as) == 1);
    CHECK(now == original);
    CHECK_FALSE(fs::exists(data / "enmap.sqlite-shm"));
    std::ifstream in(data / kept_as, std::ios::binary);
    std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(kept == wal_bytes);
    // Idempotent: the next run finds the snapshot's files and changes nothing.
    CHECK_FALSE(rollback::rollback_files(store, {data, snapshot::to_hex(id), false}).changed);
    // Again within the same second: the second orphan gets a name of its own.
    fs::remove(data / "enmap.sqlite");
    write_bytes(data / "enmap.sqlite-wal", "a second one");
    auto again = rollback::rollback_files(store, {data, snapshot::to_hex(id), false});
    std::set<std::string> orphans;
    for (const auto& entry : fs::directory_iterator(data)) {
        if (entry.path().filename().string().rfind("enmap.sqlite-wal.orphaned-", 0) == 0) {
            orphans.insert(entry.path().filename().string());
        }
    }
    CHECK(orphans.size() == 2);
    CHECK(orphans.count(kept_as) == 1);
    std::ifstream first(data / kept_as, std::ios::binary);
    CHECK(std::string((std::istreambuf_iterator<char>(first)), std::istreambuf_iterator<char>()) ==
          wal_bytes);
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

// What SQLite reads from the Enmap files of `dir`, from a copy of every enmap.sqlite* file (opening
// the folder itself could change it): the project's table summaries (rows, SHA-256 of each table's
// canonical content, autonum counters), after SQLite's integrity check. Never throws: an error is
// returned as text, which equals neither set's content.
std::string logical_content(const fs::path& dir) {
    try {
        TempDir scratch;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
            fs::path file = dir / ("enmap.sqlite" + std::string(suffix));
            if (fs::exists(file)) {
                fs::copy_file(file, scratch.path() / file.filename());
            }
        }
        auto summary = snapshot::summarize_enmap(scratch.path() / "enmap.sqlite").dump();
        SQLite::Database conn((scratch.path() / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
        SQLite::Statement check(conn, "PRAGMA integrity_check");
        if (!check.executeStep() || check.getColumn(0).getString() != "ok") {
            return "integrity_check failed";
        }
        return summary;
    } catch (const std::exception& e) {
        return std::string("error: ") + e.what();
    }
}

// Leaves more in the -wal, as a bot killed mid-work does: three committed transactions that
// rewrite a third of every table each, then a bigger one that SQLite spilled into the -wal but
// never committed (readers and checkpoints must ignore it). A child process writes and exits
// without closing, so nothing is checkpointed.
void grow_wal(const fs::path& db) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        try {
            SQLite::Database conn(db.string(), SQLite::OPEN_READWRITE);
            conn.exec("PRAGMA wal_autocheckpoint = 0");
            std::vector<std::string> tables;
            SQLite::Statement list(
                conn, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%::%'");
            while (list.executeStep()) {
                tables.push_back(list.getColumn(0).getString());
            }
            for (int round = 0; round < 3; ++round) {
                SQLite::Transaction tx(conn);
                for (const auto& t : tables) {
                    conn.exec("UPDATE \"" + t + "\" SET value = '\"r" + std::to_string(round) +
                              "-' || hex(randomblob(40)) || '\"' WHERE rowid % 3 = " + std::to_string(round));
                }
                tx.commit();
            }
            conn.exec("PRAGMA cache_size = 10");
            conn.exec("BEGIN");
            for (const auto& t : tables) {
                conn.exec("UPDATE \"" + t +
                          "\" SET value = '\"uncommitted-' || hex(randomblob(200)) || '\"'");
            }
            ::_exit(0);  // before the destructor: closing would roll back and checkpoint
        } catch (const std::exception&) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

// A real `rollback files` to kill: the old set in the data folder (a bot's database, with the
// -wal and -shm a killed bot leaves, or closed cleanly), the new set a snapshot of another bot
// (with or without a -wal).
struct CrashSetup {
    TempDir tmp;
    fs::path data = tmp.path() / "data";
    fs::path old_files = tmp.path() / "old";
    fs::path store = tmp.path() / "store";
    std::string id;
    std::map<std::string, std::string> old_set;
    std::map<std::string, std::string> new_set;
    std::string old_content;
    std::string new_content;
    std::map<std::string, int> outcomes;  // what the killed runs left: "old", "new", "finished"
    int kills = 0;

    CrashSetup(bool old_wal, bool new_wal) {
        enmap::SampleOptions a;
        a.scale = 3;
        a.wal = old_wal;
        a.seed = 1;
        enmap::write_sample_database(old_files, a);
        if (old_wal) {
            grow_wal(old_files / "enmap.sqlite");
        }
        enmap::SampleOptions b = a;
        b.wal = new_wal;
        b.seed = 2;
        b.generation = "5.9";
        fs::path bot = tmp.path() / "bot";
        enmap::write_sample_database(bot, b);
        if (new_wal) {
            grow_wal(bot / "enmap.sqlite");
        }
        snapshot::Store s(store, snapshot::Store::Access::k_write, "test");
        id = snapshot::to_hex(take_snapshot(s, bot));
        auto manifest = s.read_manifest(snapshot::from_hex(id));
        for (const auto& f : manifest["files"]) {
            new_set[f["name"].get<std::string>()] = f["sha256"].get<std::string>();
        }
        old_set = file_set(old_files);
        old_content = logical_content(old_files);
        new_content = logical_content(bot);
        REQUIRE(old_set.size() == (old_wal ? 3U : 1U));
        REQUIRE(new_set.size() == (new_wal ? 2U : 1U));
        REQUIRE(old_content.rfind('{', 0) == 0);
        REQUIRE(new_content.rfind('{', 0) == 0);
        REQUIRE(old_content != new_content);
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
    // Right after a kill, before anything else touches the folder: its files read as the old
    // set or as the new one. Then the next command finishes the restore, byte-exact.
    void check_after_kill(const std::string& point, bool killed) {
        CAPTURE(point);
        auto content = logical_content(data);
        std::string state = content == old_content ? "old" : content == new_content ? "new" : content;
        CHECK_MESSAGE((state == "old" || state == "new"),
                      std::string("the folder reads as neither set: " + state));
        if (killed) {
            ++kills;
            outcomes[state]++;
        } else {
            outcomes["finished"]++;
        }
        auto next = test_support::run_cli(args());
        CHECK_MESSAGE(next.status == 0, std::string(next.err));
        CHECK(file_set(data) == new_set);
        CHECK_FALSE(fs::exists(data / rollback::k_work_dir));
    }
    std::string summary() const {
        std::string out = std::to_string(kills) + " kills;";
        for (const auto& [what, n] : outcomes) {
            out += " " + what + ": " + std::to_string(n);
        }
        return out;
    }
};

struct Combination {
    bool old_wal;
    bool new_wal;
    [[nodiscard]] std::string name() const {
        return std::string("old set ") + (old_wal ? "with" : "without") + " a -wal, snapshot " +
               (new_wal ? "with" : "without") + " a -wal";
    }
};

constexpr Combination k_combinations[] = {{false, false}, {true, false}, {false, true}, {true, true}};

// The named steps a run of this combination passes (a kill at any other name lets it finish).
std::vector<std::string> steps(const Combination& c) {
    std::vector<std::string> out = {"safety-snapshot"};
    if (c.new_wal) {
        out.insert(out.end(), {"fold-new:read", "fold-new:checkpointed", "fold-new:closed"});
    }
    out.push_back("staged");
    if (c.old_wal) {
        out.insert(out.end(), {"fold-old:read", "fold-old:checkpointed", "fold-old:closed"});
    }
    out.insert(out.end(), {"folded", "journal-written"});
    if (c.new_wal) {
        out.insert(out.end(), {"placed-folded:enmap.sqlite", "placed:enmap.sqlite-wal"});
    }
    out.insert(out.end(), {"placed:enmap.sqlite", "verified", "journal-removed"});
    return out;
}

}  // namespace

TEST_CASE(
    "rollback files: kill -9 at every step: the folder reads as the old or the new set, then completes") {
    for (const auto& c : k_combinations) {
        CAPTURE(c.name());
        CrashSetup setup(c.old_wal, c.new_wal);
        for (const auto& point : steps(c)) {
            setup.reset();
            auto killed = test_support::run_cli(setup.args(), {"ENMAP_MIGRATE_TEST_KILL_AT=" + point});
            CHECK_MESSAGE(killed.status == 128 + SIGKILL, std::string(point + ": " + killed.err));
            setup.check_after_kill(point, killed.status == 128 + SIGKILL);
        }
        MESSAGE(std::string(c.name() + ": " + setup.summary()));
    }
}

TEST_CASE("rollback files: kill -9 before each write, sync, truncate and delete SQLite makes while folding") {
    for (const auto& c : k_combinations) {
        if (!c.old_wal && !c.new_wal) {
            continue;  // nothing to fold
        }
        CAPTURE(c.name());
        CrashSetup setup(c.old_wal, c.new_wal);
        bool finished = false;
        for (int n = 1; n <= 2000 && !finished; ++n) {
            setup.reset();
            std::string point = "fold-io:" + std::to_string(n);
            auto run = test_support::run_cli(setup.args(), {"ENMAP_MIGRATE_TEST_KILL_AT=" + point});
            REQUIRE_MESSAGE((run.status == 0 || run.status == 128 + SIGKILL),
                            std::string(point + ": " + run.err));
            finished = run.status == 0;
            if (finished) {
                CHECK(file_set(setup.data) == setup.new_set);
            } else {
                setup.check_after_kill(point, true);
            }
        }
        CHECK(finished);
        CHECK(setup.kills > 5);
        MESSAGE(std::string(c.name() + ": " + setup.summary()));
    }
}

TEST_CASE("rollback files: kill -9 the real binary at random moments") {
    std::mt19937 random(20261124);
    for (const auto& c : k_combinations) {
        CAPTURE(c.name());
        CrashSetup setup(c.old_wal, c.new_wal);
        setup.reset();
        auto start = std::chrono::steady_clock::now();
        auto full = test_support::run_cli(setup.args());
        REQUIRE_MESSAGE(full.status == 0, std::string(full.err));
        auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start)
                .count();
        std::uniform_int_distribution<long> when(0, micros);
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
            setup.check_after_kill("random #" + std::to_string(i), WIFSIGNALED(status));
        }
        MESSAGE(std::string(c.name() + ": " + setup.summary() + " (one run takes " + std::to_string(micros) +
                            " us)"));
    }
}

TEST_CASE("rollback files: a folder changed after a kill is kept, and the next command restores from there") {
    CrashSetup setup(true, true);
    setup.reset();
    auto killed = test_support::run_cli(setup.args(), {"ENMAP_MIGRATE_TEST_KILL_AT=placed:enmap.sqlite-wal"});
    REQUIRE(killed.status == 128 + SIGKILL);
    // The bot is started on the half-restored folder: it reads the new set, writes, and closes
    // (which checkpoints and removes the -wal). Finishing the old restore now would put the
    // snapshot's database in place without its -wal.
    {
        SQLite::Database bot((setup.data / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
        bot.exec("INSERT OR REPLACE INTO 'global' (key, value) VALUES ('written-after-kill', '1')");
    }
    REQUIRE_FALSE(fs::exists(setup.data / "enmap.sqlite-wal"));
    auto written = logical_content(setup.data);
    CHECK(written != setup.new_content);

    snapshot::Store store(setup.store, snapshot::Store::Access::k_write, "test");
    auto report = rollback::rollback_files(store, {setup.data, setup.id, false});
    CHECK(report.recovered == "discarded");
    CHECK(report.protocol == "atomic");
    CHECK(file_set(setup.data) == setup.new_set);
    // What the bot wrote is in the safety snapshot.
    fs::path undone = setup.tmp.path() / "undone";
    store.materialize(snapshot::from_hex(report.safety_snapshot_id), undone);
    CHECK(logical_content(undone) == written);
}

TEST_CASE(
    "rollback files: the journal fallback, when the database is open (--force) or SQLite cannot fold it") {
    CrashSetup setup(true, true);
    SUBCASE("open, --force") {
        setup.reset();
        snapshot::Store store(setup.store, snapshot::Store::Access::k_write, "test");
        {
            snapshot_test::HeldOpen bot(setup.data / "enmap.sqlite", "SELECT count(*) FROM sqlite_master");
            auto report = rollback::rollback_files(store, {setup.data, setup.id, true});
            CHECK(report.protocol == "journal");
            CHECK(report.fallback_reason.find("open") != std::string::npos);
            CHECK(file_set(setup.data) == setup.new_set);
        }
        // The bot closed its connection to the replaced file: SQLite saw the file moved
        // (SQLITE_FCNTL_HAS_MOVED) and neither checkpointed nor deleted the -wal and -shm by name.
        CHECK(file_set(setup.data) == setup.new_set);
        auto again = rollback::rollback_files(store, {setup.data, setup.id, false});
        CHECK(again.protocol != "journal");
        CHECK(file_set(setup.data) == setup.new_set);
        CHECK(logical_content(setup.data) == setup.new_content);
    }
    SUBCASE("not a database") {
        fs::create_directories(setup.data);
        write_bytes(setup.data / "enmap.sqlite", std::string(8192, 'x'));
        write_bytes(setup.data / "enmap.sqlite-wal", std::string(4096, 'y'));
        auto run = test_support::run_cli([&] {
            auto a = setup.args();
            a.insert(a.begin() + 2, "--json");
            return a;
        }());
        REQUIRE_MESSAGE(run.status == 0, run.err);
        CHECK(run.err.find("falling back to the journal protocol") != std::string::npos);
        auto report = nlohmann::json::parse(run.out);
        CHECK(report["protocol"] == "journal");
        CHECK(report["fallback_reason"].get<std::string>().find("cannot be folded") != std::string::npos);
        CHECK(file_set(setup.data) == setup.new_set);
    }
}

TEST_CASE("rollback files: --force over an open database: kill -9 at every step of the journal fallback") {
    // A database is never beside a -wal of another version of it, and the next command finishes.
    CrashSetup setup(true, true);
    auto args = setup.args();
    args.emplace_back("--force");
    for (std::string point :
         {"journal-written", "moved:enmap.sqlite-wal", "moved:enmap.sqlite-shm", "placed:enmap.sqlite",
          "placed:enmap.sqlite-wal", "verified", "journal-removed"}) {
        CAPTURE(point);
        setup.reset();
        snapshot_test::HeldOpen bot(setup.data / "enmap.sqlite", "SELECT count(*) FROM sqlite_master");
        auto killed = test_support::run_cli(args, {"ENMAP_MIGRATE_TEST_KILL_AT=" + point});
        CHECK_MESSAGE(killed.status == 128 + SIGKILL, std::string(killed.err));
        CHECK(killed.err.find("falling back to the journal protocol") != std::string::npos);
        auto now = file_set(setup.data);
        std::string db = now["enmap.sqlite"];
        std::string wal = now.count("enmap.sqlite-wal") != 0 ? now["enmap.sqlite-wal"] : "";
        if (db == setup.old_set.at("enmap.sqlite")) {
            CHECK((wal.empty() || wal == setup.old_set.at("enmap.sqlite-wal")));
        } else {
            CHECK(db == setup.new_set.at("enmap.sqlite"));
            CHECK((wal.empty() || wal == setup.new_set.at("enmap.sqlite-wal")));
        }
        bool journal = fs::exists(setup.data / rollback::k_work_dir / "journal.json");
        auto next = test_support::run_cli(args);
        CHECK_MESSAGE(next.status == 0, std::string(next.err));
        CHECK((next.out.find("finished an interrupted rollback files") != std::string::npos) == journal);
        CHECK(file_set(setup.data) == setup.new_set);
        CHECK_FALSE(fs::exists(setup.data / rollback::k_work_dir));
    }
}

TEST_CASE("rollback files: --json and the text output name the protocol") {
    CrashSetup setup(true, true);
    setup.reset();
    auto a = setup.args();
    a.insert(a.begin() + 2, "--json");
    auto run = test_support::run_cli(a);
    REQUIRE_MESSAGE(run.status == 0, run.err);
    auto report = nlohmann::json::parse(run.out);
    CHECK(report["protocol"] == "atomic");
    CHECK(report["fallback_reason"].is_null());
    CHECK(report["changed"] == true);
    CHECK(file_set(setup.data) == setup.new_set);
    setup.reset();
    auto text = test_support::run_cli(setup.args());
    REQUIRE_MESSAGE(text.status == 0, text.err);
    CHECK(text.out.find("crash safety: atomic") != std::string::npos);
    CHECK(text.out.find("every file's SHA-256 verified") != std::string::npos);
}

TEST_CASE("rollback files: an interrupted run of an older version (journal format /1) is finished") {
    CrashSetup setup(true, true);
    setup.reset();
    {
        // What an older binary leaves when killed after moving the old -wal out: the database
        // alone, the staged new set, and its journal.
        snapshot::Store store(setup.store, snapshot::Store::Access::k_write, "test");
        fs::path work = setup.data / rollback::k_work_dir;
        store.materialize(snapshot::from_hex(setup.id), work / "new");
        fs::create_directories(work / "old");
        for (const char* n : {"enmap.sqlite-wal", "enmap.sqlite-shm"}) {
            fs::rename(setup.data / n, work / "old" / n);
        }
        nlohmann::json journal = {
            {"format", "enmap-migrate-rollback-files/1"},
            {"snapshot", setup.id},
            {"database", "enmap.sqlite"},
            {"move_out", {"enmap.sqlite-shm", "enmap.sqlite-wal"}},
            {"place",
             {{{"name", "enmap.sqlite"}, {"sha256", setup.new_set.at("enmap.sqlite")}},
              {{"name", "enmap.sqlite-wal"}, {"sha256", setup.new_set.at("enmap.sqlite-wal")}}}}};
        write_bytes(work / "journal.json", journal.dump(2));
    }
    auto run = test_support::run_cli(setup.args());
    REQUIRE_MESSAGE(run.status == 0, run.err);
    CHECK(run.out.find("finished an interrupted rollback files") != std::string::npos);
    CHECK(file_set(setup.data) == setup.new_set);
    CHECK_FALSE(fs::exists(setup.data / rollback::k_work_dir));

    // A journal this tool did not write is refused, naming it.
    fs::create_directories(setup.data / rollback::k_work_dir);
    write_bytes(setup.data / rollback::k_work_dir / "journal.json", R"({"format": "something else"})");
    auto refused = test_support::run_cli(setup.args());
    CHECK(refused.status == 5);
    CHECK(refused.err.find("is not a rollback journal") != std::string::npos);
}

TEST_CASE("rollback files: a data folder that does not exist yet is created with mode 0700") {
    TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    take_snapshot(store, data, "pre-migration");
    fs::path fresh = tmp.path() / "new-machine" / "data";
    rollback::FilesOptions options;
    options.data_dir = fresh;
    options.snapshot_ref = "pre-migration";
    auto report = rollback::rollback_files(store, options);
    CHECK(report.changed);
    REQUIRE(fs::is_directory(fresh));
    CHECK((fs::status(fresh).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(test_support::read_file(fresh / "enmap.sqlite") == test_support::read_file(data / "enmap.sqlite"));

    // A bad reference leaves no folder behind.
    options.data_dir = tmp.path() / "other";
    options.snapshot_ref = "no-such-label";
    CHECK_THROWS_AS(rollback::rollback_files(store, options), enmap::StoreError);
    CHECK(!fs::exists(tmp.path() / "other"));
}
