// replay/spool.cpp and replay/copy.cpp: decoded rows kept as binary COPY tuples, read back in
// pieces and row by row, and sent into PostgreSQL with COPY (FORMAT binary).

#include <doctest/doctest.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <vector>

#include "enmap/error.hpp"
#include "replay/copy.hpp"
#include "replay/spool.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace {

std::vector<std::pair<std::string, std::string>> sample_rows() {
    std::vector<std::pair<std::string, std::string>> rows = {
        {"", "null"},
        {"k\t1\n", R"({"a":"tab\t and \\ backslash","b":[1,2.5,-3e21]})"},
        {"ünïcödé 🎉", R"("日本語")"},
        {"big", "\"" + std::string(3 << 20, 'x') + "\""},  // larger than a read block
    };
    for (int i = 0; i < 20000; ++i) {
        rows.emplace_back("key-" + std::to_string(i), R"({"n":)" + std::to_string(i) + "}");
    }
    return rows;
}

}  // namespace

TEST_CASE("spool: segments read back whole, in pieces of whole tuples and row by row") {
    test_support::TempDir tmp;
    auto rows = sample_rows();
    replay::Spool::Segment first;
    replay::Spool::Segment second;
    {
        replay::Spool spool(tmp.path() / "rows.spool");
        for (const auto& [key, value] : rows) {
            spool.add(key, value);
        }
        first = spool.end_segment();
        spool.add("only", "true");
        second = spool.end_segment();
        CHECK(first.rows == rows.size());
        CHECK(second.rows == 1);
        CHECK(second.offset == first.offset + first.bytes);

        std::vector<std::pair<std::string, std::string>> back;
        spool.for_each_row(first, [&](std::string_view key, std::string_view value) {
            back.emplace_back(std::string(key), std::string(value));
        });
        CHECK(back == rows);
        std::uint64_t counted = 0;
        std::string bytes;
        spool.read(first, [&](std::string_view tuples, std::uint64_t n) {
            counted += n;
            CHECK(replay::parse_copy_tuples(tuples, [](std::string_view, std::string_view) {}) ==
                  tuples.size());
            bytes.append(tuples);
        });
        CHECK(counted == rows.size());
        CHECK(bytes.size() == first.bytes);
        spool.for_each_row(second, [&](std::string_view key, std::string_view value) {
            CHECK(key == "only");
            CHECK(value == "true");
        });
        CHECK(std::filesystem::exists(tmp.path() / "rows.spool"));
    }
    CHECK_FALSE(std::filesystem::exists(tmp.path() / "rows.spool"));
}

TEST_CASE("spool: a sorted segment is written in any order and read back in bytewise key order") {
    test_support::TempDir tmp;
    auto rows = sample_rows();
    std::mt19937 rng(3);
    std::shuffle(rows.begin(), rows.end(), rng);
    auto sorted = rows;
    std::sort(sorted.begin(), sorted.end());
    // Cuts at keys that are rows and at keys that are not, a bucket left empty, and the largest
    // row (3 MiB) alone in the last bucket.
    std::vector<std::string> boundaries = {"key-1", "key-15", "key-15", "key-500", "key-9999", "zzz"};
    std::sort(boundaries.begin(), boundaries.end());
    boundaries.erase(std::unique(boundaries.begin(), boundaries.end()), boundaries.end());

    replay::Spool spool(tmp.path() / "rows.spool");
    spool.add("before", "1");
    auto plain = spool.end_segment();
    spool.begin_sorted(boundaries);
    for (const auto& [key, value] : rows) {
        spool.add(key, value);
    }
    auto segment = spool.end_segment();
    spool.add("after", "2");
    auto last = spool.end_segment();

    CHECK(segment.rows == rows.size());
    REQUIRE(segment.buckets.size() == boundaries.size() + 1);
    std::uint64_t bucket_rows = 0;
    for (std::size_t i = 0; i < segment.buckets.size(); ++i) {
        // Bucket i holds the keys k with boundaries[i-1] <= k < boundaries[i].
        auto expected = std::count_if(sorted.begin(), sorted.end(), [&](const auto& row) {
            return (i == 0 || row.first >= boundaries[i - 1]) &&
                   (i == boundaries.size() || row.first < boundaries[i]);
        });
        CHECK(segment.buckets[i].rows == static_cast<std::uint64_t>(expected));
        bucket_rows += segment.buckets[i].rows;
    }
    CHECK(bucket_rows == rows.size());

    // For COPY: in key order, in pieces of whole tuples.
    std::vector<std::pair<std::string, std::string>> back;
    std::uint64_t counted = 0;
    spool.read(segment, [&](std::string_view tuples, std::uint64_t n) {
        counted += n;
        CHECK(replay::parse_copy_tuples(tuples, [&](std::string_view key, std::string_view value) {
                  back.emplace_back(std::string(key), std::string(value));
              }) == tuples.size());
    });
    CHECK(counted == rows.size());
    CHECK(back == sorted);
    // For validation: every row, in whatever order.
    back.clear();
    spool.for_each_row(segment, [&](std::string_view key, std::string_view value) {
        back.emplace_back(std::string(key), std::string(value));
    });
    std::sort(back.begin(), back.end());
    CHECK(back == sorted);
    // The segments around it stay apart.
    spool.for_each_row(plain, [&](std::string_view key, std::string_view) { CHECK(key == "before"); });
    spool.for_each_row(last, [&](std::string_view key, std::string_view) { CHECK(key == "after"); });
    // A sorted segment is chosen before its first row.
    spool.add("x", "1");
    CHECK_THROWS_AS(spool.begin_sorted({"m"}), enmap::Error);
}

