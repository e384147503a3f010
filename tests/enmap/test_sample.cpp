// The sample bot's database: Enmap's layout, the generation's encoding, decodable without loss.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "enmap/decode.hpp"
#include "enmap/sample.hpp"
#include "tests/support.hpp"

namespace {

struct Case {
    const char* generation;
    enmap::Encoding encoding;
};

}  // namespace

TEST_CASE("sample: each generation writes Enmap's tables in its own encoding, all decodable") {
    for (Case c : {Case{"5.7", enmap::Encoding::k_json}, Case{"5.9", enmap::Encoding::k_serialize_javascript},
                   Case{"6", enmap::Encoding::k_better_serialize}}) {
        CAPTURE(c.generation);
        test_support::TempDir tmp;
        enmap::SampleOptions opts;
        opts.generation = c.generation;
        opts.scale = 5;
        auto result = enmap::write_sample_database(tmp.path(), opts);
        CHECK(result.rows.size() == 8);
        CHECK(result.autonum.at("reminders") == 10);
        CHECK(result.rows.at("reminders") == 10);
        CHECK(result.rows.at("guildsettings") == 5);
        CHECK(result.rows.at("points") >= 50);

        SQLite::Database db((tmp.path() / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
        CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "wal");
        CHECK(db.execAndGet("SELECT lastnum FROM 'internal::autonum' WHERE enmap = 'reminders'").getInt() ==
              10);
        CHECK(db.tableExists("internal::changes::points") ==
              (c.encoding != enmap::Encoding::k_better_serialize));
        std::uint64_t total = 0;
        for (const auto& [table, rows] : result.rows) {
            SQLite::Statement q(db, "SELECT key, value FROM '" + table + "'");
            std::uint64_t seen = 0;
            while (q.executeStep()) {
                ++seen;
                std::string text = q.getColumn(1).getString();
                CAPTURE(table);
                CAPTURE(text);
                // Scalars such as `false` or `"3.14.1"` are plain JSON in 5.9 as well.
                bool expected_encoding = enmap::detect_encoding(text) == c.encoding ||
                                         (c.encoding == enmap::Encoding::k_serialize_javascript &&
                                          enmap::detect_encoding(text) == enmap::Encoding::k_json);
                CHECK(expected_encoding);
                std::string out;
                std::vector<enmap::Violation> violations;
                enmap::LossyCounts counts;
                enmap::decode_value(text, enmap::detect_encoding(text), {}, out, violations, counts);
                CHECK(violations.empty());
                CHECK_FALSE(counts.any());
                CHECK(nlohmann::json::accept(out));
            }
            CHECK(seen == rows);
            total += seen;
        }
        CHECK(total == result.total_rows);
    }
}

TEST_CASE("sample: rich types survive where the generation keeps them") {
    test_support::TempDir tmp;
    enmap::SampleOptions opts;
    opts.generation = "5.9";
    opts.scale = 3;
    enmap::write_sample_database(tmp.path(), opts);
    SQLite::Database db((tmp.path() / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
    std::string economy = db.execAndGet("SELECT value FROM economy LIMIT 1").getString();
    CHECK(economy.find("BigInt(\"") != std::string::npos);
    CHECK(economy.find("new Map([") != std::string::npos);
    std::string settings = db.execAndGet("SELECT value FROM guildsettings LIMIT 1").getString();
    CHECK(settings.find("new Set([") != std::string::npos);
    CHECK(settings.find("new Date(\"") != std::string::npos);
}

TEST_CASE(
    "sample: --wal leaves committed writes in enmap.sqlite-wal, and the same seed gives the same bytes") {
    test_support::TempDir a;
    test_support::TempDir b;
    enmap::SampleOptions opts;
    opts.scale = 4;
    opts.wal = true;
    enmap::write_sample_database(a.path(), opts);
    enmap::write_sample_database(b.path(), opts);
    CHECK(std::filesystem::file_size(a.path() / "enmap.sqlite-wal") > 0);
    CHECK(test_support::read_file(a.path() / "enmap.sqlite") ==
          test_support::read_file(b.path() / "enmap.sqlite"));
    // The main file alone does not have the WAL's writes yet.
    test_support::TempDir c;
    std::filesystem::copy_file(a.path() / "enmap.sqlite", c.path() / "enmap.sqlite");
    SQLite::Database main_only((c.path() / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
    CHECK(main_only.execAndGet("SELECT count(*) FROM global WHERE key = 'lastCrash'").getInt() == 0);
    std::filesystem::copy_file(a.path() / "enmap.sqlite-wal", c.path() / "with-wal.sqlite-wal");
    std::filesystem::copy_file(a.path() / "enmap.sqlite", c.path() / "with-wal.sqlite");
    SQLite::Database with_wal((c.path() / "with-wal.sqlite").string(), SQLite::OPEN_READONLY);
    CHECK(with_wal.execAndGet("SELECT count(*) FROM global WHERE key = 'lastCrash'").getInt() == 1);
}

TEST_CASE("sample-data: the command refuses to overwrite and reports rows as JSON") {
    test_support::TempDir tmp;
    auto out = (tmp.path() / "bot").string();
    auto r =
        test_support::run_cli({"--json", "sample-data", "--generation", "5.7", "--scale", "2", "--out", out});
    REQUIRE(r.status == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["rows"]["guildsettings"] == 2);
    CHECK(j["generation"] == "5.7");
    auto again = test_support::run_cli({"sample-data", "--out", out});
    CHECK(again.status == 3);
    CHECK(again.err.find("already exists") != std::string::npos);
    auto bad = test_support::run_cli({"sample-data", "--generation", "4", "--out", out});
    CHECK(bad.status == 2);
}

namespace {

struct TableCase {
    const char* generation;
    enmap::Encoding encoding;
    double min_average;
    double max_average;
};

}  // namespace

TEST_CASE("sample table: one big table of points rows, every value decodable in its generation's encoding") {
    for (TableCase c : {TableCase{"5.7", enmap::Encoding::k_json, 125, 155},
                        TableCase{"5.9", enmap::Encoding::k_serialize_javascript, 215, 260},
                        TableCase{"6", enmap::Encoding::k_better_serialize, 330, 380}}) {
        CAPTURE(c.generation);
        test_support::TempDir tmp;
        enmap::SampleTableOptions opts;
        opts.generation = c.generation;
        opts.table = "levels";
        opts.rows = 20000;
        auto result = enmap::write_sample_table(tmp.path(), opts);
        CHECK(result.rows == 20000);
        CHECK(result.file_bytes == std::filesystem::file_size(tmp.path() / "enmap.sqlite"));
        double average = static_cast<double>(result.value_bytes) / static_cast<double>(result.rows);
        CHECK(average >= c.min_average);
        CHECK(average <= c.max_average);

        SQLite::Database db((tmp.path() / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
        // A normal rollback-journal database, Enmap's layout, nothing left beside it.
        CHECK(db.execAndGet("PRAGMA journal_mode").getString() == "delete");
        CHECK_FALSE(std::filesystem::exists(tmp.path() / "enmap.sqlite-wal"));
        CHECK_FALSE(std::filesystem::exists(tmp.path() / "enmap.sqlite-journal"));
        CHECK(db.execAndGet("SELECT sql FROM sqlite_master WHERE name = 'levels'").getString() ==
              "CREATE TABLE \"levels\" (key text PRIMARY KEY, value text)");
        CHECK(db.execAndGet("SELECT count(*) FROM 'internal::autonum' WHERE enmap = 'levels' AND lastnum = 0")
                  .getInt() == 1);
        CHECK(db.execAndGet("SELECT count(*) FROM levels").getInt64() == 20000);
        CHECK(db.execAndGet("SELECT sum(length(CAST(value AS BLOB))) FROM levels").getInt64() ==
              static_cast<std::int64_t>(result.value_bytes));

        // Keys were written in random order, as a bot writes them: rowid order is not key order.
        std::int64_t out_of_order = 0;
        std::string previous;
        std::uint64_t bytes = 0;
        SQLite::Statement q(db, "SELECT key, value, typeof(value) FROM levels ORDER BY rowid");
        while (q.executeStep()) {
            std::string key = q.getColumn(0).getString();
            std::string text = q.getColumn(1).getString();
            CAPTURE(key);
            CAPTURE(text);
            REQUIRE(q.getColumn(2).getString() == "text");
            out_of_order += key < previous ? 1 : 0;
            previous = key;
            bytes += text.size();
            REQUIRE(enmap::detect_encoding(text) == c.encoding);
            std::string out;
            std::vector<enmap::Violation> violations;
            enmap::LossyCounts counts;
            enmap::decode_value(text, c.encoding, {}, out, violations, counts);
            REQUIRE(violations.empty());
            REQUIRE_FALSE(counts.any());
            auto value = nlohmann::json::parse(out);
            // The key is guild-user, and the value says so.
            REQUIRE(key == value["guild"].get<std::string>() + "-" + value["user"].get<std::string>());
            REQUIRE(value["points"].is_number_integer());
        }
        CHECK(bytes == result.value_bytes);
        CHECK(out_of_order > 5000);
    }
}

TEST_CASE("sample table: the same seed gives the same bytes; --target-mb stops at the size") {
    test_support::TempDir a;
    test_support::TempDir b;
    test_support::TempDir c;
    enmap::SampleTableOptions opts;
    opts.rows = 3000;
    enmap::write_sample_table(a.path(), opts);
    enmap::write_sample_table(b.path(), opts);
    CHECK(test_support::read_file(a.path() / "enmap.sqlite") ==
          test_support::read_file(b.path() / "enmap.sqlite"));
    opts.seed = 7;
    enmap::write_sample_table(c.path(), opts);
    CHECK(test_support::read_file(a.path() / "enmap.sqlite") !=
          test_support::read_file(c.path() / "enmap.sqlite"));

    test_support::TempDir sized;
    enmap::SampleTableOptions by_size;
    by_size.generation = "5.7";
    by_size.target_mb = 3;
    auto result = enmap::write_sample_table(sized.path(), by_size);
    CHECK(result.file_bytes >= 3u * 1024 * 1024);
    CHECK(result.file_bytes < 4u * 1024 * 1024);
    CHECK(result.rows > 10000);
    CHECK_THROWS_AS(enmap::write_sample_table(sized.path(), by_size), enmap::InputError);
    enmap::SampleTableOptions no_limit;
    CHECK_THROWS_AS(enmap::write_sample_table(c.path() / "x", no_limit), enmap::UsageError);
}

TEST_CASE("sample-data --rows: the one-table mode from the command line") {
    test_support::TempDir tmp;
    auto out = (tmp.path() / "bench").string();
    auto r = test_support::run_cli(
        {"--json", "sample-data", "--generation", "6", "--table", "levels", "--rows", "2000", "--out", out});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["rows"] == 2000);
    CHECK(j["table"] == "levels");
    CHECK(j["average_value_bytes"].get<double>() > 300);
    SQLite::Database db(out + "/enmap.sqlite", SQLite::OPEN_READONLY);
    CHECK(db.execAndGet("SELECT count(*) FROM levels").getInt() == 2000);
    // The modes do not mix, and --table alone means nothing.
    CHECK(test_support::run_cli({"sample-data", "--rows", "10", "--scale", "3", "--out", out + "2"}).status ==
          2);
    CHECK(test_support::run_cli({"sample-data", "--rows", "10", "--wal", "--out", out + "2"}).status == 2);
    CHECK(test_support::run_cli({"sample-data", "--table", "levels", "--out", out + "2"}).status == 2);
}
