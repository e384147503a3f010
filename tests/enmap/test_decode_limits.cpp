// The decoder's limits: deep nesting throws instead of overflowing the stack, truncated text
// throws at every byte offset, very large values work, and the fuzzer's corpus replays cleanly.

#include <doctest/doctest.h>

#include <pthread.h>
#include <algorithm>
#include <cstring>
#include <filesystem>

#include "tests/enmap/decode_support.hpp"
#include "tests/fuzz/fuzz_one.hpp"
#include "tests/support.hpp"

using enmap::DecodeError;
using enmap::Encoding;

namespace {

std::string repeat(std::string_view unit, std::size_t n) {
    std::string s;
    s.reserve(unit.size() * n);
    for (std::size_t i = 0; i < n; ++i) {
        s += unit;
    }
    return s;
}

struct Nesting {
    Encoding encoding;
    std::string open, leaf, close;
};

const Nesting k_nestings[] = {
    {Encoding::k_json, "[", "1", "]"},
    {Encoding::k_json, "{\"a\":", "1", "}"},
    {Encoding::k_serialize_javascript, "new Map([[\"k\",", "1", "]])"},
    {Encoding::k_serialize_javascript, "new Set([", "1", "])"},
    {Encoding::k_serialize_javascript, "Array.prototype.slice.call({\"0\":", "1", ",\"length\":1})"},
    {Encoding::k_better_serialize, "{\"t\":4,\"v\":[", "{\"t\":5}", "]}"},
    {Encoding::k_better_serialize, "{\"t\":0,\"v\":{\"a\":", "{\"t\":5}", "}}"},
    {Encoding::k_better_serialize, "{\"t\":10,\"v\":[[\"k\",", "{\"t\":5}", "]]}"},
};

}  // namespace

TEST_CASE("decode limits: 10,001 levels of nesting throw DecodeError, 9,000 decode") {
    for (const auto& nesting : k_nestings) {
        CAPTURE(nesting.open);
        const std::string ok = repeat(nesting.open, 9000) + nesting.leaf + repeat(nesting.close, 9000);
        auto decoded = decode_test::decode_lenient(ok, nesting.encoding);
        CHECK(decoded.json.size() > 9000);
        const std::string deep = repeat(nesting.open, 10001) + nesting.leaf + repeat(nesting.close, 10001);
        CHECK_THROWS_WITH_AS(decode_test::decode_lenient(deep, nesting.encoding),
                             doctest::Contains("nesting deeper"), DecodeError);
        // Far deeper input fails just as cleanly, before any stack trouble.
        const std::string very_deep = repeat(nesting.open, 200000);
        CHECK_THROWS_AS(decode_test::decode_lenient(very_deep, nesting.encoding), DecodeError);
    }
    // Brackets inside a function's source are bounded the same way.
    const std::string function = "x => " + repeat("(", 10001) + repeat(")", 10001);
    CHECK_THROWS_AS(decode_test::decode_lenient(function, Encoding::k_serialize_javascript), DecodeError);
    CHECK(decode_test::decode_lenient("x => " + repeat("(", 9000) + repeat(")", 9000),
                                      Encoding::k_serialize_javascript)
              .json == "null");
}

TEST_CASE("decode limits: deep values decode from a thread with a small stack") {
    // The decoder moves deep values to a stack of its own, so the caller's stack size does not matter.
    struct Job {
        std::string json;
        bool threw = false;
    } job;
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, std::size_t{256} * 1024);
    pthread_t thread;
    REQUIRE(pthread_create(
                &thread, &attributes,
                [](void* argument) -> void* {
                    auto* j = static_cast<Job*>(argument);
                    try {
                        j->json = decode_test::decode_lenient(
                                      repeat("{\"t\":4,\"v\":[", 9000) + "{\"t\":5}" + repeat("]}", 9000),
                                      Encoding::k_better_serialize)
                                      .json;
                        decode_test::decode_lenient(repeat("[", 10001) + repeat("]", 10001),
                                                    Encoding::k_json);
                    } catch (const DecodeError&) {
                        j->threw = true;
                    }
                    return nullptr;
                },
                &job) == 0);
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attributes);
    CHECK(job.json == repeat("[", 9000) + "null" + repeat("]", 9000));
    CHECK(job.threw);
}

