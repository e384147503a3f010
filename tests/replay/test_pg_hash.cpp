// replay/pg_hash.cpp: equal to the server's hashtextextended for texts of every length class.

#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "replay/pg_hash.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

TEST_CASE("pg_hash: pg_hash_text_extended equals PostgreSQL's hashtextextended") {
    test_support::TestDatabase db;
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    std::vector<std::string> texts = {
        "", "a", "ab", "abc", "abcd", "héllo", "🎉 party", "exactly12byt", "{\"a\": 1, \"b\": [1, 2]}"};
    std::string grow;
    for (int i = 0; i < 40; ++i) {
        grow.push_back(static_cast<char>('a' + i % 26));
        texts.push_back(grow);
    }
    texts.push_back(std::string(1000, 'x') + "\xC3\xA9");
    for (const auto& text : texts) {
        for (std::int64_t seed : {std::int64_t{0}, std::int64_t{42}, std::int64_t{-7}}) {
            CAPTURE(text);
            CAPTURE(seed);
            auto expected =
                tx.exec1("SELECT hashtextextended(" + tx.quote(text) + ", " + std::to_string(seed) + ")")[0]
                    .as<std::int64_t>();
            CHECK(static_cast<std::int64_t>(
                      replay::pg_hash_text_extended(text, static_cast<std::uint64_t>(seed))) == expected);
        }
    }
}

TEST_SUITE_END();
