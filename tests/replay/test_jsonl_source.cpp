// replay/jsonl_source.cpp: reading `dump` output, the fixtures' expected.jsonl among them.

#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "enmap/error.hpp"
#include "replay/jsonl_source.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

TEST_CASE("jsonl_source: every fixture's rows come back per table, equal to the file") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        auto path = test_support::fixture(name) / "expected.jsonl";
        std::map<std::string, std::map<std::string, nlohmann::json>> expected;
        std::istringstream lines(test_support::read_file(path));
        std::string line;
        while (std::getline(lines, line)) {
            auto j = nlohmann::json::parse(line);
            expected[j["table"]][j["key"]] = j["value"];
        }
        replay::JsonlSource source(path);
        enmap::DecodeOptions options;
        options.invalid_text = enmap::InvalidTextPolicy::k_replace;
        source.prepare(options);
        CHECK(source.violations().empty());
        CHECK(source.tables().size() == expected.size());
        std::uint64_t replaced = 0;
        for (const auto& t : source.tables()) {
            CAPTURE(t.enmap_name);
            CHECK(t.rows == expected[t.enmap_name].size());
            CHECK(t.digest.size() == 64);
            replaced += t.lossy.text_replaced;
            std::size_t seen = 0;
            source.for_each_row(t.enmap_name, [&](std::string_view key, std::string_view value) {
                CHECK(nlohmann::json::parse(value) == expected[t.enmap_name].at(std::string(key)));
                ++seen;
            });
            CHECK(seen == t.rows);
        }
        CHECK(replaced == 1);
        CHECK(source.id().starts_with("jsonl:"));
    }
}

TEST_CASE("jsonl_source: under the default policies every violation is gathered") {
    test_support::TempDir dir;
    auto path = dir.path() / "dump.jsonl";
    replay_test::write_file(path,
                            "{\"table\":\"a\",\"key\":\"1\",\"value\":\"x\\u0000y\"}\n"
                            "{\"table\":\"a\",\"key\":\"2\",\"value\":{\"s\":\"\\ud83d\"}}\n"
                            "{\"table\":\"b\",\"key\":\"k\\u0000\",\"value\":1}\n"
                            "{\"table\":\"b\",\"key\":\"f\",\"value\":{},\"has_function\":true}\n"
                            "{\"table\":\"b\",\"key\":\"ok\",\"value\":[1,2]}\n"
                            "{\"table\":\"internal::autonum\",\"key\":\"b\",\"value\":42}\n");
    replay::JsonlSource source(path);
    source.prepare({});
    CHECK(source.violations().size() == 4);
    try {
        replay::throw_if_violations(source.violations());
        FAIL("expected a policy error");
    } catch (const enmap::PolicyError& e) {
        std::string what = e.what();
        CHECK(what.find("a/1 at $") != std::string::npos);
        CHECK(what.find("a/2 at $") != std::string::npos);
        CHECK(what.find("at key") != std::string::npos);
        CHECK(what.find("b/f at $: a JavaScript function") != std::string::npos);
        CHECK(e.hint().find("--invalid-text=replace") != std::string::npos);
        CHECK(e.hint().find("--functions=drop") != std::string::npos);
    }
    REQUIRE(source.autonum().size() == 1);
    CHECK(source.autonum()[0].enmap == "b");
    CHECK(source.autonum()[0].lastnum == 42);

    enmap::DecodeOptions lenient;
    lenient.invalid_text = enmap::InvalidTextPolicy::k_replace;
    lenient.functions = enmap::FunctionPolicy::k_drop;
    source.prepare(lenient);
    CHECK(source.violations().empty());
    std::vector<std::string> values;
    source.for_each_row("a", [&](std::string_view, std::string_view v) { values.emplace_back(v); });
    REQUIRE(values.size() == 2);
    CHECK(values[0] == "\"x\xEF\xBF\xBDy\"");
}

TEST_CASE("jsonl_source: a malformed line names the file and line") {
    test_support::TempDir dir;
    auto path = dir.path() / "dump.jsonl";
    replay_test::write_file(
        path, "{\"table\":\"a\",\"key\":\"1\",\"value\":1}\n{\"table\":\"a\",\"key\":\"2\",\"value\":[1,}\n");
    replay::JsonlSource source(path);
    try {
        source.prepare({});
        FAIL("expected an input error");
    } catch (const enmap::InputError& e) {
        CHECK(std::string(e.what()).find("dump.jsonl:2:") != std::string::npos);
    }
}
