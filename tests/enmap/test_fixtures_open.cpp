// Every committed fixture is a real SQLite database that SQLiteCpp can open and list.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "tests/support.hpp"

TEST_CASE("fixtures: a copy of each enmap.sqlite opens read-only and lists its enmap tables") {
    auto names = test_support::fixture_names();
    REQUIRE(names == std::vector<std::string>{"enmap-5.7", "enmap-5.9", "enmap-6.1"});
    for (const auto& name : names) {
        CAPTURE(name);
        // A read-only open of a WAL-mode file still creates -wal and -shm beside it, so open a copy.
        test_support::TempDir tmp;
        std::filesystem::copy_file(test_support::fixture(name) / "enmap.sqlite", tmp.path() / "enmap.sqlite");
        SQLite::Database db((tmp.path() / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
        SQLite::Statement query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
        std::set<std::string> tables;
        while (query.executeStep()) {
            tables.insert(query.getColumn(0).getString());
        }
        CHECK(tables.count("internal::autonum") == 1);
        CHECK(tables.count("points") == 1);
        CHECK(tables.count("global") == 1);
        CHECK(tables.count(name == "enmap-6.1" ? "guildSettings" : "guildsettings") == 1);
        CHECK(tables.count("internal::changes::points") == (name == "enmap-6.1" ? 0U : 1U));
    }
}
