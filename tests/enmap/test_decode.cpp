// Unit tests of enmap/decode.cpp: each construct of each encoding, the Map key rule, both
// policies, the lossy counts and detection.

#include <doctest/doctest.h>

#include "enmap/encode.hpp"
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

std::vector<std::string> paths(const decode_test::Decoded& d) {
    std::vector<std::string> result;
    for (const auto& v : d.violations) {
        result.push_back(v.path);
    }
    return result;
}
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

TEST_CASE("decode: malformed text throws DecodeError with the byte offset") {
    const char* bad[] = {"",    " ",   "{",    "[1,",        "{\"a\"}",  "{\"a\":}", "[1 2]",
                         "01",  "1.",  "1e",   "-",          "\"abc",    "\"\\x\"",  "\"\\u12\"",
                         "tru", "nul", "[1]]", "{\"a\":1,}", "\"a\nb\"", "{a:1}",    "\"\\"};
    for (const char* text : bad) {
        CAPTURE(text);
        CHECK_THROWS_AS(decode_lenient(text, k_json), DecodeError);
        CHECK_THROWS_AS(decode_lenient(text, k_sj), DecodeError);
    }
    try {
        decode_lenient("[1,2,x]", k_json);
        FAIL("no error");
    } catch (const DecodeError& e) {
        CHECK(e.offset() == 5);
        CHECK(std::string(e.what()).find("at byte 5") != std::string::npos);
    }
}

