// enmap::PageSummary: the Summary of a database read from its pages as the snapshot store reads
// them (enmap/page_summary.cpp), checked against enmap::summarize, which reads through SQLite.

#include "enmap/page_summary.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <exception>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "enmap/database.hpp"
#include "enmap/error.hpp"
#include "enmap/sample.hpp"
#include "enmap/summary.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Feeds every page of the file to `summary` in groups of 1 to 40 pages, shuffled, from two threads.
void feed_all(enmap::PageSummary& summary, const std::string& file, std::uint64_t seed) {
    const std::size_t page = summary.page_size();
    std::vector<std::pair<std::size_t, std::size_t>> groups;  // first byte, bytes
    std::mt19937_64 random(seed);
    for (std::size_t at = 0; at < file.size();) {
        std::size_t bytes = std::min(file.size() - at, page * (1 + random() % 40));
        groups.emplace_back(at, bytes);
        at += bytes;
    }
    std::shuffle(groups.begin(), groups.end(), random);
    auto run = [&](std::size_t parity) {
        for (std::size_t i = parity; i < groups.size(); i += 2) {
            summary.add(groups[i].first, std::string_view(file).substr(groups[i].first, groups[i].second));
        }
    };
    std::exception_ptr failed;  // what add() threw on the other thread, thrown here
    std::thread other([&] {
        try {
            run(1);
        } catch (...) {
            failed = std::current_exception();
        }
    });
    try {
        run(0);
    } catch (...) {
        other.join();
        throw;
    }
    other.join();
    if (failed) {
        std::rethrow_exception(failed);
    }
}

// The PageSummary of `path`, all of its pages given; nullopt when it declines.
std::optional<enmap::Summary> page_summary(const fs::path& path, std::uint64_t seed = 1) {
    enmap::Database db(path);
    auto summary = enmap::PageSummary::plan(db);
    if (!summary) {
        return std::nullopt;
    }
    feed_all(*summary, read_file(path), seed);
    return summary->finish();
}

std::string sqlite_summary(const fs::path& path) {
    enmap::Database db(path);
    return enmap::summarize(db).to_json().dump();
}

std::string json_string_of(std::size_t size, char fill) {
    return "\"" + std::string(size, fill) + "\"";
}

}  // namespace

TEST_CASE("page summary: the same summary as SQLite's reading for every fixture and sample database") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        test_support::TempDir tmp;
        // A copy: the fixture's folder may hold an export or a -wal beside it.
        fs::copy_file(test_support::fixture(name) / "enmap.sqlite", tmp.path() / "enmap.sqlite");
        auto summary = page_summary(tmp.path() / "enmap.sqlite");
        REQUIRE(summary.has_value());
        CHECK(summary->to_json().dump() == sqlite_summary(tmp.path() / "enmap.sqlite"));
    }
    for (std::string generation : {"5.7", "5.9", "6"}) {
        CAPTURE(generation);
        test_support::TempDir tmp;
        enmap::SampleOptions options;
        options.generation = generation;
        options.scale = 20;
        enmap::write_sample_database(tmp.path(), options);
        auto summary = page_summary(tmp.path() / "enmap.sqlite", 7);
        REQUIRE(summary.has_value());
        CHECK(summary->tables.size() > 3);
        CHECK(summary->to_json().dump() == sqlite_summary(tmp.path() / "enmap.sqlite"));
    }
}

TEST_CASE("page summary: values spilling to overflow pages, at every page size, and stale free pages") {
    for (int page_size : {512, 4096, 65536}) {
        CAPTURE(page_size);
        test_support::TempDir tmp;
        fs::path path = tmp.path() / "enmap.sqlite";
        std::vector<test_support::EnmapRow> rows;
        // Around each size where a payload stops fitting on its page, and far beyond.
        for (std::size_t size :
             {0, 1, 400, 470, 480, 500, 4000, 4061, 4062, 4100, 10000, 65000, 65600, 300000}) {
            rows.push_back({"v" + std::to_string(size), json_string_of(size, 'x')});
        }
        rows.push_back({std::string(3000, 'k'), "{\"long\":\"key\"}"});  // a long key spills too
        rows.push_back({"null", std::nullopt});
        {
            SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            db.exec("PRAGMA page_size = " + std::to_string(page_size));
        }
        test_support::write_enmap_db(path, {{"big", rows}, {"other", {{"a", "1"}}}});
        {
            // Deleted rows leave leaf and overflow pages on the free list with their old bytes.
            SQLite::Database db(path.string(), SQLite::OPEN_READWRITE);
            db.exec("DELETE FROM big WHERE key IN ('v10000', 'v300000', 'v470')");
            CHECK(db.execAndGet("PRAGMA freelist_count").getInt() > 0);
        }
        auto summary = page_summary(path);
        REQUIRE(summary.has_value());
        CHECK(summary->tables.at(0).rows == rows.size() - 3);
        CHECK(summary->to_json().dump() == sqlite_summary(path));
    }
}

