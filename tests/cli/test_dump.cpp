// enmap-migrate dump, end to end through the real binary: fixtures against expected.jsonl, the
// policies, export files, the summary, and bad input that must fail cleanly and never crash.

#include <doctest/doctest.h>
#include <sys/resource.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "enmap/sample.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using Rows = std::map<std::pair<std::string, std::string>, nlohmann::json>;

namespace {

Rows parse_lines(const std::string& text) {
    Rows rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        auto json = nlohmann::json::parse(line);
        auto key = std::pair{json.at("table").get<std::string>(), json.at("key").get<std::string>()};
        CHECK_MESSAGE(rows.count(key) == 0, "repeated row " << line);
        rows[key] = json.at("value");
    }
    return rows;
}

std::vector<nlohmann::json> expected_lines(const std::string& fixture) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(test_support::read_file(test_support::fixture(fixture) / "expected.jsonl"));
    std::string line;
    while (std::getline(in, line)) {
        lines.push_back(nlohmann::json::parse(line));
    }
    return lines;
}

std::string db_of(const std::string& fixture) {
    return (test_support::fixture(fixture) / "enmap.sqlite").string();
}

bool contains(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE(
    "dump: every fixture's output equals expected.jsonl under --invalid-text=replace --functions=drop") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        auto r = test_support::run_cli(
            {"dump", "--db", db_of(name), "--invalid-text=replace", "--functions=drop"});
        CAPTURE(r.err);
        REQUIRE(r.status == 0);
        Rows actual = parse_lines(r.out);
        Rows expected;
        for (const auto& line : expected_lines(name)) {
            expected[{line.at("table").get<std::string>(), line.at("key").get<std::string>()}] =
                line.at("value");
        }
        CHECK(actual.size() == expected.size());
        for (const auto& entry : expected) {
            const auto& key = entry.first;  // not a structured binding: CAPTURE's lambda takes it
            const auto& value = entry.second;
            CAPTURE(key.first);
            CAPTURE(key.second);
            REQUIRE(actual.count(key) == 1);
            CHECK(actual.at(key) == value);
        }
        CHECK(contains(r.err, "dumped " + std::to_string(expected.size()) + " rows"));
    }
}

TEST_CASE("dump: output is in table order, then bytewise key order") {
    auto r = test_support::run_cli({"dump", "--db", db_of("enmap-6.1"), "--invalid-text=replace"});
    REQUIRE(r.status == 0);
    std::istringstream in(r.out);
    std::string line;
    std::vector<std::string> tables;
    std::string previous_key;
    while (std::getline(in, line)) {
        auto json = nlohmann::json::parse(line);
        std::string table = json["table"];
        std::string key = json["key"];
        if (tables.empty() || tables.back() != table) {
            tables.push_back(table);
        } else {
            CHECK(previous_key < key);
        }
        previous_key = key;
    }
    CHECK(tables == std::vector<std::string>{"global", "guildSettings", "points", "economy", "warnings",
                                             "tags", "reminders", "giveaways", "samples"});
}

TEST_CASE(
    "dump: the default policy refuses fixtures with invalid text, status 4, listing every table/key/path") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        std::vector<std::pair<std::string, std::string>> offending;
        for (const auto& line : expected_lines(name)) {
            if (line.value("invalid_text", false) || line.value("has_function", false)) {
                offending.emplace_back(line["table"], line["key"]);
            }
        }
        auto r = test_support::run_cli({"dump", "--db", db_of(name)});
        CAPTURE(r.err);
        if (offending.empty()) {
            CHECK(r.status == 0);
            continue;
        }
        CHECK(r.status == 4);
        for (const auto& [table, key] : offending) {
            CHECK(contains(r.err, table + "/" + key + " at $"));
        }
        CHECK(contains(r.err, "--invalid-text=replace"));
    }
}

TEST_CASE("dump: every table of a fixture's exports gives the same rows as its database") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        std::vector<std::string> args = {"dump", "--invalid-text=replace", "--functions=drop"};
        std::vector<std::string> tables;
        for (const auto& entry : fs::directory_iterator(test_support::fixture(name) / "exports")) {
            args.push_back("--export");
            args.push_back(entry.path().string());
            tables.push_back(entry.path().stem().string());
        }
        auto from_exports = test_support::run_cli(args);
        CAPTURE(from_exports.err);
        REQUIRE(from_exports.status == 0);
        std::vector<std::string> db_args = {"dump", "--db", db_of(name), "--invalid-text=replace",
                                            "--functions=drop"};
        for (const auto& table : tables) {
            db_args.push_back("--table");
            db_args.push_back(table);
        }
        auto from_db = test_support::run_cli(db_args);
        REQUIRE(from_db.status == 0);
        CHECK(parse_lines(from_exports.out) == parse_lines(from_db.out));
    }
}