TEST_CASE("decode serialize-javascript: Date, RegExp, URL, BigInt") {
    CHECK(canon(R"({"at":new Date("2024-02-29T23:59:59.999Z")})", k_sj) ==
          R"({"at":"2024-02-29T23:59:59.999Z"})");
    CHECK(canon(R"(new Date("2024-03-01T01:00:00+01:00"))", k_sj) == R"("2024-03-01T00:00:00.000Z")");
    CHECK(canon(R"(new Date("+275760-09-13T00:00:00.000Z"))", k_sj) == R"("+275760-09-13T00:00:00.000Z")");
    CHECK(canon(R"(new Date("-000001-01-01T00:00:00.000Z"))", k_sj) == R"("-000001-01-01T00:00:00.000Z")");
    CHECK(canon(R"(new Date(0))", k_sj) == R"("1970-01-01T00:00:00.000Z")");
    auto invalid = decode_lenient(R"([new Date("Invalid Date"),new Date("2023-02-29T00:00:00.000Z")])", k_sj);
    CHECK(invalid.json == "[null,null]");
    CHECK(invalid.counts.invalid_dates == 2);
    CHECK(canon(R"(new RegExp("ab+c", "gi"))", k_sj) == R"("/ab+c/gi")");
    CHECK(canon(R"(new RegExp("a\\\u002Fb\"", ""))", k_sj) == R"("/a\\/b\"/")");
    CHECK(canon(R"(new URL("https:\u002F\u002Fexample.com\u002F?q=\u003Cx\u003E"))", k_sj) ==
          R"("https://example.com/?q=<x>")");
    CHECK(canon(R"(BigInt("9007199254740993"))", k_sj) == R"("9007199254740993")");
    CHECK(canon(R"(BigInt("-123456789012345678901234567890"))", k_sj) ==
          R"("-123456789012345678901234567890")");
    CHECK(canon(R"(BigInt("0"))", k_sj) == R"("0")");
    CHECK_THROWS_AS(decode_lenient(R"(BigInt("12a"))", k_sj), DecodeError);
    CHECK_THROWS_AS(decode_lenient(R"(new Foo("x"))", k_sj), DecodeError);
}

TEST_CASE("decode serialize-javascript: undefined, Infinity, NaN and their counts") {
    auto d = decode_lenient(R"({"a":undefined,"b":[undefined,1],"c":Infinity,"d":-Infinity,"e":NaN})", k_sj);
    CHECK(d.json == R"({"b":[null,1],"c":null,"d":null,"e":null})");
    CHECK(d.counts.undefined_dropped == 2);
    CHECK(d.counts.non_finite == 3);
    auto top = decode_lenient("undefined", k_sj);
    CHECK(top.json == "null");
    CHECK(top.counts.undefined_dropped == 1);
    CHECK(canon("{\"a\":undefined}", k_sj) == "{}");
    CHECK(canon("{\"a\":undefined,\"b\":1,\"c\":undefined}", k_sj) == "{\"b\":1}");
}

TEST_CASE("decode serialize-javascript: Set and sparse arrays") {
    CHECK(canon(R"(new Set(["x","y"]))", k_sj) == R"(["x","y"])");
    CHECK(canon(R"(new Set([]))", k_sj) == "[]");
    auto sparse = decode_lenient(R"(Array.prototype.slice.call({"0":1,"2":3,"length":3}))", k_sj);
    CHECK(sparse.json == "[1,null,3]");
    CHECK(sparse.counts.sparse_holes == 1);
    auto trailing =
        decode_lenient(R"(Array.prototype.slice.call({"1":undefined,"length":4,"extra":5}))", k_sj);
    CHECK(trailing.json == "[null,null,null,null]");
    CHECK(trailing.counts.sparse_holes == 3);
    CHECK(trailing.counts.undefined_dropped == 1);
    CHECK(canon(R"(Array.prototype.slice.call({"2":"c","0":"a","length":3}))", k_sj) == R"(["a",null,"c"])");
    CHECK(canon("Array.prototype.slice.call({\n  \"0\": 1,\n  \"length\": 2\n})", k_sj) == "[1,null]");
    CHECK_THROWS_AS(decode_lenient(R"(Array.prototype.slice.call({"0":1}))", k_sj), DecodeError);
    CHECK_THROWS_AS(decode_lenient(R"(Array.prototype.slice.call({"length":4294967295}))", k_sj),
                    DecodeError);
}

TEST_CASE("decode: the Map key rule") {
    // Every key a string, finite number or BigInt with unique string forms: an object.
    CHECK(canon(R"(new Map([["a",1],["b",[2]]]))", k_sj) == R"({"a":1,"b":[2]})");
    CHECK(canon(R"(new Map([[1,"one"],[2.5,"x"],[1e21,"big"]]))", k_sj) ==
          R"({"1":"one","2.5":"x","1e+21":"big"})");
    CHECK(canon(R"(new Map([[BigInt("12345678901234567890"),true]]))", k_sj) ==
          R"({"12345678901234567890":true})");
    CHECK(canon("new Map([])", k_sj) == "{}");
    // String forms that collide: "1" and 1, or 5n and 5.
    CHECK(canon(R"(new Map([["1","s"],[1,"n"]]))", k_sj) == R"([["1","s"],[1,"n"]])");
    CHECK(canon(R"(new Map([[BigInt("5"),1],[5,2]]))", k_sj) == R"([["5",1],[5,2]])");
    // Keys of other types: an array of pairs.
    CHECK(canon(R"(new Map([[{"id":1},"a"]]))", k_sj) == R"([[{"id":1},"a"]])");
    CHECK(canon(R"(new Map([[null,1]]))", k_sj) == R"([[null,1]])");
    CHECK(canon(R"(new Map([[true,1],["a",2]]))", k_sj) == R"([[true,1],["a",2]])");
    CHECK(canon(R"(new Map([[new Date("2020-01-01T00:00:00.000Z"),1]]))", k_sj) ==
          R"([["2020-01-01T00:00:00.000Z",1]])");
    CHECK(canon(R"(new Map([[Infinity,1]]))", k_sj) == R"([[null,1]])");
    // undefined values: omitted in the object form, null in the pair form; counted either way.
    auto object_form = decode_lenient(R"(new Map([["a",undefined],["b",2]]))", k_sj);
    CHECK(object_form.json == R"({"b":2})");
    CHECK(object_form.counts.undefined_dropped == 1);
    auto pair_form = decode_lenient(R"(new Map([[undefined,undefined]]))", k_sj);
    CHECK(pair_form.json == R"([[null,null]])");
    CHECK(pair_form.counts.undefined_dropped == 2);
    // Nested Maps.
    CHECK(canon(R"(new Map([["m",new Map([[1,new Map([[{},2]])]])]]))", k_sj) == R"({"m":{"1":[[{},2]]}})");
    // better-serialize: raw keys.
    CHECK(canon(R"({"t":10,"v":[["sword",{"t":2,"v":1}],[3,{"t":1,"v":"x"}]]})", k_bs) ==
          R"({"sword":1,"3":"x"})");
    CHECK(canon(R"({"t":10,"v":[[{"id":1},{"t":5}],["a",{"t":7}]]})", k_bs) ==
          R"([[{"id":1},null],["a",null]])");
    CHECK(canon(R"({"t":10,"v":[["1",{"t":2,"v":1}],[1,{"t":2,"v":2}]]})", k_bs) == R"([["1",1],[1,2]])");
}

TEST_CASE("decode serialize-javascript: function sources under each --functions policy") {
    const std::vector<std::pair<std::string, std::string>> functions = {
        {"function (a) { return a + 1; }", "function (a) { return a + 1; }"},
        {"function name(){}", "function name(){}"},
        {"async function f(a) { return await a; }", "async function f(a) { return await a; }"},
        {"(x)=>x*2", "(x)=>x*2"},
        {"x => { return x; }", "x => { return x; }"},
        {"async (a) => a", "async (a) => a"},
        {"async a => a", "async a => a"},
        {"foo(a) { return function () { return '}'; }; }", "foo(a) { return function () { return '}'; }; }"},
        {"function* gen() { yield \"}\"; }", "function* gen() { yield \\\"}\\\"; }"},
        {"async *items() { yield 1; }", "async *items() { yield 1; }"},
        {"x => x.replace(/[\"}\\]]/g, '')", "x => x.replace(/[\\\"}\\\\]]/g, '')"},
        {"(a, b = {k: [1, ')']}) => ({ s: a /* } */ })", "(a, b = {k: [1, ')']}) => ({ s: a /* } */ })"},
        {"s => `t${s}${ {a: '}'}.a }`", "s => `t${s}${ {a: '}'}.a }`"},
        {"function (x) {\n  // }\n  return x;\n}", "function (x) {\\n  // }\\n  return x;\\n}"},
        {"class A extends B { constructor(x) { super(x); } }",
         "class A extends B { constructor(x) { super(x); } }"},
        {"undefined => 1", "undefined => 1"},
    };
    // Builds "<a><x><b><x><c><x><d>".
    auto around = [](const std::string& x, const char* a, const char* b, const char* c, const char* d) {
        std::string text = a;
        text += x;
        text += b;
        text += x;
        text += c;
        text += x;
        text += d;
        return text;
    };
    for (const auto& function : functions) {
        const std::string& source = function.first;
        const std::string& quoted = function.second;
        CAPTURE(source);
        const std::string text =
            around(source, "{\"f\":", ",\"n\":1,\"a\":[", "],\"m\":new Map([[\"k\",", "]])}");
        auto dropped = decode(text, k_sj, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_drop));
        CHECK(dropped.json == R"({"n":1,"a":[null],"m":{}})");
        CHECK(dropped.counts.functions_dropped == 3);
        CHECK(dropped.violations.empty());
        auto kept = decode(text, k_sj, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_source));
        CHECK(kept.json ==
              around(quoted, "{\"f\":\"", "\",\"n\":1,\"a\":[\"", "\"],\"m\":{\"k\":\"", "\"}}"));
        CHECK(kept.counts.functions_kept == 3);
        auto refused = decode(text, k_sj, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error));
        REQUIRE(refused.violations.size() == 3);
        CHECK(refused.violations[0].path == "$.f");
        CHECK(refused.violations[1].path == "$.a[0]");
        CHECK(refused.violations[2].path == "$.m.k");
        CHECK(refused.violations[0].kind == enmap::Violation::Kind::k_function);
        CHECK(refused.violations[0].detail.find("function source") == 0);
    }
    auto top = decode("(x)=>x", k_sj, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_drop));
    CHECK(top.json == "null");
    CHECK(decode("(x)=>x", k_sj, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_source)).json ==
          "\"(x)=>x\"");
    CHECK_THROWS_AS(decode_lenient("function (a) { return a;", k_sj), DecodeError);
    CHECK_THROWS_AS(decode_lenient("[x => ]", k_sj), DecodeError);
    CHECK_THROWS_AS(decode_lenient("foo", k_sj), DecodeError);
    CHECK_THROWS_AS(decode_lenient("(a) { }", k_sj), DecodeError);
}

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

