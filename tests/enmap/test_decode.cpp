// Unit tests of the decoding API (enmap/decode.hpp) across the encodings: the Map key rule, both
// policies and their paths, the lossy counts, detection, prefixes and failure.

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

TEST_CASE("decode: objects, arrays and Maps decode alike in both JavaScript encodings") {
    // One value per encoding; members()/elements()/map_entries() serve both grammars, so the
    // canonical JSON and every count agree (before they were copies: object/bs_object, ...).
    const std::pair<const char*, const char*> same[] = {
        {R"({"a":undefined,"b":1,"c":undefined})",
         R"({"t":0,"v":{"a":{"t":7},"b":{"t":2,"v":1},"c":{"t":7}}})"},
        {R"([undefined,{"x":undefined},[]])",
         R"({"t":4,"v":[{"t":7},{"t":0,"v":{"x":{"t":7}}},{"t":4,"v":[]}]})"},
        {R"(new Map([["a",undefined],[{"k":"v"},new Map([["n",1]])]]))",
         R"({"t":10,"v":[["a",{"t":7}],[{"k":"v"},{"t":10,"v":[["n",{"t":2,"v":1}]]}]]})"},
        {R"(new Map([[{"k":"v"},1],["s",2]]))",
         R"({"t":10,"v":[[{"k":"v"},{"t":2,"v":1}],["s",{"t":2,"v":2}]]})"},
        {R"(new Set([undefined,1]))", R"({"t":11,"v":[{"t":7},{"t":2,"v":1}]})"},
    };
    for (const auto& [sj, bs] : same) {
        CAPTURE(sj);
        const auto a = decode_lenient(sj, k_sj);
        const auto b = decode_lenient(bs, k_bs);
        CHECK(a.json == b.json);
        CHECK(a.counts.undefined_dropped == b.counts.undefined_dropped);
    }
    CHECK(canon(R"({"t":0,"v":{"a":{"t":7},"b":{"t":2,"v":1},"c":{"t":7}}})", k_bs) == R"({"b":1})");
    CHECK(decode_lenient(R"({"t":0,"v":{"a":{"t":7},"b":{"t":2,"v":1},"c":{"t":7}}})", k_bs)
              .counts.undefined_dropped == 2);
    // A member that is a dropped function is not an undefined one: counted once, as a function.
    const auto f = decode_lenient(R"({"f":x=>x,"u":undefined})", k_sj);
    CHECK(f.json == "{}");
    CHECK(f.counts.functions_dropped == 1);
    CHECK(f.counts.undefined_dropped == 1);
}
