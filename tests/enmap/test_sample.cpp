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
