// snapshot/capture.cpp: exact, live and export captures, WAL handling, dedup, open-database refusal.

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/summary.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using snapshot::CaptureOptions;
using snapshot::Store;

namespace {
snapshot::CaptureResult capture_db(Store& store, const fs::path& db, const std::string& label = {},
                                   CaptureOptions::Kind kind = CaptureOptions::Kind::k_exact) {
    CaptureOptions options;
    options.kind = kind;
    options.database = db;
    options.label = label;
    options.summarize = snapshot::count_rows;
    return snapshot::capture(store, options);
}

std::vector<std::string> file_names(const nlohmann::json& manifest) {
    std::vector<std::string> names;
    for (const auto& file : manifest["files"]) {
        names.push_back(file["name"]);
    }
    return names;
}

// Writes rows from a child process that exits without closing the database, as a killed bot
// does: the committed rows stay in enmap.sqlite-wal and a -shm is left behind.
void write_and_die(const fs::path& db, int rows) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto* handle = new SQLite::Database(db.string(), SQLite::OPEN_READWRITE);
        handle->exec("PRAGMA wal_autocheckpoint=0");
        SQLite::Statement insert(*handle, "INSERT INTO points (key, value) VALUES (?, 'in-the-wal')");
        for (int i = 0; i < rows; ++i) {
            insert.bind(1, "wal-" + std::to_string(i));
            insert.exec();
            insert.reset();
        }
        ::_exit(0);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}
}  // namespace

TEST_CASE("snapshot capture: every fixture round-trips byte for byte, -shm left out") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        test_support::TempDir tmp;
        snapshot_test::copy_fixture(name, tmp.path() / "data");
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        auto result = capture_db(store, tmp.path() / "data" / "enmap.sqlite", "fixture");
        auto names = file_names(result.manifest);
        CHECK(std::find(names.begin(), names.end(), "enmap.sqlite") != names.end());
        CHECK(std::find(names.begin(), names.end(), "enmap.sqlite-shm") == names.end());
        CHECK(result.manifest["kind"] == "exact");
        CHECK(result.manifest["tables"].contains("internal::autonum"));
        store.materialize(result.id, tmp.path() / "out");
        for (const auto& file : names) {
            CAPTURE(file);
            CHECK(test_support::read_file(tmp.path() / "out" / file) ==
                  test_support::read_file(tmp.path() / "data" / file));
        }
        CHECK_FALSE(fs::exists(tmp.path() / "out" / "enmap.sqlite-shm"));
    }
}

TEST_CASE("snapshot capture: a non-empty WAL is captured frame by frame and restores its rows") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "data" / "enmap.sqlite";
    fs::create_directories(db.parent_path());
    snapshot_test::make_database(db, 200);
    write_and_die(db, 50);
    REQUIRE(fs::file_size(db.string() + "-wal") > 32);
    REQUIRE(fs::exists(db.string() + "-shm"));
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    auto result = capture_db(store, db);
    auto names = file_names(result.manifest);
    REQUIRE(names == std::vector<std::string>{"enmap.sqlite", "enmap.sqlite-wal"});
    CHECK(result.manifest["files"][1]["chunking"] == "wal-frames:4096");
    CHECK(result.manifest["files"][1]["role"] == "wal");
    // The summary counts the rows in the WAL: it ran on a private copy with the WAL beside it.
    CHECK(result.manifest["tables"]["points"]["rows"] == 250);
    store.materialize(result.id, tmp.path() / "out");
    CHECK(test_support::read_file(tmp.path() / "out" / "enmap.sqlite-wal") ==
          test_support::read_file(db.string() + "-wal"));
    SQLite::Database restored((tmp.path() / "out" / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
    CHECK(restored.execAndGet("SELECT count(*) FROM points WHERE value = 'in-the-wal'").getInt() == 50);
}

TEST_CASE("snapshot capture: a second snapshot stores only the pages that changed") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 3000, "delete");
    fs::copy_file(db, tmp.path() / "before.sqlite");
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    auto first = capture_db(store, db);
    std::uint64_t pages = fs::file_size(db) / 4096;
    REQUIRE(pages > 200);
    CHECK(first.manifest["chunks_new"].get<std::uint64_t>() >= pages - 5);  // a few pages may repeat

    snapshot_test::update_rows(db, 100, 997, 3, "changed");
    std::size_t changed = snapshot_test::differing_pages(tmp.path() / "before.sqlite", db, 4096);
    REQUIRE(changed > 0);
    auto second = capture_db(store, db);
    // The changed pages, plus the file's one chunk-list blob.
    CHECK(second.manifest["chunks_new"].get<std::size_t>() <= changed + 1);
    CHECK(second.manifest["bytes_stored_new"].get<std::uint64_t>() * 10 <
          first.manifest["bytes_stored_new"].get<std::uint64_t>());
    CHECK(snapshot_test::restored_bytes(store, first.id, "enmap.sqlite", tmp.path() / "r1") ==
          test_support::read_file(tmp.path() / "before.sqlite"));
    CHECK(snapshot_test::restored_bytes(store, second.id, "enmap.sqlite", tmp.path() / "r2") ==
          test_support::read_file(db));
}

