// Keys that PostgreSQL's primary key cannot take: too long for a btree entry, or two stored keys
// that --invalid-text=replace makes one. Replay's preflight names them before any SQL runs.

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "replay/source.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {

// Letters and digits in random order: text that pglz cannot shrink, so its index entry is as long
// as the key.
std::string random_key(std::size_t size, unsigned seed) {
    static constexpr char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, sizeof k_chars - 2);
    std::string key;
    for (std::size_t i = 0; i < size; ++i) {
        key += k_chars[pick(rng)];
    }
    return key;
}

void snapshot_of(const fs::path& store, const fs::path& db) {
    auto r =
        run_cli({"--store", store.string(), "snapshot", "create", "--db", db.string(), "--label", "keys"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
}

}  // namespace

TEST_CASE("replay: a key too long for a btree entry is refused in preflight, named, before any SQL") {
    test_support::TempDir tmp;
    test_support::TestDatabase db;
    const std::string long_key = "guild-" + random_key(10000, 1);
    test_support::write_enmap_db(tmp.path() / "enmap.sqlite",
                                 {{"points", {{"123-456", "{\"points\":1}"}, {long_key, "{\"points\":2}"}}}});
    snapshot_of(tmp.path() / "store", tmp.path() / "enmap.sqlite");

    auto r = run_cli({"--store", (tmp.path() / "store").string(), "--database", db.url(), "replay",
                      "--snapshot", "keys", "--invalid-text", "replace"});
    CHECK(r.status == 3);
    CHECK_MESSAGE(r.err.find("points/guild-") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("10006 bytes") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("2692 bytes") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find(long_key) == std::string::npos, "the whole 10 KB key is printed");
    CHECK(r.err.find("ADD PRIMARY KEY") == std::string::npos);
    // Nothing reached the database: not even the ledger.
    CHECK(replay_test::user_relations(db.url()) == 0);
    CHECK(replay_test::query_value(db.url(), "SELECT to_regclass('enmap_migrate.runs') IS NULL") == "t");
}

TEST_CASE(
    "replay: the key size limit is PostgreSQL's: the longest accepted key loads, a longer one would not") {
    test_support::TempDir tmp;
    test_support::TestDatabase db;
    const std::string longest = random_key(replay::k_max_key_bytes, 2);
    test_support::write_enmap_db(tmp.path() / "enmap.sqlite", {{"tags", {{longest, "\"a tag\""}}}});
    snapshot_of(tmp.path() / "store", tmp.path() / "enmap.sqlite");
    auto ok = run_cli(
        {"--store", (tmp.path() / "store").string(), "--database", db.url(), "replay", "--snapshot", "keys"});
    CHECK_MESSAGE(ok.status == 0, ok.err);
    CHECK(replay_test::query_value(db.url(), "SELECT octet_length(key) FROM raw_tags") ==
          std::to_string(replay::k_max_key_bytes));

    // The limit is not a guess: a key a few bytes longer, incompressible, breaks the btree itself.
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    tx.exec("CREATE TABLE probe (key text PRIMARY KEY)");
    CHECK_THROWS_WITH_AS(
        tx.exec("INSERT INTO probe VALUES (" + tx.quote(random_key(replay::k_max_key_bytes + 8, 3)) + ")"),
        doctest::Contains("exceeds btree"), pqxx::sql_error);
}

TEST_CASE("replay --invalid-text replace: two stored keys that become one are both named, escaped") {
    test_support::TempDir tmp;
    test_support::TestDatabase db;
    // "a\xff" and "a\xfe" both decode to "a\uFFFD"; "b\xff" decodes to the "b\uFFFD" stored as it is.
    test_support::write_enmap_db(
        tmp.path() / "enmap.sqlite",
        {{"points", {{"a\xff", "1"}, {"a\xfe", "2"}, {"b\xff", "3"}, {"b\xef\xbf\xbd", "4"}, {"c", "5"}}}});
    snapshot_of(tmp.path() / "store", tmp.path() / "enmap.sqlite");
    auto r = run_cli({"--store", (tmp.path() / "store").string(), "--database", db.url(), "replay",
                      "--snapshot", "keys", "--invalid-text", "replace"});
    CHECK(r.status == 3);
    CHECK_MESSAGE(r.err.find("\"a\\xff\"") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("\"a\\xfe\"") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("\"b\\xff\" and b\xef\xbf\xbd") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("2 set(s)") != std::string::npos, r.err);
    CHECK(r.err.find("twice in the source snapshot") == std::string::npos);
    CHECK(replay_test::user_relations(db.url()) == 0);

    // One bad key that collides with nothing replays.
    test_support::TempDir other;
    test_support::write_enmap_db(other.path() / "enmap.sqlite", {{"points", {{"a\xff", "1"}, {"c", "5"}}}});
    snapshot_of(other.path() / "store", other.path() / "enmap.sqlite");
    auto ok = run_cli({"--store", (other.path() / "store").string(), "--database", db.url(), "replay",
                       "--snapshot", "keys", "--invalid-text", "replace"});
    CHECK_MESSAGE(ok.status == 0, ok.err);
}

TEST_SUITE_END();