TEST_CASE("page summary: a table it cannot read from pages makes it decline, never answer differently") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    SUBCASE("the key is the rowid") {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE t (key INTEGER PRIMARY KEY, value text); INSERT INTO t VALUES (1, '2')");
    }
    SUBCASE("a WITHOUT ROWID table") {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(
            "CREATE TABLE t (key text PRIMARY KEY, value text) WITHOUT ROWID; INSERT INTO t VALUES ('a', "
            "'2')");
    }
    SUBCASE("a generated column") {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec(
            "CREATE TABLE t (g text AS ('x'), key text PRIMARY KEY, value text); INSERT INTO t (key, value) "
            "VALUES ('a', '2')");
    }
    auto summary = page_summary(path);
    CHECK_FALSE(summary.has_value());
    enmap::Database db(path);
    CHECK(enmap::PageSummary::plan(db) == nullptr);
}

TEST_CASE("page summary: a number stored as a value, a column added later, a page missing or given twice") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(path, {{"points", {{"a", "1"}, {"b", "[2]"}}}});
    std::string file = read_file(path);
    enmap::Database db(path);

    SUBCASE("every page once: a summary") {
        auto summary = enmap::PageSummary::plan(db);
        REQUIRE(summary != nullptr);
        summary->add(0, file);
        auto result = summary->finish();
        REQUIRE(result.has_value());
        CHECK(result->to_json().dump() == sqlite_summary(path));
    }
    SUBCASE("the leaf never given") {
        auto summary = enmap::PageSummary::plan(db);
        REQUIRE(summary != nullptr);
        summary->add(0, std::string_view(file).substr(0, summary->page_size()));  // page 1 only
        CHECK_FALSE(summary->finish().has_value());
    }
    SUBCASE("given twice") {
        auto summary = enmap::PageSummary::plan(db);
        REQUIRE(summary != nullptr);
        summary->add(0, file);
        summary->add(0, file);
        CHECK_FALSE(summary->finish().has_value());
    }
    SUBCASE("not at a page boundary") {
        auto summary = enmap::PageSummary::plan(db);
        REQUIRE(summary != nullptr);
        summary->add(100, std::string_view(file).substr(100));
        CHECK_FALSE(summary->finish().has_value());
    }
    SUBCASE("a page that is no longer the leaf the plan found") {
        auto summary = enmap::PageSummary::plan(db);
        REQUIRE(summary != nullptr);
        std::string changed = file;
        for (std::size_t page = 1; page * summary->page_size() < changed.size(); ++page) {
            changed[page * summary->page_size()] = 0x0A;  // every page after the first: an index leaf
        }
        summary->add(0, changed);
        CHECK_FALSE(summary->finish().has_value());
    }
}

TEST_CASE("page summary: values SQLite stores as numbers, or records without the value, are left to SQLite") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    {
        SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        SUBCASE("a number in a column without text affinity") {
            db.exec("CREATE TABLE t (key text PRIMARY KEY, value); INSERT INTO t VALUES ('a', 5)");
        }
        SUBCASE("a column added after the row, with a default") {
            db.exec(
                "CREATE TABLE t (key text PRIMARY KEY); INSERT INTO t VALUES ('a');"
                "ALTER TABLE t ADD COLUMN value text DEFAULT '7'");
        }
    }
    CHECK_FALSE(page_summary(path).has_value());
    // SQLite's reading still summarizes it (snapshot create falls back to it).
    CHECK(sqlite_summary(path).find("\"rows\":1") != std::string::npos);
}

TEST_CASE("page summary: damaged leaf pages never read outside a page, and never answer unlike SQLite") {
    test_support::TempDir tmp;
    fs::path pristine = tmp.path() / "pristine.sqlite";
    std::vector<test_support::EnmapRow> rows;
    for (int i = 0; i < 300; ++i) {
        rows.push_back({"key-" + std::to_string(i),
                        "{\"n\":" + std::to_string(i) + ",\"s\":\"" +
                            std::string(static_cast<std::size_t>(i % 7) * 900, 'x') + "\"}"});
    }
    test_support::write_enmap_db(pristine, {{"points", rows}});
    const std::string original = read_file(pristine);
    std::mt19937_64 random(5);
    int declined = 0;
    int same = 0;
    for (int round = 0; round < 300; ++round) {
        CAPTURE(round);
        std::string damaged = original;
        // One to three bytes of a page other than the first (the schema) get random values.
        for (std::uint64_t n = 0, flips = 1 + random() % 3; n < flips; ++n) {
            std::size_t at = 4096 + random() % (damaged.size() - 4096);
            damaged[at] = static_cast<char>(random());
        }
        fs::path path = tmp.path() / ("damaged-" + std::to_string(round) + ".sqlite");
        {
            std::ofstream out(path, std::ios::binary);
            out.write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
        }
        std::optional<std::string> from_sqlite;
        try {
            from_sqlite = sqlite_summary(path);
        } catch (const std::exception&) {
            // SQLite finds it damaged: there is no answer to compare with.
        }
        std::optional<std::string> from_pages;
        try {
            if (auto summary = page_summary(path)) {
                from_pages = summary->to_json().dump();
            } else {
                ++declined;
            }
        } catch (const enmap::Error&) {
            ++declined;  // a malformed value, reported as summarize() would
        }
        if (from_pages && from_sqlite) {
            CHECK(*from_pages == *from_sqlite);
            ++same;
        }
        fs::remove(path);
    }
    MESSAGE(declined << " of 300 damaged files declined, " << same << " summarized as SQLite did");
    CHECK(same > 0);
}
