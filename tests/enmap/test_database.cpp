// enmap::Database: opening every kind of Enmap file without touching it, listing its tables,
// streaming raw rows in bytewise key order, and the errors for what is not an Enmap database.

#include "enmap/database.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fstream>
#include <map>
#include <set>

#include "enmap/error.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using test_support::EnmapRow;

namespace {

// Every file of a folder with its bytes and modification time.
std::map<std::string, std::pair<std::string, std::int64_t>> folder_state(const fs::path& dir) {
    std::map<std::string, std::pair<std::string, std::int64_t>> state;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file()) {
            struct stat st {};
            ::stat(entry.path().c_str(), &st);
            state[entry.path().filename().string()] = {test_support::read_file(entry.path()),
                                                       st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec};
        }
    }
    return state;
}

std::vector<std::pair<std::string, std::string>> read_all(const enmap::Database& db,
                                                          const std::string& table) {
    std::vector<std::pair<std::string, std::string>> rows;
    auto cursor = db.rows(table);
    enmap::RawRow row;
    while (cursor->next(row)) {
        rows.emplace_back(std::string(row.key),
                          row.value_is_null ? std::string("<NULL>") : std::string(row.value));
    }
    return rows;
}

template <typename F>
std::string input_error_of(F&& f) {
    try {
        f();
    } catch (const enmap::InputError& e) {
        return e.what();
    }
    FAIL("expected an InputError");
    return {};
}

}  // namespace

TEST_CASE("database: lists each fixture's enmap tables in creation order, autonum and change tables") {
    // The order in which each release's generator created its enmaps (sqlite3 .schema shows it).
    const std::map<std::string, std::vector<std::string>> expected = {
        {"enmap-5.7",
         {"global", "guildsettings", "points", "warnings", "economy", "tags", "reminders", "giveaways",
          "samples"}},
        {"enmap-5.9",
         {"global", "guildsettings", "points", "economy", "warnings", "tags", "reminders", "giveaways",
          "samples"}},
        {"enmap-6.1",
         {"global", "guildSettings", "points", "economy", "warnings", "tags", "reminders", "giveaways",
          "samples"}},
    };
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        enmap::Database db(test_support::fixture(name) / "enmap.sqlite");
        bool six = name == "enmap-6.1";
        const auto& tables = expected.at(name);
        CHECK(db.tables() == tables);
        if (six) {
            CHECK(db.change_tables().empty());
            REQUIRE(db.autonum().size() == 1);
            CHECK(db.autonum()[0].enmap == "reminders");
            CHECK(db.autonum()[0].lastnum == 6);
        } else {
            REQUIRE(db.change_tables().size() == tables.size());
            CHECK(db.change_tables().front() == "internal::changes::global");
            CHECK(db.autonum().size() == tables.size());
        }
    }
}

TEST_CASE("database: rows come in bytewise key order, all of them, and the fixture files stay untouched") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        fs::path dir = test_support::fixture(name);
        auto before = folder_state(dir);
        {
            enmap::Database db(dir / "enmap.sqlite");
            CHECK(db.open_mode() == enmap::OpenMode::k_immutable);  // the fixtures carry no -wal or -shm
            for (const auto& table : db.tables()) {
                CAPTURE(table);
                auto rows = read_all(db, table);
                CHECK(rows.size() == db.row_count(table));
                for (std::size_t i = 1; i < rows.size(); ++i) {
                    CHECK(rows[i - 1].first < rows[i].first);
                }
            }
        }
        CHECK(folder_state(dir) == before);
    }
}