TEST_CASE("dump: --json makes the summary one JSON object on stderr, with encodings and lossy counts") {
    auto r = test_support::run_cli({"--json", "dump", "--db", db_of("enmap-5.7"), "--invalid-text=replace"});
    REQUIRE(r.status == 0);
    auto summary = nlohmann::json::parse(r.err);
    CHECK(summary["kind"] == "database");
    CHECK(summary["open_mode"] == "immutable");  // the fixture has no -wal beside it
    CHECK(summary["rows"] == expected_lines("enmap-5.7").size());
    CHECK(summary["tables"].size() == 9);
    for (const auto& table : summary["tables"]) {
        if (table["name"] == "samples") {
            CHECK(table["lossy"]["text_replaced"].get<int>() >= 1);
        }
        if (table["name"] == "points") {
            CHECK(table["encodings"]["json"] == table["rows"]);
        }
    }
    CHECK(summary["autonum"].contains("reminders"));
}

TEST_CASE("dump: a mixed-encoding table is detected per row and reported, and --format forces one encoding") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(db, {{"points",
                                       {{"a", "{\"level\":1}"},
                                        {"b", "{\"t\":0,\"v\":{\"level\":{\"t\":2,\"v\":2}}}"},
                                        {"c", std::nullopt}}}});
    auto r = test_support::run_cli({"--json", "dump", "--db", db.string()});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    CHECK(parse_lines(r.out) == Rows{{{"points", "a"}, {{"level", 1}}},
                                     {{"points", "b"}, {{"level", 2}}},
                                     {{"points", "c"}, nullptr}});
    auto table = nlohmann::json::parse(r.err)["tables"][0];
    CHECK(table["encodings"] == nlohmann::json{{"json", 1}, {"better-serialize", 1}});
    CHECK(table["null_values"] == 1);
    CHECK(contains(table["encoding"].get<std::string>(), "mixed"));

    auto text = test_support::run_cli({"dump", "--db", db.string()});
    CHECK(contains(text.err, "points: 3 rows, mixed (json 1, better-serialize 1), 1 SQL NULL"));

    auto forced = test_support::run_cli({"dump", "--db", db.string(), "--format", "points=json"});
    REQUIRE(forced.status == 0);
    CHECK(parse_lines(forced.out).at({"points", "b"}) ==
          nlohmann::json::parse("{\"t\":0,\"v\":{\"level\":{\"t\":2,\"v\":2}}}"));
    auto bad_format = test_support::run_cli({"dump", "--db", db.string(), "--format", "points=yaml"});
    CHECK(bad_format.status == 2);
    auto unknown_table = test_support::run_cli({"dump", "--db", db.string(), "--format", "nope=json"});
    CHECK(unknown_table.status == 2);
}

TEST_CASE("dump: a truncated value is status 3 naming the file, table, key and byte offset") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(db, {{"points", {{"fine", "{\"a\":1}"}, {"broken", "{\"a\":[1,2"}}}});
    auto r = test_support::run_cli({"dump", "--db", db.string()});
    CHECK(r.status == 3);
    CHECK(contains(r.err, db.string()));
    CHECK(contains(r.err, "table 'points', key 'broken'"));
    CHECK(contains(r.err, "at byte"));
}

TEST_CASE("dump: files and tables that are not Enmap's are status 3 with a message naming them") {
    test_support::TempDir tmp;
    fs::path text = tmp.path() / "notes.sqlite";
    std::ofstream(text) << std::string(200, 'x');
    auto not_sqlite = test_support::run_cli({"dump", "--db", text.string()});
    CHECK(not_sqlite.status == 3);
    CHECK(contains(not_sqlite.err, text.string() + ": it is not an SQLite database"));

    fs::path other = tmp.path() / "other.sqlite";
    {
        SQLite::Database db(other.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE users (id integer primary key, name text)");
    }
    auto not_enmap = test_support::run_cli({"dump", "--db", other.string()});
    CHECK(not_enmap.status == 3);
    CHECK(contains(not_enmap.err, "no Enmap tables"));

    fs::path db = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(db, {{"points", {{"a", "1"}}}});
    {
        SQLite::Database sqlite(db.string(), SQLite::OPEN_READWRITE);
        sqlite.exec("CREATE TABLE audit (id integer primary key, what text)");
    }
    auto no_columns = test_support::run_cli({"dump", "--db", db.string(), "--table", "audit"});
    CHECK(no_columns.status == 3);
    CHECK(contains(no_columns.err, "table 'audit' is not an enmap table (it has no key and value columns)"));
    auto missing_table = test_support::run_cli({"dump", "--db", db.string(), "--table", "nope"});
    CHECK(missing_table.status == 3);
    CHECK(contains(missing_table.err, "has no table 'nope'"));
    auto missing_file = test_support::run_cli({"dump", "--db", (tmp.path() / "gone.sqlite").string()});
    CHECK(missing_file.status == 3);
    auto neither = test_support::run_cli({"dump"});
    CHECK(neither.status == 2);
    auto both = test_support::run_cli({"dump", "--db", db.string(), "--export", db.string()});
    CHECK(both.status == 2);
}

TEST_CASE("dump: nesting of 20,000 levels fails cleanly with status 3") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(db,
                                 {{"deep", {{"arrays", std::string(20000, '[') + std::string(20000, ']')}}},
                                  {"deeper", {{"objects", [] {
                                                   std::string v;
                                                   for (int i = 0; i < 20000; ++i) {
                                                       v += "{\"a\":";
                                                   }
                                                   return v + "1" + std::string(20000, '}');
                                               }()}}}});
    for (const char* table : {"deep", "deeper"}) {
        CAPTURE(table);
        auto r = test_support::run_cli({"dump", "--db", db.string(), "--table", table});
        CHECK(r.status == 3);
        CHECK(contains(r.err, "table '" + std::string(table) + "'"));
        CHECK(contains(r.err, "at byte"));
    }
}

