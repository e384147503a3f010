// Randomized property tests: random JavaScript value -> what Enmap's encoder writes -> decode ->
// equals the canonical JSON the model computes on its own (text, counts and violation paths).

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "enmap/encode.hpp"
#include "tests/enmap/decode_support.hpp"

using enmap::Encoding;
using enmap::FunctionPolicy;
using enmap::InvalidTextPolicy;

namespace {

void check_counts(const enmap::LossyCounts& got, const enmap::LossyCounts& want) {
    CHECK(got.non_finite == want.non_finite);
    CHECK(got.negative_zero == want.negative_zero);
    CHECK(got.undefined_dropped == want.undefined_dropped);
    CHECK(got.sparse_holes == want.sparse_holes);
    CHECK(got.invalid_dates == want.invalid_dates);
    CHECK(got.text_replaced == want.text_replaced);
    CHECK(got.functions_dropped == want.functions_dropped);
    CHECK(got.functions_kept == want.functions_kept);
}

void run_properties(Encoding encoding, std::uint64_t seed, int count) {
    std::mt19937_64 rng(seed);
    const enmap::DecodeOptions option_sets[] = {
        decode_test::policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_drop),
        decode_test::policies(InvalidTextPolicy::k_replace, FunctionPolicy::k_source),
        decode_test::policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error),
    };
    int checked = 0;
    for (int i = 0; i < count; ++i) {
        const enmap::JsValue value = enmap::random_value(rng, encoding);
        const auto text = enmap::encode(value, encoding);
        if (!text) {
            continue;  // Enmap stores SQL NULL for it
        }
        const enmap::JsValue stored = enmap::stored_view(value, encoding);
        CAPTURE(*text);
        for (const auto& options : option_sets) {
            const enmap::Expected want = enmap::expected_canonical(stored, options);
            const auto got = decode_test::decode(*text, encoding, options);
            if (options.invalid_text == InvalidTextPolicy::k_replace) {
                REQUIRE(got.json == want.json);  // exact text: one canonical form
                REQUIRE(nlohmann::json::parse(got.json) == nlohmann::json::parse(want.json));
            }
            std::vector<std::string> paths;
            for (const auto& v : got.violations) {
                paths.push_back(v.path);
            }
            CHECK(paths == want.violation_paths);
            check_counts(got.counts, want.counts);
            // Detection agrees with the encoding (JSON is a subset of serialize-javascript's syntax).
            const Encoding detected = enmap::detect_encoding(*text);
            if (encoding == Encoding::k_serialize_javascript) {
                CHECK(detected != Encoding::k_better_serialize);
            } else if (encoding == Encoding::k_better_serialize) {
                CHECK(detected == Encoding::k_better_serialize);
            }
        }
        ++checked;
    }
    CHECK(checked > count / 2);
}

}  // namespace

TEST_CASE("decode properties: JSON.stringify values (Enmap 4-5.7)") {
    run_properties(Encoding::k_json, 57, 10000);
}

TEST_CASE("decode properties: serialize-javascript values (Enmap 5.8-5.9)") {
    run_properties(Encoding::k_serialize_javascript, 59, 10000);
}

TEST_CASE("decode properties: better-serialize values (Enmap 6)") {
    run_properties(Encoding::k_better_serialize, 6, 10000);
}

TEST_CASE("decode properties: realistic bot values decode the same in every generation that keeps the type") {
    std::mt19937_64 rng(250);
    const auto options = decode_test::policies(InvalidTextPolicy::k_error, FunctionPolicy::k_error);
    for (int i = 0; i < 500; ++i) {
        for (Encoding encoding :
             {Encoding::k_json, Encoding::k_serialize_javascript, Encoding::k_better_serialize}) {
            std::mt19937_64 copy = rng;
            const enmap::JsValue value = enmap::bot_value(copy, encoding);
            const std::string text = *enmap::encode(value, encoding);
            const auto got = decode_test::decode(text, encoding, options);
            CHECK(got.json == enmap::expected_canonical(enmap::stored_view(value, encoding), options).json);
            CHECK(got.violations.empty());
            // Every bot value holds a Date (and 5.9/6 values Sets, Maps or BigInts), so each generation
            // detects as itself.
            CHECK(enmap::detect_encoding(text) == encoding);
        }
        enmap::bot_value(rng, Encoding::k_json);
    }
}
