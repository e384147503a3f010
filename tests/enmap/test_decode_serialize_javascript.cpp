// Unit tests of the serialize-javascript grammar (enmap/decode/serialize_javascript.cpp): Enmap
// 5.8-5.9 values, JSON plus the JavaScript forms.

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