TEST_CASE("detect_encoding: per value, strict for better-serialize") {
    using enmap::detect_encoding;
    CHECK(detect_encoding(R"({"prefix":"!","createdAt":1620752485338})") == k_json);
    CHECK(detect_encoding("false") == k_json);
    CHECK(detect_encoding(R"("</script>")") == k_json);
    CHECK(detect_encoding(R"("\u003C\u002Fscript\u003E")") == k_sj);
    CHECK(detect_encoding(R"({"at":new Date("2024-02-29T23:59:59.999Z")})") == k_sj);
    CHECK(detect_encoding("undefined") == k_sj);
    CHECK(detect_encoding("(x)=>x*2") == k_sj);
    CHECK(detect_encoding(R"(Array.prototype.slice.call({"0":1,"length":2}))") == k_sj);
    CHECK(detect_encoding(R"({"t":0,"v":{"a":{"t":1,"v":"x"}}})") == k_bs);
    CHECK(detect_encoding(R"({"t":7})") == k_bs);
    // 5.x objects that happen to hold t and v are not envelopes.
    CHECK(detect_encoding(R"({"t":0,"v":{"a":1}})") == k_json);
    CHECK(detect_encoding(R"({"t":1,"v":2})") == k_json);
    CHECK(detect_encoding(R"({"t":4,"v":[{"t":1,"v":"x"},5]})") == k_json);
    CHECK(detect_encoding(R"({"t":1,"v":new Date("2024-02-29T23:59:59.999Z")})") == k_sj);

    std::string out;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    auto options = policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_drop);
    CHECK(enmap::decode_value_detect(R"({"t":0,"v":{"a":1}})", options, out, violations, counts) == k_json);
    CHECK(out == R"({"t":0,"v":{"a":1}})");
    out.clear();
    CHECK(enmap::decode_value_detect(R"({"t":11,"v":[{"t":1,"v":"x"}]})", options, out, violations, counts) ==
          k_bs);
    CHECK(out == R"(["x"])");
}

