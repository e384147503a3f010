// replay/json_text.cpp: the scanner, and jsonb_text against PostgreSQL's own jsonb output.

#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include <random>

#include "enmap/decode.hpp"
#include "enmap/encode.hpp"
#include "enmap/error.hpp"
#include "replay/json_text.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace {
const std::vector<std::string> k_corpus = {
    R"({"b":1,"a":2,"aa":3,"A":4})",
    R"({"a":1,"a":2,"b":{"x":1,"x":[3]}})",
    R"( [ 1 , 2.50 , -0 , -0.0 , 1e21 , 1E+2 , 1.5e-7 , 12345678901234567890123 , 0.1e1 , -3.25e2 ] )",
    R"({"1e21":1000000000000000000000,"n":1e21,"m":100e-2,"k":-1.0E0})",
    R"("tab\there \"quoted\" back\\slash \/ \u00e9 \ud83c\udf89 \u001f \b\f\n\r")",
    R"({"":"empty key","é":"ü","🎉":[{},[],null,true,false]})",
    R"([[[[[]]]],{"deep":{"deeper":{"deepest":"x"}}}])",
    R"(9007199254740993)",
    R"("")",
    R"({"when":"2024-02-29T23:59:59.999Z","tags":["a","b"],"count":0})",
    R"({"zz":{"b":[{"d":1,"c":2}],"a":-0.00},"a\u0062":1,"ab":2,"a\"":3,"é":{"y":1,"x":2,"x":3},"b":"\u00e9"})",
    R"({"k":[-0,0.0,-1.50,10,1e0,1E-0,-2.5E+1,0.000001]} )",
};
}

TEST_CASE("json_text: jsonb_text equals PostgreSQL's jsonb output") {
    test_support::TestDatabase db;
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    for (const auto& json : k_corpus) {
        CAPTURE(json);
        std::string expected = tx.exec1("SELECT " + tx.quote(json) + "::jsonb::text")[0].c_str();
        CHECK(replay::jsonb_text(json) == expected);
    }
}

TEST_CASE("json_text: jsonb_text equals PostgreSQL's jsonb output for random decoded values") {
    test_support::TestDatabase db;
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    std::mt19937_64 rng(5);
    enmap::DecodeOptions options;
    options.invalid_text = enmap::InvalidTextPolicy::k_replace;
    options.functions = enmap::FunctionPolicy::k_source;
    int compared = 0;
    for (int i = 0; i < 1500; ++i) {
        for (auto encoding : {enmap::Encoding::k_json, enmap::Encoding::k_better_serialize}) {
            auto text = enmap::encode(enmap::random_value(rng, encoding), encoding);
            if (!text) {
                continue;
            }
            std::string json;
            std::vector<enmap::Violation> violations;
            enmap::LossyCounts counts;
            enmap::decode_value(*text, encoding, options, json, violations, counts);
            CAPTURE(json);
            std::string expected = tx.exec_params1("SELECT $1::jsonb::text", json)[0].c_str();
            REQUIRE(replay::jsonb_text(json) == expected);
            ++compared;
        }
    }
    CHECK(compared > 2000);
}

TEST_CASE("json_text: scan_json_value finds the end, flags NUL and lone surrogates, rejects bad JSON") {
    replay::JsonTextIssues issues;
    std::string text = R"({"a":[1,{"b":"c"}],"d":null} tail)";
    CHECK(replay::scan_json_value(text, 0, issues) == text.find(" tail"));
    CHECK_FALSE(issues.nul);
    CHECK_FALSE(issues.unpaired_surrogate);

    replay::JsonTextIssues nul;
    replay::scan_json_value(R"(["a\u0000b"])", 0, nul);
    CHECK(nul.nul);
    replay::JsonTextIssues lone;
    replay::scan_json_value(R"({"k":"\ud83d!"})", 0, lone);
    CHECK(lone.unpaired_surrogate);

    for (std::string bad : {"{\"a\":}", "[1,]", "\"unterminated", "{\"a\" 1}", "tru", "\"raw\ttab\"",
                            "\"bad utf8 \xC3\x28\"", "[1 2]"}) {
        CAPTURE(bad);
        replay::JsonTextIssues i;
        CHECK_THROWS_AS(replay::scan_json_value(bad, 0, i), enmap::InputError);
    }
    replay::JsonTextIssues prefix;
    CHECK(replay::scan_json_value("01", 0, prefix) == 1);  // a prefix scan stops after the value "0"
    std::string deep(20000, '[');
    replay::JsonTextIssues i;
    CHECK_THROWS_AS(replay::scan_json_value(deep, 0, i), enmap::InputError);
}

TEST_CASE("json_text: decode_json_string decodes escapes and replaces NUL with U+FFFD") {
    replay::JsonTextIssues issues;
    std::string out;
    replay::decode_json_string(R"("a\u0000\u00e9\ud83c\udf89")", 0, out, issues);
    CHECK(out == "a\xEF\xBF\xBD\xC3\xA9\xF0\x9F\x8E\x89");
    CHECK(issues.nul);
}

TEST_SUITE_END();
