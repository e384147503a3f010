// enmap::summarize: per-table encodings, row counts, lossy counts and the content digest of docs/dump.md.

#include "enmap/summary.hpp"

#include <doctest/doctest.h>
#include <openssl/sha.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "enmap/database.hpp"
#include "enmap/export_file.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

std::string sha256_hex(const std::string& bytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : digest) {
        hex += k_hex[byte >> 4];
        hex += k_hex[byte & 0xF];
    }
    return hex;
}

const enmap::TableSummary& table_of(const enmap::Summary& summary, const std::string& name) {
    for (const auto& table : summary.tables) {
        if (table.name == name) {
            return table;
        }
    }
    FAIL("no table " << name << " in the summary");
    return summary.tables.front();
}

}  // namespace

TEST_CASE(
    "summary: the digest is SHA-256 over key JSON, 0x1F, value JSON, 0x1E per row in bytewise key order") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    // Inserted out of order; "B" (0x42) sorts before "a" (0x61) bytewise.
    test_support::write_enmap_db(
        path, {{"points", {{"a", "[1,2]"}, {"B", "\"x\\ty\""}, {"q\"uote", std::nullopt}}}, {"empty", {}}});
    enmap::Database db(path);
    auto summary = enmap::summarize(db);
    REQUIRE(summary.tables.size() == 2);
    CHECK(summary.tables[1].sha256 == sha256_hex(""));
    CHECK(summary.tables[1].rows == 0);
    const auto& table = summary.tables[0];
    CHECK(table.rows == 3);
    CHECK(table.null_values == 1);
    CHECK(table.encodings == std::map<std::string, std::uint64_t>{{"json", 2}});
    std::string expected =
        std::string("\"B\"\x1F\"x\\ty\"\x1E") + "\"a\"\x1F[1,2]\x1E" + "\"q\\\"uote\"\x1Fnull\x1E";
    CHECK(table.sha256 == sha256_hex(expected));

    auto json = summary.to_json();
    CHECK(json["digest"] == "enmap-canonical-v1");
    CHECK(json["tables"][0]["name"] == "points");
    CHECK(json["tables"][0]["sha256"] == table.sha256);
    CHECK(json["tables"][0]["rows"] == 3);
    CHECK(json["autonum"].empty());
}

TEST_CASE("summary: digests of every fixture are stable across runs and change with one value") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        fs::path original = test_support::fixture(name) / "enmap.sqlite";
        enmap::Summary first;
        enmap::Summary second;
        {
            enmap::Database db(original);
            first = enmap::summarize(db);
        }
        {
            enmap::Database db(original);
            second = enmap::summarize(db);
        }
        REQUIRE(first.tables.size() == second.tables.size());
        CHECK(first.to_json() == second.to_json());
        for (const auto& table : first.tables) {
            CHECK(table.sha256.size() == 64);
        }
        // Never fails on policy: the fixtures' NUL string is replaced and counted.
        CHECK(table_of(first, "samples").lossy.text_replaced >= 1);

        test_support::TempDir tmp;
        fs::path copy = tmp.path() / "enmap.sqlite";
        fs::copy_file(original, copy);
        {
            SQLite::Database db(copy.string(), SQLite::OPEN_READWRITE);
            db.exec("PRAGMA journal_mode=DELETE");
            auto key = db.execAndGet("SELECT key FROM global ORDER BY key LIMIT 1").getString();
            SQLite::Statement update(db, "UPDATE global SET value = ? WHERE key = ?");
            update.bind(1, name == "enmap-6.1" ? "{\"t\":2,\"v\":424242}" : "424242");
            update.bind(2, key);
            CHECK(update.exec() == 1);
        }
        enmap::Database changed_db(copy);
        auto changed = enmap::summarize(changed_db);
        for (const auto& table : first.tables) {
            CAPTURE(table.name);
            const auto& other = table_of(changed, table.name);
            CHECK(other.rows == table.rows);
            if (table.name == "global") {
                CHECK(other.sha256 != table.sha256);
            } else {
                CHECK(other.sha256 == table.sha256);
            }
        }
    }
}

TEST_CASE(
    "summary: a mixed table reports both encodings, --format overrides detection, tables can be chosen") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    test_support::write_enmap_db(path, {{"points",
                                         {{"old", "{\"points\":1}"},
                                          {"new", "{\"t\":0,\"v\":{\"points\":{\"t\":2,\"v\":2}}}"},
                                          {"newer", "{\"t\":2,\"v\":3}"}}},
                                        {"tags", {{"x", "\"y\""}}}});
    enmap::Database db(path);
    auto summary = enmap::summarize(db);
    const auto& points = table_of(summary, "points");
    CHECK(points.encodings == std::map<std::string, std::uint64_t>{{"json", 1}, {"better-serialize", 2}});

    auto forced = enmap::summarize(db, {{"points", enmap::Encoding::k_json}}, {"points"});
    REQUIRE(forced.tables.size() == 1);
    CHECK(forced.tables[0].encodings == std::map<std::string, std::uint64_t>{{"json", 3}});
    CHECK(forced.tables[0].sha256 != points.sha256);
}