TEST_CASE("decode: --invalid-text=error gathers every violation with its path") {
    const std::string text =
        R"({"a":"x\u0000y","b":[1,"\ud83d",{"c\u0000":"\udc00ok"}],"d":new Map([["k","\ud800"]])})";
    auto d = decode(text, k_sj, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error));
    CHECK(paths(d) == std::vector<std::string>{"$.a", "$.b[1]", "$.b[2][\"c\\\\u0000\"]",
                                               "$.b[2][\"c\\\\u0000\"]", "$.d.k"});
    REQUIRE(d.violations.size() == 5);
    CHECK(d.violations[0].detail == "NUL character (\\u0000) in string");
    CHECK(d.violations[1].detail == "unpaired UTF-16 surrogate \\ud83d");
    CHECK(d.violations[3].detail == "unpaired UTF-16 surrogate \\udc00");
    CHECK(d.counts.text_replaced == 0);

    auto r = decode(text, k_sj, policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_error));
    CHECK(r.violations.empty());
    CHECK(r.counts.text_replaced == 5);
    CHECK(r.json ==
          "{\"a\":\"x\xEF\xBF\xBDy\",\"b\":[1,\"\xEF\xBF\xBD\",{\"c\xEF\xBF\xBD\":\"\xEF\xBF\xBDok\"}],"
          "\"d\":{\"k\":\"\xEF\xBF\xBD\"}}");
}

TEST_CASE("decode: invalid UTF-8 bytes follow the text policy") {
    const std::string text =
        "[\"a\xFF"
        "b\",\"\xC3\",\"\xED\xA0\x80\",\"\xE6\x97\",\"ok\xC3\xA9\"]";
    auto replaced = decode(text, k_json, policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_error));
    CHECK(replaced.json ==
          "[\"a\xEF\xBF\xBD"
          "b\",\"\xEF\xBF\xBD\",\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\",\"\xEF\xBF\xBD\",\"ok\xC3\xA9\"]");
    CHECK(replaced.counts.text_replaced == 6);
    auto refused = decode(text, k_json, policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error));
    CHECK(paths(refused) == std::vector<std::string>{"$[0]", "$[1]", "$[2]", "$[2]", "$[2]", "$[3]"});
    CHECK(refused.violations[0].detail == "invalid UTF-8 byte 0xff");
}

TEST_CASE("decode: paths quote member names that are not identifiers") {
    auto d = decode(R"({"a b":{"c":["\u0000"]},"$ok_1":"\u0000","1x":"\u0000","q\"":"\u0000"})", k_json,
                    policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error));
    CHECK(paths(d) == std::vector<std::string>{"$[\"a b\"].c[0]", "$.$ok_1", "$[\"1x\"]", "$[\"q\\\"\"]"});
    auto escaped = decode(R"({"\ud83c\udf89\u00e9":"\u0000"})", k_json,
                          policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error));
    // Raw member names with invalid UTF-8, and function sources cut inside a character, give valid text.
    auto raw = decode("{\"a\xFF\":\"\\u0000\",\"f\":x => '" + std::string(33, 'y') + "\xC3\xA9'}", k_sj,
                      policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_error));
    REQUIRE(raw.violations.size() == 1);
    CHECK(raw.violations[0].detail.find("\xEF\xBF\xBD...`") != std::string::npos);
    auto raw_key = decode("{\"a\xFF\":\"\\u0000\"}", k_json,
                          policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error));
    CHECK(paths(raw_key) == std::vector<std::string>{"$[\"a\xEF\xBF\xBD\"]", "$[\"a\xEF\xBF\xBD\"]"});
    CHECK(paths(escaped) == std::vector<std::string>{"$[\"\xF0\x9F\x8E\x89\xC3\xA9\"]"});
}

