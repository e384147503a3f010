// Proof that the harness is real: a throwaway PostgreSQL cluster, reached with libpqxx.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support.hpp"

TEST_CASE("harness: 10,000 jsonb rows stream in with COPY and read back equal" * doctest::test_suite("pg")) {
    test_support::TestDatabase db;
    pqxx::connection conn(db.url());
    {
        pqxx::work tx(conn);
        tx.exec("CREATE TABLE harness (key text PRIMARY KEY, value jsonb NOT NULL)");
        pqxx::stream_to copy(tx, "harness", std::vector<std::string>{"key", "value"});
        for (int i = 0; i < 10000; ++i) {
            nlohmann::json value = {{"n", i}, {"name", "user\t" + std::to_string(i)}, {"tags", {"a", i % 7}}};
            copy << std::make_tuple(std::to_string(i), value.dump());
        }
        copy.complete();
        tx.commit();
    }
    pqxx::work tx(conn);
    auto count = tx.exec1("SELECT count(*) FROM harness")[0].as<long>();
    CHECK(count == 10000);
    int checked = 0;
    for (const auto& row : tx.exec("SELECT key, value::text FROM harness ORDER BY key::int")) {
        int i = std::stoi(row[0].c_str());
        nlohmann::json expected = {{"n", i}, {"name", "user\t" + std::to_string(i)}, {"tags", {"a", i % 7}}};
        CHECK(nlohmann::json::parse(row[1].c_str()) == expected);
        ++checked;
    }
    CHECK(checked == 10000);
}