TEST_CASE("copy tuples: a partial tuple is left for later, damage is refused") {
    std::string tuples;
    replay::append_copy_tuple(tuples, "a", "1");
    replay::append_copy_tuple(tuples, "bb", "[true]");
    std::vector<std::string> keys;
    auto cb = [&](std::string_view key, std::string_view) { keys.emplace_back(key); };
    CHECK(replay::parse_copy_tuples(std::string_view(tuples).substr(0, tuples.size() - 1), cb) == 13);
    CHECK(keys == std::vector<std::string>{"a"});
    CHECK(replay::parse_copy_tuples(tuples, cb) == tuples.size());
    std::string damaged = tuples;
    damaged[1] = '\3';
    CHECK_THROWS_AS(replay::parse_copy_tuples(damaged, cb), enmap::Error);
}

TEST_CASE(
    "copy: binary COPY loads every byte, FREEZE in a new table's savepoint, and an abandoned COPY "
    "leaves the connection usable") {
    test_support::TestDatabase db;
    auto rows = sample_rows();
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    {
        pqxx::subtransaction sub(tx, "load");
        sub.exec("CREATE TABLE raw_t (key text NOT NULL, value jsonb NOT NULL)");
        replay::CopyIn copy(sub, "raw_t", "key, value", true);
        std::string tuples;
        for (const auto& [key, value] : rows) {
            replay::append_copy_tuple(tuples, key, value);
            if (tuples.size() > 100000) {
                copy.write(tuples);
                tuples.clear();
            }
        }
        copy.write(tuples);
        CHECK(copy.finish() == rows.size());
        sub.commit();
    }
    CHECK(tx.exec1("SELECT count(*) FROM raw_t")[0].as<std::size_t>() == rows.size());
    CHECK(tx.exec1("SELECT value->>'a' FROM raw_t WHERE key = E'k\\t1\\n'")[0].as<std::string>() ==
          "tab\t and \\ backslash");
    CHECK(tx.exec1("SELECT value::text FROM raw_t WHERE key = 'ünïcödé 🎉'")[0].as<std::string>() ==
          "\"日本語\"");
    CHECK(tx.exec1("SELECT length(value #>> '{}') FROM raw_t WHERE key = 'big'")[0].as<int>() == (3 << 20));
    CHECK(tx.exec1("SELECT sum((value->>'n')::bigint) FROM raw_t")[0].as<std::int64_t>() ==
          19999LL * 20000 / 2);

    // Invalid JSON: PostgreSQL refuses the COPY at its end; the savepoint rolls back cleanly.
    {
        pqxx::subtransaction sub(tx, "bad");
        sub.exec("CREATE TABLE raw_bad (key text NOT NULL, value jsonb NOT NULL)");
        replay::CopyIn copy(sub, "raw_bad", "key, value", true);
        copy.row("k", "{not json");
        CHECK_THROWS_AS(copy.finish(), pqxx::sql_error);
        sub.abort();
    }
    // Abandoned halfway (an error on our side): the destructor ends the COPY.
    {
        pqxx::subtransaction sub(tx, "abandoned");
        sub.exec("CREATE TABLE raw_gone (key text NOT NULL, value jsonb NOT NULL)");
        {
            replay::CopyIn copy(sub, "raw_gone", "key, value", false);
            copy.row("k", "1");
        }
        sub.abort();
    }
    CHECK(tx.exec1("SELECT to_regclass('raw_gone') IS NULL")[0].as<bool>());
    CHECK(tx.exec1("SELECT count(*) FROM raw_t")[0].as<std::size_t>() == rows.size());
}

TEST_SUITE_END();