TEST_CASE("decode_key applies the text policy to keys") {
    std::string out;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    auto error = policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error);
    enmap::decode_key("249019334418201563-h\xC3\xA9", error, out, violations, counts);
    CHECK(out == "249019334418201563-h\xC3\xA9");
    CHECK(violations.empty());
    out.clear();
    enmap::decode_key(std::string("a\0b\xFF", 4), error, out, violations, counts);
    REQUIRE(violations.size() == 2);
    CHECK(violations[0].path == "key");
    CHECK(violations[0].detail == "NUL byte in key");
    out.clear();
    violations.clear();
    enmap::decode_key(std::string("a\0b\xFF", 4),
                      policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_error), out, violations,
                      counts);
    CHECK(out ==
          "a\xEF\xBF\xBD"
          "b\xEF\xBF\xBD");
    CHECK(counts.text_replaced == 2);
    CHECK(violations.empty());
}

TEST_CASE("decode_value_prefix decodes the value at the start and says where it ended") {
    std::string out;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    auto options = policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_drop);
    const std::string text = "  new Map([\n    [\n      \"a\",\n      1\n    ]\n  ]),\n  \"next\": 2";
    const std::size_t taken = enmap::decode_value_prefix(text, k_sj, options, out, violations, counts);
    CHECK(out == R"({"a":1})");
    CHECK(text.substr(taken, 2) == ",\n");
    out.clear();
    CHECK(enmap::decode_value_prefix(R"({"t":1,"v":"x"}]})", k_bs, options, out, violations, counts) == 15);
    CHECK(out == "\"x\"");
    CHECK_THROWS_AS(decode_lenient("1 2", k_json), DecodeError);
}

TEST_CASE("decode_value_prefix walks many values in one long text") {
    std::string text;
    for (int i = 0; i < 20000; ++i) {
        text += "{\"key\":\"k" + std::to_string(i) + "\",\"value\":new Set([" + std::to_string(i) + "])},";
    }
    text += "]";
    std::string out;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    auto options = policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error);
    std::size_t at = 0;
    for (int i = 0; i < 20000; ++i) {
        at += enmap::decode_value_prefix(std::string_view(text).substr(at), k_sj, options, out, violations,
                                         counts);
        REQUIRE(text[at] == ',');
        ++at;
    }
    CHECK(text.substr(at) == "]");
    CHECK(out.size() > 20000 * 20);
    CHECK(out.substr(0, 29) == R"({"key":"k0","value":[0]}{"key)");
}

TEST_CASE("decode: a mixed-encoding table decodes each row by its own encoding to the same JSON") {
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200; ++i) {
        std::mt19937_64 same = rng;
        const enmap::JsValue value = enmap::bot_value(rng, k_sj);
        const enmap::JsValue twin = enmap::bot_value(same, k_bs);
        auto options = policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error);
        std::string out_5;
        std::string out_6;
        std::vector<enmap::Violation> violations;
        enmap::LossyCounts counts;
        const std::string text_5 = *enmap::encode(value, k_sj);
        const std::string text_6 = *enmap::encode(twin, k_bs);
        CHECK(enmap::decode_value_detect(text_5, options, out_5, violations, counts) != k_bs);
        CHECK(enmap::decode_value_detect(text_6, options, out_6, violations, counts) == k_bs);
        CHECK(out_5 == out_6);
        CHECK(violations.empty());
    }
}

TEST_CASE("decode: a failed decode leaves the output, violations and counts untouched") {
    std::string out = "kept";
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    auto options = policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error);
    CHECK_THROWS_AS(enmap::decode_value("[\"\\u0000\",-0,undefined,", k_sj, options, out, violations, counts),
                    DecodeError);
    CHECK(out == "kept");
    CHECK(violations.empty());
    CHECK_FALSE(counts.any());
}

TEST_CASE("encoding names parse back and unknown names are usage errors") {
    for (Encoding e : {k_json, k_sj, k_bs}) {
        CHECK(enmap::parse_encoding(enmap::encoding_name(e)) == e);
    }
    CHECK_THROWS_AS(enmap::parse_encoding("yaml"), enmap::UsageError);
    enmap::LossyCounts a;
    a.non_finite = 1;
    enmap::LossyCounts b;
    b.non_finite = 2;
    b.sparse_holes = 3;
    a += b;
    CHECK(a.non_finite == 3);
    CHECK(a.sparse_holes == 3);
    CHECK(a.any());
    CHECK_FALSE(enmap::LossyCounts{}.any());
}
