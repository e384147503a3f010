// enmap::Database::key_boundaries: key ranges of about equal row counts, read from the interior
// pages of a table's key index (enmap/key_boundaries.cpp), checked against SQLite's own answers.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <random>

#include "enmap/database.hpp"
#include "enmap/sample.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

// The rows of `table` in each range the boundaries cut, counted by SQLite.
std::vector<std::int64_t> rows_per_range(const fs::path& file, const std::string& table,
                                         const std::vector<std::string>& boundaries) {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    std::vector<std::int64_t> counts;
    for (std::size_t i = 0; i <= boundaries.size(); ++i) {
        std::string where;
        if (i > 0) {
            where += "key >= ?1";
        }
        if (i < boundaries.size()) {
            where += std::string(where.empty() ? "" : " AND ") + "key < ?2";
        }
        SQLite::Statement count(
            db, "SELECT count(*) FROM \"" + table + "\"" + (where.empty() ? "" : " WHERE " + where));
        if (i > 0) {
            count.bind(1, boundaries[i - 1]);
        }
        if (i < boundaries.size()) {
            count.bind(2, boundaries[i]);
        }
        count.executeStep();
        counts.push_back(count.getColumn(0).getInt64());
    }
    return counts;
}

bool is_key(const fs::path& file, const std::string& table, const std::string& key) {
    SQLite::Database db(file.string(), SQLite::OPEN_READONLY);
    SQLite::Statement q(db, "SELECT count(*) FROM \"" + table + "\" WHERE key = ?");
    q.bind(1, key);
    q.executeStep();
    return q.getColumn(0).getInt64() == 1;
}

}  // namespace

TEST_CASE("key boundaries: ranges of about the rows asked for, cut at real keys, in bytewise order") {
    for (std::string generation : {"5.7", "6"}) {
        CAPTURE(generation);
        test_support::TempDir tmp;
        enmap::SampleTableOptions sample;
        sample.generation = generation;
        sample.table = "levels";
        sample.rows = 60000;
        enmap::write_sample_table(tmp.path(), sample);
        const fs::path file = tmp.path() / "enmap.sqlite";
        enmap::Database db(file);

        auto boundaries = db.key_boundaries("levels", 60000, 10000);
        REQUIRE(boundaries.has_value());
        REQUIRE(boundaries->size() == 5);  // 6 ranges
        CHECK(std::is_sorted(boundaries->begin(), boundaries->end()));
        CHECK(std::adjacent_find(boundaries->begin(), boundaries->end()) == boundaries->end());
        for (const auto& b : *boundaries) {
            CHECK(is_key(file, "levels", b));
        }
        auto counts = rows_per_range(file, "levels", *boundaries);
        std::int64_t total = 0;
        for (auto n : counts) {
            CHECK(n > 5000);  // leaves hold about alike: each range is near 10000 rows
            CHECK(n < 15000);
            total += n;
        }
        CHECK(total == 60000);

        // One range: nothing to cut.
        auto one = db.key_boundaries("levels", 60000, 60000);
        REQUIRE(one.has_value());
        CHECK(one->empty());
        // More ranges than leaves: at most one cut between two leaves.
        auto many = db.key_boundaries("levels", 60000, 1);
        REQUIRE(many.has_value());
        CHECK(many->size() < 60000);
        CHECK(std::is_sorted(many->begin(), many->end()));
    }
}

TEST_CASE("key boundaries: keys with any bytes, a table without a key index, keys over a page's share") {
    test_support::TempDir tmp;
    std::mt19937 rng(7);
    std::vector<test_support::EnmapRow> rows;
    for (int i = 0; i < 20000; ++i) {
        // Short keys of arbitrary bytes above 0x7F and below: bytewise order is not char order.
        std::string key = "k";
        for (int j = 0; j < 1 + static_cast<int>(rng() % 12); ++j) {
            key.push_back(static_cast<char>(1 + rng() % 255));
        }
        rows.push_back({key + std::to_string(i), std::string("1")});
    }
    std::vector<test_support::EnmapRow> long_keys;
    for (int i = 0; i < 3000; ++i) {
        long_keys.push_back({std::to_string(i) + std::string(1500, 'x'), std::string("1")});
    }
    const fs::path file = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(file, {{"bytes", rows}, {"long", long_keys}});
    {
        SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
        db.exec("CREATE TABLE unindexed (key text, value text)");
        db.exec("INSERT INTO unindexed SELECT key, value FROM bytes");
    }
    enmap::Database db(file);

    auto boundaries = db.key_boundaries("bytes", 20000, 4000);
    REQUIRE(boundaries.has_value());
    CHECK(boundaries->size() == 4);
    // std::string compares bytes as unsigned, as SQLite's BINARY collation does.
    CHECK(std::is_sorted(boundaries->begin(), boundaries->end()));
    auto counts = rows_per_range(file, "bytes", *boundaries);
    std::int64_t total = 0;
    for (auto n : counts) {
        CHECK(n > 1000);
        total += n;
    }
    CHECK(total == 20000);

    // No index to read: no cuts (the caller keeps the storage order), not a sort of every key.
    CHECK_FALSE(db.key_boundaries("unindexed", 20000, 4000).has_value());
    // Keys too long for an interior cell spill to overflow pages: not read, so no cuts.
    CHECK_FALSE(db.key_boundaries("long", 3000, 1000).has_value());
}
