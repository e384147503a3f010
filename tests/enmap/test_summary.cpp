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

std::string sha256_raw(const std::string& bytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
    return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

// The enmap-canonical-v2 digest of docs/dump.md, written out byte by byte as an oracle: the sum of
// the records' SHA-256 values as little-endian 256-bit numbers, then the row count, hashed.
std::string digest_of_records(const std::vector<std::string>& records) {
    std::string sum(32, '\0');
    for (const auto& record : records) {
        std::string hash = sha256_raw(record);
        unsigned carry = 0;
        for (std::size_t i = 0; i < 32; ++i) {
            unsigned total = static_cast<unsigned char>(sum[i]) + static_cast<unsigned char>(hash[i]) + carry;
            sum[i] = static_cast<char>(total & 0xFF);
            carry = total >> 8;
        }
    }
    std::string count(8, '\0');
    for (std::size_t i = 0; i < 8; ++i) {
        count[i] = static_cast<char>((records.size() >> (8 * i)) & 0xFF);
    }
    return sha256_hex(sum + count);
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

TEST_CASE("summary: the digest sums the SHA-256 of key JSON, 0x1F, value JSON, 0x1E per row, in any order") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    // Inserted out of order; "B" (0x42) sorts before "a" (0x61) bytewise.
    test_support::write_enmap_db(
        path, {{"points", {{"a", "[1,2]"}, {"B", "\"x\\ty\""}, {"q\"uote", std::nullopt}}}, {"empty", {}}});
    enmap::Database db(path);
    auto summary = enmap::summarize(db);
    REQUIRE(summary.tables.size() == 2);
    CHECK(summary.tables[1].sha256 == digest_of_records({}));
    CHECK(summary.tables[1].sha256 == sha256_hex(std::string(40, '\0')));
    CHECK(summary.tables[1].rows == 0);
    const auto& table = summary.tables[0];
    CHECK(table.rows == 3);
    CHECK(table.null_values == 1);
    CHECK(table.encodings == std::map<std::string, std::uint64_t>{{"json", 2}});
    std::vector<std::string> records = {std::string("\"B\"\x1F\"x\\ty\"\x1E"), "\"a\"\x1F[1,2]\x1E",
                                        "\"q\\\"uote\"\x1Fnull\x1E"};
    CHECK(table.sha256 == digest_of_records(records));
    // The same rows in another order, and split into two merged parts, give the same digest.
    enmap::ContentDigest reversed;
    reversed.add("q\"uote", "null");
    reversed.add("a", "[1,2]");
    reversed.add("B", "\"x\\ty\"");
    CHECK(reversed.finish() == table.sha256);
    enmap::ContentDigest part1;
    enmap::ContentDigest part2;
    part1.add("a", "[1,2]");
    part2.add("B", "\"x\\ty\"");
    part2.add("q\"uote", "null");
    part1.merge(part2);
    CHECK(part1.rows() == 3);
    CHECK(part1.finish() == table.sha256);
    enmap::ContentDigest changed;
    changed.add("a", "[1,3]");
    changed.add("B", "\"x\\ty\"");
    changed.add("q\"uote", "null");
    CHECK(changed.finish() != table.sha256);

    auto json = summary.to_json();
    CHECK(json["digest"] == "enmap-canonical-v2");
    CHECK(json["tables"][0]["name"] == "points");
    CHECK(json["tables"][0]["sha256"] == table.sha256);
    CHECK(json["tables"][0]["rows"] == 3);
    CHECK(json["autonum"].empty());
}

TEST_CASE("summary: a table of many batches (their buffers reused) digests as row by row") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "enmap.sqlite";
    // About 12 MiB of rows of varying sizes: a dozen 1 MiB batches, more than the decoders hold at
    // once, so that batches are cleared and filled again with other rows.
    std::vector<test_support::EnmapRow> rows;
    std::vector<std::string> records;
    for (int i = 0; i < 3000; ++i) {
        std::string key = "k" + std::to_string(i);
        std::string value =
            "\"" +
            std::string(static_cast<std::size_t>(100 + (i * 7919) % 8000), static_cast<char>('a' + i % 26)) +
            "\"";
        rows.push_back({key, value});
        records.push_back("\"" + key + "\"\x1F" + value + "\x1E");
    }
    test_support::write_enmap_db(path, {{"big", rows}});
    enmap::Database db(path);
    auto summary = enmap::summarize(db);
    const auto& table = table_of(summary, "big");
    CHECK(table.rows == 3000);
    CHECK(table.sha256 == digest_of_records(records));
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
