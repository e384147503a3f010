// Unit tests of the better-serialize grammar (enmap/decode/better_serialize.cpp): Enmap 6.x envelopes.

#include <doctest/doctest.h>

#include "tests/enmap/decode_support.hpp"

using decode_test::canon;
using decode_test::decode;
using decode_test::decode_lenient;
using decode_test::policies;
using enmap::DecodeError;
using enmap::Encoding;
using enmap::FunctionPolicy;
using enmap::InvalidTextPolicy;

namespace {
constexpr Encoding k_json = Encoding::k_json;
constexpr Encoding k_sj = Encoding::k_serialize_javascript;
constexpr Encoding k_bs = Encoding::k_better_serialize;

}  // namespace

TEST_CASE("decode better-serialize: every type tag") {
    CHECK(canon(R"({"t":0,"v":{"a":{"t":1,"v":"x"},"u":{"t":7}}})", k_bs) == R"({"a":"x"})");
    CHECK(canon(R"({"t":1,"v":"<\/script>"})", k_bs) == R"("</script>")");
    CHECK(canon(R"({"t":2,"v":1e21})", k_bs) == "1e+21");
    CHECK(canon(R"({"t":3,"v":false})", k_bs) == "false");
    CHECK(canon(R"({"t":4,"v":[{"t":2,"v":1},{"t":7},{"t":2,"v":3}]})", k_bs) == "[1,null,3]");
    CHECK(canon(R"({"t":5})", k_bs) == "null");
    CHECK(canon(R"({"t":6,"v":"2024-02-29T23:59:59.999Z"})", k_bs) == R"("2024-02-29T23:59:59.999Z")");
    CHECK(canon(R"({"t":7})", k_bs) == "null");
    CHECK(canon(R"({"t":8,"v":"618325095000000000"})", k_bs) == R"("618325095000000000")");
    CHECK(canon(R"({"t":9,"v":{"s":"ab+c","f":"gi"}})", k_bs) == R"("/ab+c/gi")");
    CHECK(canon(R"({"t":9,"v":{"f":"g","s":"a\\d"}})", k_bs) == R"("/a\\d/g")");
    CHECK(canon(R"({"t":10,"v":[["sword",{"t":2,"v":1}]]})", k_bs) == R"({"sword":1})");
    CHECK(canon(R"({"t":11,"v":[{"t":1,"v":"x"},{"t":1,"v":"y"}]})", k_bs) == R"(["x","y"])");
    CHECK(canon(" { \"t\" : 4 , \"v\" : [ ] } ", k_bs) == "[]");
    auto counted = decode_lenient(
        R"({"t":4,"v":[{"t":2,"v":"NaN"},{"t":2,"v":"Infinity"},{"t":2,"v":"-Infinity"},{"t":6,"v":null},{"t":6,"v":"nope"},{"t":7}]})",
        k_bs);
    CHECK(counted.json == "[null,null,null,null,null,null]");
    CHECK(counted.counts.non_finite == 3);
    CHECK(counted.counts.invalid_dates == 2);
    CHECK(counted.counts.undefined_dropped == 1);
}

TEST_CASE("decode better-serialize: the envelope is strict at every level") {
    const char* not_envelopes[] = {
        R"({"t":1,"v":1})",
        R"({"t":0,"v":{"a":1}})",
        R"({"v":"x","t":1})",
        R"({"t":5,"v":null})",
        R"({"t":12,"v":1})",
        R"({"t":1,"v":"x","w":1})",
        R"({"t":4,"v":[1]})",
        R"({"t":2,"v":"12"})",
        R"({"t":10,"v":[["a",1]]})",
        R"({"t":9,"v":{"s":"a"}})",
        R"({"t":1.0,"v":"x"})",
        R"({"t":"1","v":"x"})",
        R"("x")",
        R"({"t":3,"v":1})",
        R"({"t":8,"v":"1.5"})",
    };
    for (const char* text : not_envelopes) {
        CAPTURE(text);
        CHECK_THROWS_AS(decode_lenient(text, k_bs), DecodeError);
    }
}
