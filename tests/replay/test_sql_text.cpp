// replay/sql_text.cpp: statements and the lines they start on.

#include <doctest/doctest.h>

#include "replay/sql_text.hpp"

TEST_CASE("sql_text: splits on top-level semicolons and keeps start lines") {
    std::string text =
        "-- a comment; not a split\n"
        "SELECT 1;\n"
        "\n"
        "/* block ; comment */ SELECT ';' AS \"semi;colon\"\n"
        "  FROM t;\n"
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n"
        "-- only a comment at the end\n";
    auto statements = replay::split_sql(text);
    REQUIRE(statements.size() == 3);
    CHECK(statements[0].line == 2);
    CHECK(statements[0].sql.find("SELECT 1") != std::string::npos);
    CHECK(statements[1].line == 4);
    CHECK(statements[1].sql.find("FROM t") != std::string::npos);
    CHECK(statements[2].line == 6);
    CHECK(statements[2].sql.find("$body$ SELECT 1; $body$") != std::string::npos);
}

TEST_CASE("sql_text: a file of comments has no statements") {
    CHECK(replay::split_sql("-- nothing\n/* here */\n;\n").empty());
}
