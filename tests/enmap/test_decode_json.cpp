// Unit tests of the JSON grammar (enmap/decode/json.cpp): Enmap 4.0-5.7 values.

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

TEST_CASE("decode json: scalars, containers and whitespace become compact canonical JSON") {
    CHECK(canon("null", k_json) == "null");
    CHECK(canon(" true ", k_json) == "true");
    CHECK(canon("false", k_json) == "false");
    CHECK(canon("\"x\"", k_json) == "\"x\"");
    CHECK(canon("{ \"a\" : [ 1 , 2 , { } , [ ] ] ,\n\t\"b\":{\"c\":null} }", k_json) ==
          "{\"a\":[1,2,{},[]],\"b\":{\"c\":null}}");
    CHECK(canon("[]", k_json) == "[]");
    CHECK(canon("{}", k_json) == "{}");
}

TEST_CASE("decode json: members keep source order and duplicates are written as they come") {
    CHECK(canon("{\"z\":1,\"a\":2,\"m\":3}", k_json) == "{\"z\":1,\"a\":2,\"m\":3}");
    CHECK(canon("{\"a\":1,\"a\":2}", k_json) == "{\"a\":1,\"a\":2}");
}

TEST_CASE("decode json: numbers are written as JavaScript's Number#toString") {
    CHECK(canon("0", k_json) == "0");
    CHECK(canon("-12", k_json) == "-12");
    CHECK(canon("1.0", k_json) == "1");
    CHECK(canon("1.50", k_json) == "1.5");
    CHECK(canon("0.1", k_json) == "0.1");
    CHECK(canon("1e21", k_json) == "1e+21");
    CHECK(canon("1E21", k_json) == "1e+21");
    CHECK(canon("1e20", k_json) == "100000000000000000000");
    CHECK(canon("123e18", k_json) == "123000000000000000000");
    CHECK(canon("1e-7", k_json) == "1e-7");
    CHECK(canon("0.000001", k_json) == "0.000001");
    CHECK(canon("1.5e300", k_json) == "1.5e+300");
    CHECK(canon("-2.5e-300", k_json) == "-2.5e-300");
    CHECK(canon("5e-324", k_json) == "5e-324");
    CHECK(canon("1234567890123456789", k_json) == "1234567890123456800");
    CHECK(canon("9007199254740993", k_json) == "9007199254740992");
    CHECK(canon("9007199254740991", k_json) == "9007199254740991");
    CHECK(canon("123456789012345", k_json) == "123456789012345");
    CHECK(canon("1e-400", k_json) == "0");
    CHECK(canon("0.30000000000000004", k_json) == "0.30000000000000004");
    CHECK(canon("1.025", k_json) == "1.025");
    CHECK(canon("100.50", k_json) == "100.5");
    CHECK(canon("5.000", k_json) == "5");
    CHECK(canon("0.1000", k_json) == "0.1");
    CHECK(canon("-0.25", k_json) == "-0.25");
    CHECK(canon("0.0000015", k_json) == "0.0000015");
    CHECK(canon("0.00000015", k_json) == "1.5e-7");
    CHECK(canon("123456789012.345", k_json) == "123456789012.345");
    CHECK(canon("1234567890123.4567", k_json) == "1234567890123.4568");
    CHECK(canon("0.000", k_json) == "0");
}

TEST_CASE("decode json: -0 becomes 0 and overflowing numbers become null, counted") {
    auto d = decode_lenient("[-0,-0.0,-0e3,1e400,-1e400,-0.000]", k_json);
    CHECK(d.json == "[0,0,0,null,null,0]");
    CHECK(d.counts.negative_zero == 4);
    CHECK(d.counts.non_finite == 2);
}

TEST_CASE("decode json: strings are written as JSON.stringify writes them") {
    CHECK(canon(R"("a\"b\\c\/d")", k_json) == R"("a\"b\\c/d")");
    CHECK(canon(R"("\b\f\n\r\t")", k_json) == R"("\b\f\n\r\t")");
    CHECK(canon(R"("\u0001\u001F\u007f")", k_json) == "\"\\u0001\\u001f\x7f\"");
    CHECK(canon(R"("\u003C\u003E\u002F")", k_json) == "\"<>/\"");
    CHECK(canon(R"("\u00e9\u65e5")", k_json) == "\"\xC3\xA9\xE6\x97\xA5\"");
    CHECK(canon(R"("\ud83c\udf89")", k_json) == "\"\xF0\x9F\x8E\x89\"");
    CHECK(canon(R"("\u2028\u2029")", k_json) == "\"\xE2\x80\xA8\xE2\x80\xA9\"");
    CHECK(canon("\"h\xC3\xA9llo \xF0\x9F\x8E\x89\"", k_json) == "\"h\xC3\xA9llo \xF0\x9F\x8E\x89\"");
    CHECK(canon(R"("\u0022\u005c")", k_json) == R"("\"\\")");
}

TEST_CASE("decode json: serialize-javascript forms are malformed JSON") {
    CHECK_THROWS_AS(decode_lenient("undefined", k_json), DecodeError);
    CHECK_THROWS_AS(decode_lenient("{\"a\":new Date(\"2020-01-01T00:00:00.000Z\")}", k_json), DecodeError);
    CHECK_THROWS_AS(decode_lenient("[Infinity]", k_json), DecodeError);
    CHECK_THROWS_AS(decode_lenient("(x)=>x", k_json), DecodeError);
}