TEST_CASE("dump: a 300 MB value is dumped whole with sane peak memory") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    constexpr long long k_half = 150'000'000;
    {
        SQLite::Database sqlite(db.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        sqlite.exec("CREATE TABLE big (key text PRIMARY KEY, value text)");
        // A 300 MB JSON string built inside SQLite: hex(zeroblob(N)) is 2N '0' characters.
        sqlite.exec("INSERT INTO big VALUES ('huge', '\"' || hex(zeroblob(" + std::to_string(k_half) +
                    ")) || '\"')");
        sqlite.exec("INSERT INTO big VALUES ('small', '[1]')");
    }
    auto r = test_support::run_cli({"dump", "--db", db.string()});
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    std::string prefix = "{\"table\":\"big\",\"key\":\"huge\",\"value\":\"0000";
    CHECK(r.out.compare(0, prefix.size(), prefix) == 0);
    auto first_line = r.out.find('\n');
    CHECK(first_line == prefix.size() - 4 + 2 * k_half + 2);  // the value's closing quote, then '}'
    CHECK(r.out.substr(first_line + 1) == "{\"table\":\"big\",\"key\":\"small\",\"value\":[1]}\n");
    struct rusage usage {};
    ::getrusage(RUSAGE_CHILDREN, &usage);
    MESSAGE("peak RSS of dump with a 300 MB value: " << usage.ru_maxrss / 1024 << " MB");
#if defined(__SANITIZE_ADDRESS__)
    // ASan keeps freed memory in quarantine and adds its own: the bound is the release build's.
    MESSAGE("AddressSanitizer build: the peak RSS bound is checked in the normal build only");
#else
    CHECK(usage.ru_maxrss < 900'000);  // KiB: the row and its decoded copy (~600 MB), never a third copy
#endif
}

TEST_CASE("dump: the private copy of a database with a -wal is removed after success and after failure") {
    test_support::TempDir tmp;
    fs::path private_tmp = tmp.path() / "tmpdir";
    fs::create_directories(private_tmp);
    std::vector<std::string> env = {"TMPDIR=" + private_tmp.string()};

    fs::path good = tmp.path() / "good";
    enmap::SampleOptions sample;
    sample.scale = 2;
    sample.wal = true;  // leaves enmap.sqlite-wal and -shm beside the file, as a killed bot does
    enmap::write_sample_database(good, sample);
    auto ok = test_support::run_cli(
        {"--json", "dump", "--db", (good / "enmap.sqlite").string(), "--invalid-text=replace"}, env);
    CHECK(ok.status == 0);
    CHECK(nlohmann::json::parse(ok.err)["open_mode"] == "private-copy");
    CHECK(fs::is_empty(private_tmp));

    fs::path bad = tmp.path() / "bad";
    fs::create_directories(bad);
    {
        SQLite::Database db((bad / "enmap.sqlite").string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        db.exec("CREATE TABLE users (id integer primary key, name text)");
    }
    std::ofstream(bad / "enmap.sqlite-shm") << "";
    auto refused = test_support::run_cli({"dump", "--db", (bad / "enmap.sqlite").string()}, env);
    CHECK(refused.status == 3);
    CHECK(contains(refused.err, "no Enmap tables"));
    CHECK(fs::is_empty(private_tmp));
}

TEST_CASE("dump: --help names the exit statuses and the options") {
    auto r = test_support::run_cli({"dump", "--help"});
    CHECK(r.status == 0);
    for (const char* needle : {"--db", "--export", "--table", "--invalid-text", "--functions", "--format",
                               "Exit statuses", "3  bad input", "4  a data policy"}) {
        CAPTURE(needle);
        CHECK(contains(r.out, needle));
    }
}