TEST_CASE("database: committed data still in the -wal is read, and the original files stay byte-identical") {
    test_support::TempDir tmp;
    fs::path live = tmp.path() / "live";
    fs::path aside = tmp.path() / "aside";
    fs::create_directories(live);
    fs::create_directories(aside);
    {
        SQLite::Database writer((live / "enmap.sqlite").string(),
                                SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        writer.exec("PRAGMA journal_mode=WAL");
        writer.exec("PRAGMA wal_autocheckpoint=0");
        writer.exec("CREATE TABLE points (key text PRIMARY KEY, value text)");
        writer.exec("INSERT INTO points VALUES ('b', '{\"points\":2}'), ('a', '{\"points\":1}')");
        writer.exec("INSERT INTO points VALUES ('c', '{\"points\":3}')");
        // Copy the files aside while the writer still has them open, as a bot stopped by a crash leaves them.
        for (const char* suffix : {"", "-wal", "-shm"}) {
            fs::copy_file(live / ("enmap.sqlite" + std::string(suffix)),
                          aside / ("enmap.sqlite" + std::string(suffix)));
        }
    }
    REQUIRE(fs::file_size(aside / "enmap.sqlite-wal") > 0);
    auto before = folder_state(aside);

    {
        enmap::Database db(aside / "enmap.sqlite");
        CHECK(db.open_mode() == enmap::OpenMode::k_private_copy);
        CHECK(db.tables() == std::vector<std::string>{"points"});
        auto rows = read_all(db, "points");
        REQUIRE(rows.size() == 3);
        CHECK(rows[0] == std::pair<std::string, std::string>{"a", "{\"points\":1}"});
        CHECK(rows[2] == std::pair<std::string, std::string>{"c", "{\"points\":3}"});
    }
    CHECK(folder_state(aside) == before);

    // Without its -wal, the main file alone does not hold the rows: the test really read the WAL.
    fs::path bare = tmp.path() / "bare";
    fs::create_directories(bare);
    fs::copy_file(aside / "enmap.sqlite", bare / "enmap.sqlite");
    CHECK(input_error_of([&] { enmap::Database db(bare / "enmap.sqlite"); }).find("no Enmap tables") !=
          std::string::npos);
}

TEST_CASE("database: a WAL-mode file without -wal/-shm is opened immutable and gains no files") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    {
        SQLite::Database writer(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        writer.exec("PRAGMA journal_mode=WAL");
        writer.exec("CREATE TABLE tags (key text PRIMARY KEY, value text)");
        writer.exec("INSERT INTO tags VALUES ('hello', '\"world\"')");
    }
    REQUIRE_FALSE(fs::exists(tmp.path() / "enmap.sqlite-wal"));
    auto before = folder_state(tmp.path());
    {
        enmap::Database db(path);
        CHECK(db.open_mode() == enmap::OpenMode::k_immutable);
        CHECK(read_all(db, "tags").size() == 1);
        CHECK(folder_state(tmp.path()).size() == 1);  // no -wal or -shm while it is open
    }
    CHECK(folder_state(tmp.path()) == before);
}

TEST_CASE(
    "database: a rollback-journal file is opened read-only and keeps its bytes, and raw bytes survive") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(path, {{"samples",
                                         {{std::string("bad\xff\xfe", 5), std::string("\"\xc3\x28\"", 4)},
                                          {std::string("nul\0key", 7), std::nullopt},
                                          {"", std::string("1")}}}});
    auto before = folder_state(tmp.path());
    {
        enmap::Database db(path);
        CHECK(db.open_mode() == enmap::OpenMode::k_read_only);
        CHECK(db.autonum().empty());
        auto rows = read_all(db, "samples");
        REQUIRE(rows.size() == 3);
        CHECK(rows[0] == std::pair<std::string, std::string>{"", "1"});
        CHECK(rows[1] == std::pair<std::string, std::string>{std::string("bad\xff\xfe", 5), "\"\xc3\x28\""});
        CHECK(rows[2] == std::pair<std::string, std::string>{std::string("nul\0key", 7), "<NULL>"});
    }
    CHECK(folder_state(tmp.path()) == before);
}

TEST_CASE(
    "database: a missing file, a folder, a non-SQLite file and an empty file are input errors naming it") {
    test_support::TempDir tmp;
    fs::path missing = tmp.path() / "missing.sqlite";
    CHECK(input_error_of([&] { enmap::Database db(missing); }).find(missing.string() + ": no such file") !=
          std::string::npos);
    CHECK(input_error_of([&] { enmap::Database db(tmp.path()); }).find("is a folder") != std::string::npos);

    fs::path text = tmp.path() / "notes.sqlite";
    std::ofstream(text) << "this is not a database, just some text that is long enough to fill a header. "
                           "more text, more text, more text, more text.";
    CHECK(input_error_of([&] {
              enmap::Database db(text);
          }).find(text.string() + ": it is not an SQLite database") != std::string::npos);

    fs::path empty = tmp.path() / "empty.sqlite";
    std::ofstream{empty};
    CHECK(input_error_of([&] { enmap::Database db(empty); }).find("empty") != std::string::npos);
}

TEST_CASE("database: an SQLite file without Enmap tables, and --table names that are not enmap tables") {
    test_support::TempDir tmp;
    fs::path other = tmp.path() / "other.sqlite";
    {
        SQLite::Database db(other.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE users (id integer primary key, name text)");
    }
    auto message = input_error_of([&] { enmap::Database db(other); });
    CHECK(message.find(other.string()) != std::string::npos);
    CHECK(message.find("no Enmap tables") != std::string::npos);
    CHECK(message.find("users") != std::string::npos);

    fs::path mixed = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(mixed, {{"points", {{"a", "1"}}}});
    {
        SQLite::Database db(mixed.string(), SQLite::OPEN_READWRITE);
        db.exec("CREATE TABLE audit (id integer primary key, what text)");
        db.exec("CREATE TABLE 'internal::autonum' (enmap TEXT PRIMARY KEY, lastnum INTEGER)");
    }
    enmap::Database db(mixed);
    CHECK(db.tables() == std::vector<std::string>{"points"});
    CHECK(db.select_tables({}) == std::vector<std::string>{"points"});
    CHECK(db.select_tables({"points"}) == std::vector<std::string>{"points"});
    auto no_columns = input_error_of([&] { (void)db.select_tables({"audit"}); });
    CHECK(no_columns.find("'audit'") != std::string::npos);
    CHECK(no_columns.find("no key and value columns") != std::string::npos);
    CHECK(input_error_of([&] { (void)db.select_tables({"nope"}); }).find("has no table 'nope'") !=
          std::string::npos);
    CHECK(input_error_of([&] { (void)db.rows("internal::autonum"); }).find("Enmap's own bookkeeping") !=
          std::string::npos);
}
