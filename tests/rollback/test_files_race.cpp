// rollback/files.cpp against a writer racing it: a process that opens the database, writes a row
// and closes after the safety snapshot, before the swap. The row must not be lost: the rollback
// stops, the folder stays as that process left it, and the next run keeps the row in its safety
// snapshot.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <set>

#include "enmap/error.hpp"
#include "rollback/crash_hooks.hpp"
#include "rollback/files.hpp"
#include "snapshot/capture.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

// Rows of `points` whose key is `key`, read from a copy (a read-only open of a WAL database
// writes beside it).
int rows_with_key(const fs::path& db, const std::string& key) {
    test_support::TempDir scratch;
    for (const char* suffix : {"", "-wal"}) {
        if (fs::exists(db.string() + suffix)) {
            fs::copy_file(db.string() + suffix, scratch.path() / (std::string("enmap.sqlite") + suffix));
        }
    }
    SQLite::Database conn((scratch.path() / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
    SQLite::Statement q(conn, "SELECT count(*) FROM points WHERE key = ?");
    q.bind(1, key);
    q.executeStep();
    return q.getColumn(0).getInt();
}

}  // namespace

TEST_CASE("rollback files race: a write after the safety snapshot stops the run and is kept") {
    for (const char* step : {"safety-snapshot", "staged"}) {
        CAPTURE(step);
        test_support::TempDir tmp;
        fs::path dir = tmp.path() / "data";
        fs::create_directories(dir);
        fs::path db = dir / "enmap.sqlite";
        snapshot_test::make_database(db, 200);
        snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
        snapshot::CaptureOptions capture;
        capture.database = db;
        auto target = snapshot::capture(store, capture).id;
        snapshot_test::update_rows(db, 0, 3, 50, "after");

        std::string insert =
            "sqlite3 " + db.string() + " \"INSERT INTO points (key, value) VALUES ('late-write', '1')\"";
        bool wrote = false;
        rollback::set_step_hook([&](std::string_view at) {
            if (at == step && !wrote) {
                wrote = true;
                CHECK(std::system(insert.c_str()) == 0);
            }
        });
        rollback::FilesOptions options;
        options.data_dir = dir;
        options.snapshot_ref = snapshot::to_hex(target);
        try {
            rollback::rollback_files(store, options);
            FAIL("the rollback must stop: the late write is in neither snapshot");
        } catch (const enmap::RefusedError& e) {
            CHECK(std::string(e.what()).find("changed") != std::string::npos);
            CHECK(std::string(e.what()).find("nothing was replaced") != std::string::npos);
        }
        rollback::set_step_hook({});
        REQUIRE(wrote);
        CHECK(rows_with_key(db, "late-write") == 1);
        CHECK_FALSE(fs::exists(dir / rollback::k_work_dir));

        // The next run keeps the row in its safety snapshot, and restores the target.
        auto report = rollback::rollback_files(store, options);
        CHECK(report.changed);
        CHECK(rows_with_key(db, "late-write") == 0);
        fs::path safety = tmp.path() / "safety";
        store.materialize(snapshot::from_hex(report.safety_snapshot_id), safety);
        CHECK(rows_with_key(safety / "enmap.sqlite", "late-write") == 1);
    }
}

TEST_CASE("rollback files race: a second rollback of the same folder is refused while the first runs") {
    test_support::TempDir tmp;
    fs::path dir = tmp.path() / "data";
    fs::create_directories(dir);
    fs::path db = dir / "enmap.sqlite";
    snapshot_test::make_database(db, 200);
    fs::path store_dir = tmp.path() / "store";
    snapshot::Store store(store_dir, snapshot::Store::Access::k_write, "test");
    snapshot::CaptureOptions capture;
    capture.database = db;
    auto target = snapshot::to_hex(snapshot::capture(store, capture).id);
    snapshot_test::update_rows(db, 0, 3, 50, "after");

    // While the first one has staged its files, a second one (the real binary) starts.
    test_support::RunResult second;
    rollback::set_step_hook([&](std::string_view at) {
        if (at == "staged" && second.status == -1) {
            second = test_support::run_cli({"--store", store_dir.string(), "rollback", "files", "--snapshot",
                                            target, "--data-dir", dir.string()});
        }
    });
    rollback::FilesOptions options;
    options.data_dir = dir;
    options.snapshot_ref = target;
    auto report = rollback::rollback_files(store, options);
    rollback::set_step_hook({});
    CHECK(report.changed);
    CHECK(second.status == 7);
    CHECK(second.err.find(".enmap-migrate-rollback.lock") != std::string::npos);
    CHECK(second.err.find("pid " + std::to_string(::getpid())) != std::string::npos);
    CHECK_FALSE(fs::exists(dir / rollback::k_work_dir));
    auto manifest = store.read_manifest(snapshot::from_hex(target));
    for (const auto& file : manifest["files"]) {
        CHECK(rollback::file_sha256(dir / file["name"].get<std::string>()) ==
              file["sha256"].get<std::string>());
    }
    // Once the first has finished, the folder is free again.
    auto again = test_support::run_cli({"--store", store_dir.string(), "rollback", "files", "--snapshot",
                                        target, "--data-dir", dir.string()});
    CHECK(again.status == 0);
}

TEST_CASE("rollback files: safety snapshots taken in the same second get labels of their own") {
    test_support::TempDir tmp;
    fs::path dir = tmp.path() / "data";
    fs::create_directories(dir);
    fs::path db = dir / "enmap.sqlite";
    snapshot_test::make_database(db, 100);
    fs::path store_dir = tmp.path() / "store";
    snapshot::Store store(store_dir, snapshot::Store::Access::k_write, "test");
    snapshot::CaptureOptions capture;
    capture.database = db;
    auto first = snapshot::to_hex(snapshot::capture(store, capture).id);
    snapshot_test::update_rows(db, 0, 3, 20, "second");
    auto second = snapshot::to_hex(snapshot::capture(store, capture).id);
    std::vector<rollback::FilesReport> reports;
    for (int i = 0; i < 6; ++i) {
        rollback::FilesOptions options;
        options.data_dir = dir;
        options.snapshot_ref = i % 2 == 0 ? first : second;
        reports.push_back(rollback::rollback_files(store, options));
    }
    std::set<std::string> labels;
    for (const auto& r : reports) {
        CAPTURE(r.safety_label);
        REQUIRE(!r.safety_snapshot_id.empty());
        CHECK(labels.insert(r.safety_label).second);
        // The label names this rollback's safety snapshot, not a later one.
        CHECK(snapshot::to_hex(store.resolve(r.safety_label)) == r.safety_snapshot_id);
    }
    // The printed undo command names the id.
    auto out = test_support::run_cli({"--store", store_dir.string(), "rollback", "files", "--snapshot", first,
                                      "--data-dir", dir.string()});
    CHECK(out.status == 0);
    std::string undo = "to undo: enmap-migrate rollback files --snapshot ";
    auto at = out.out.find(undo);
    REQUIRE(at != std::string::npos);
    std::string ref = out.out.substr(at + undo.size(), 64);
    CHECK(ref.find_first_not_of("0123456789abcdef") == std::string::npos);
}