TEST_CASE("snapshot capture: refuses a database another connection holds open, --live captures it") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 300);
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    CHECK_FALSE(snapshot::find_open_connection(db).has_value());
    {
        snapshot_test::HeldOpen bot(db, "INSERT INTO points (key, value) VALUES ('live-1', '{}')");
        auto holder = snapshot::find_open_connection(db);
        REQUIRE(holder.has_value());
        CHECK(holder->find("enmap.sqlite") != std::string::npos);
        CHECK(holder->find(std::to_string(bot.pid())) != std::string::npos);
        try {
            capture_db(store, db);
            FAIL("an exact capture of an open database must be refused");
        } catch (const enmap::RefusedError& e) {
            CHECK(std::string(e.what()).find("is open in another process") != std::string::npos);
            CHECK(e.hint().find("--live") != std::string::npos);
        }
        CHECK(store.list().empty());
        auto live = capture_db(store, db, "live", CaptureOptions::Kind::k_live);
        CHECK(live.manifest["kind"] == "live");
        CHECK(file_names(live.manifest) == std::vector<std::string>{"enmap.sqlite"});
        CHECK(live.manifest["tables"]["points"]["rows"] == 301);
        store.materialize(live.id, tmp.path() / "out");
        SQLite::Database restored((tmp.path() / "out" / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
        CHECK(restored.execAndGet("SELECT count(*) FROM points").getInt() == 301);
        CHECK(restored.execAndGet("PRAGMA integrity_check").getString() == "ok");
    }
    CHECK_FALSE(snapshot::find_open_connection(db).has_value());
}

TEST_CASE("snapshot capture: a rollback-journal database in a write transaction is refused") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 50, "delete");
    {
        snapshot_test::HeldOpen bot(db, "INSERT INTO points (key, value) VALUES ('x', '{}')", true);
        CHECK(snapshot::find_open_connection(db).has_value());
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        CHECK_THROWS_AS(capture_db(store, db), enmap::RefusedError);
    }
    CHECK_FALSE(snapshot::find_open_connection(db).has_value());
}

TEST_CASE("snapshot capture: export files are stored as they are") {
    test_support::TempDir tmp;
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    CaptureOptions options;
    options.kind = CaptureOptions::Kind::k_export;
    std::vector<fs::path> exports;
    for (const auto& entry : fs::directory_iterator(test_support::fixture("enmap-5.9") / "exports")) {
        exports.push_back(entry.path());
    }
    REQUIRE(!exports.empty());
    options.exports = exports;
    auto result = snapshot::capture(store, options);
    CHECK(result.manifest["kind"] == "export");
    CHECK(result.manifest["files"].size() == exports.size());
    store.materialize(result.id, tmp.path() / "out");
    for (const auto& file : exports) {
        CHECK(test_support::read_file(tmp.path() / "out" / file.filename()) == test_support::read_file(file));
    }
}

TEST_CASE("snapshot capture: labels are checked") {
    CHECK_NOTHROW(snapshot::validate_label("pre-migration"));
    CHECK_NOTHROW(snapshot::validate_label("day.2024-02-29"));
    CHECK_THROWS_AS(snapshot::validate_label("latest"), enmap::UsageError);
    CHECK_THROWS_AS(snapshot::validate_label("cafe"), enmap::UsageError);
    CHECK_THROWS_AS(snapshot::validate_label("with space"), enmap::UsageError);
    CHECK_THROWS_AS(snapshot::validate_label(""), enmap::UsageError);
}

TEST_CASE("snapshot capture: the table summary from the stored pages equals SQLite's, and falls back to it") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    SUBCASE("an Enmap database: summarized from its pages") {
        snapshot_test::make_database(db, 3000, "delete");
    }
    SUBCASE("a value SQLite stores as a number: the page summary declines, SQLite summarizes") {
        snapshot_test::make_database(db, 300, "delete");
        SQLite::Database writer(db.string(), SQLite::OPEN_READWRITE);
        writer.exec("CREATE TABLE loose (key text PRIMARY KEY, value); INSERT INTO loose VALUES ('n', 5)");
    }
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    CaptureOptions options;
    options.database = db;
    options.summarize = snapshot::summarize_enmap;
    options.summarize_pages = snapshot::summarize_enmap_pages;
    auto from_pages = snapshot::capture(store, options);
    REQUIRE(from_pages.manifest["tables"].is_object());
    CHECK(from_pages.manifest["tables"] == snapshot::summarize_enmap(db));
    CHECK(from_pages.manifest["tables"]["points"]["rows"].get<int>() > 0);
    // The same capture with SQLite's reading alone gives the same manifest tables, and so does a
    // live one (its private image is summarized from its pages too).
    options.summarize_pages = nullptr;
    auto from_sqlite = snapshot::capture(store, options);
    CHECK(from_sqlite.manifest["tables"] == from_pages.manifest["tables"]);
    options.kind = CaptureOptions::Kind::k_live;
    options.summarize_pages = snapshot::summarize_enmap_pages;
    auto live = snapshot::capture(store, options);
    CHECK(live.manifest["kind"] == "live");
    CHECK(live.manifest["tables"] == from_pages.manifest["tables"]);
}