TEST_CASE("decode limits: truncated text throws DecodeError at every byte offset") {
    const std::pair<Encoding, std::string> values[] = {
        {Encoding::k_json,
         R"({"prefix":"!","roles":["403185342044697082"],"n":-1.5e-7,"s":"a\"\u00e9\ud83c\udf89\\","t":true,"f":false,"z":null})"},
        {Encoding::k_serialize_javascript,
         R"({"at":new Date("2024-02-29T23:59:59.999Z"),"m":new Map([["a",1],[{"k":[1]},new Set(["x"])]]),"r":new RegExp("a\u002Fb", "g"),"u":new URL("https:\u002F\u002Fx"),"b":BigInt("123"),"s":Array.prototype.slice.call({"0":1,"2":undefined,"length":3}),"i":-Infinity,"f":function (a) { return `}${a}`; },"g":(x)=>x*2})"},
        {Encoding::k_better_serialize,
         R"({"t":0,"v":{"a":{"t":10,"v":[["k",{"t":11,"v":[{"t":2,"v":"NaN"},{"t":8,"v":"5"}]}]]},"r":{"t":9,"v":{"s":"x","f":"g"}},"d":{"t":6,"v":"2024-02-29T23:59:59.999Z"},"n":{"t":5},"u":{"t":7},"s":{"t":1,"v":"\u0000"}}})"},
    };
    for (const auto& value : values) {
        const Encoding encoding = value.first;
        const std::string& text = value.second;
        CAPTURE(text);
        REQUIRE_NOTHROW(decode_test::decode_lenient(text, encoding));
        for (std::size_t length = 0; length < text.size(); ++length) {
            CAPTURE(length);
            // A private copy of exactly `length` bytes: ASan catches any read past its end.
            std::unique_ptr<char[]> prefix(new char[length == 0 ? 1 : length]);
            std::memcpy(prefix.get(), text.data(), length);
            CHECK_THROWS_AS(decode_test::decode_lenient(std::string_view(prefix.get(), length), encoding),
                            DecodeError);
            (void)enmap::detect_encoding(std::string_view(prefix.get(), length));
        }
    }
}

TEST_CASE("decode limits: a 200 MB value decodes") {
    // About 200 MB of serialize-javascript: an array of objects with long strings, Dates and BigInts.
    const std::string unit_text =
        R"({"content":")" + std::string(800, 'x') +
        R"( \u003Cb\u003E","at":new Date("2024-02-29T23:59:59.999Z"),"bank":BigInt("618325095000000000"),"n":1.5})";
    const std::string unit_json =
        R"({"content":")" + std::string(800, 'x') +
        R"( <b>","at":"2024-02-29T23:59:59.999Z","bank":"618325095000000000","n":1.5})";
    const std::size_t count = 200'000'000 / unit_text.size() + 1;
    std::string text;
    text.reserve(count * (unit_text.size() + 1) + 2);
    text += '[';
    for (std::size_t i = 0; i < count; ++i) {
        text += i == 0 ? "" : ",";
        text += unit_text;
    }
    text += ']';
    REQUIRE(text.size() > 200'000'000);
    auto decoded = decode_test::decode_lenient(text, Encoding::k_serialize_javascript);
    text.clear();
    text.shrink_to_fit();
    REQUIRE(decoded.json.size() == count * (unit_json.size() + 1) + 1);
    CHECK(decoded.json.front() == '[');
    CHECK(decoded.json.back() == ']');
    std::size_t mismatches = 0;
    for (std::size_t i = 0, at = 1; i < count; ++i, at += unit_json.size() + 1) {
        mismatches += decoded.json.compare(at, unit_json.size(), unit_json) == 0 ? 0 : 1;
    }
    CHECK(mismatches == 0);
}

TEST_CASE("decode fuzz corpus: every committed input decodes or throws DecodeError") {
    const auto dir = test_support::source_dir() / "tests" / "fuzz" / "corpus";
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        CAPTURE(entry.path().string());
        const std::string bytes = test_support::read_file(entry.path());
        fuzz::fuzz_one(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        ++files;
    }
    CHECK(files >= 50);
}
