// enmap::ExportFile and ExportSet: Enmap export() files of every generation as a source.

#include "enmap/export_file.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "enmap/database.hpp"
#include "enmap/error.hpp"
#include "enmap/summary.hpp"
#include "enmap/table_reader.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

// Decodes a table under --invalid-text=replace --functions=drop: key -> canonical value as JSON.
std::map<std::string, nlohmann::json> decode_table(const enmap::Source& source, const std::string& table) {
    enmap::ReadOptions options;
    options.decode.invalid_text = enmap::InvalidTextPolicy::k_replace;
    options.decode.functions = enmap::FunctionPolicy::k_drop;
    enmap::ViolationLog log;
    enmap::TableDecoder decoder(source.origin(table), table, options, log);
    std::map<std::string, nlohmann::json> rows;
    auto cursor = source.rows(table);
    enmap::RawRow row;
    enmap::DecodedRow decoded;
    std::string previous;
    bool first = true;
    while (cursor->next(row)) {
        CHECK((first || previous < std::string(row.key)));
        previous = std::string(row.key);
        first = false;
        REQUIRE(decoder.decode(row, decoded));
        rows[decoded.key] = nlohmann::json::parse(decoded.value);
    }
    CHECK(log.empty());
    return rows;
}

std::vector<fs::path> export_paths(const std::string& fixture) {
    std::vector<fs::path> paths;
    for (const auto& entry : fs::directory_iterator(test_support::fixture(fixture) / "exports")) {
        paths.push_back(entry.path());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
}

void write(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

template <typename F>
std::string input_error_of(F&& f) {
    try {
        f();
    } catch (const enmap::InputError& e) {
        return e.what();
    }
    FAIL("expected an InputError");
    return {};
}

}  // namespace

TEST_CASE("export: each fixture's export files are detected and give the same rows as its database") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        enmap::Database db(test_support::fixture(name) / "enmap.sqlite");
        auto paths = export_paths(name);
        REQUIRE_FALSE(paths.empty());
        enmap::ExportSet exports(paths);
        for (const auto& file : exports.files()) {
            CAPTURE(file->path());
            CHECK(file->name() == file->path().stem().string());
            CHECK(file->kind() ==
                  (name == "enmap-6.1" ? enmap::ExportKind::k_better_serialize : enmap::ExportKind::k_plain));
            if (name != "enmap-6.1") {
                CHECK(file->version() == (name == "enmap-5.7" ? "5.7.3" : "5.9.10"));
            }
            auto from_export = decode_table(exports, file->name());
            auto from_db = decode_table(db, file->name());
            CHECK(from_export.size() == db.row_count(file->name()));
            CHECK(from_export == from_db);
        }
        // The same data gives the same digests, whichever source it comes from.
        auto export_summary = enmap::summarize(exports);
        auto db_summary = enmap::summarize(db, {}, exports.tables());
        REQUIRE(export_summary.tables.size() == db_summary.tables.size());
        std::map<std::string, std::pair<std::string, std::uint64_t>> by_name;
        for (const auto& table : db_summary.tables) {
            by_name[table.name] = {table.sha256, table.rows};
        }
        for (const auto& table : export_summary.tables) {
            CAPTURE(table.name);
            CHECK(by_name.at(table.name) == std::pair{table.sha256, table.rows});
        }
    }
}

TEST_CASE(
    "export: a plain export is sorted by key, the last of a repeated key wins, a missing value is null") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "points.json";
    write(path,
          "\xEF\xBB\xBF{\n  \"name\": \"points\",\n  \"version\": \"5.7.3\",\n  \"exportDate\": 1,\n  "
          "\"keys\": [\n"
          "    {\"key\": \"b\", \"value\": {\"p\": [1, 2]}},\n"
          "    {\"key\": \"a\\u00e9\", \"value\": \"first\"},\n"
          "    {\"key\": \"gone\"},\n"
          "    {\"value\": 7, \"key\": \"a\\u00e9\"}\n  ]\n}\n");
    enmap::ExportFile file(path);
    CHECK(file.name() == "points");
    CHECK(file.row_count("points") == 3);
    auto rows = decode_table(file, "points");
    CHECK(rows == std::map<std::string, nlohmann::json>{
                      {"a\xc3\xa9", 7}, {"b", nlohmann::json{{"p", {1, 2}}}}, {"gone", nullptr}});
}

TEST_CASE("export: a better-serialize export keeps each stored string, escapes and all") {
    test_support::TempDir tmp;
    fs::path path = tmp.path() / "GuildConfig.json";
    write(
        path,
        R"({"t":0,"v":{"name":{"t":1,"v":"GuildConfig"},"exportDate":{"t":2,"v":1},"version":{"t":1,"v":"2.0.0"},)"
        R"("keys":{"t":4,"v":[{"t":0,"v":{"key":{"t":1,"v":"z"},"value":{"t":1,"v":"{\"t\":1,\"v\":\"a\\\"b\"}"}}},)"
        R"({"t":0,"v":{"key":{"t":1,"v":"y"},"value":{"t":1,"v":"{\"t\":4,\"v\":[{\"t\":2,\"v\":1}]}"}}}]}}})");
    enmap::ExportFile file(path);
    CHECK(file.kind() == enmap::ExportKind::k_better_serialize);
    CHECK(file.name() == "GuildConfig");
    CHECK(file.version() == "2.0.0");
    auto cursor = file.rows("GuildConfig");
    enmap::RawRow row;
    REQUIRE(cursor->next(row));
    CHECK(row.key == "y");
    CHECK(row.value == R"({"t":4,"v":[{"t":2,"v":1}]})");
    CHECK_FALSE(row.parsed_value);
    REQUIRE(cursor->next(row));
    CHECK(row.key == "z");
    CHECK(row.value == R"({"t":1,"v":"a\"b"})");
    CHECK_FALSE(cursor->next(row));
}

TEST_CASE("export: files that are not Enmap exports are input errors naming the file and the byte") {
    test_support::TempDir tmp;
    fs::path missing = tmp.path() / "missing.json";
    CHECK(input_error_of([&] { enmap::ExportFile f(missing); }).find("no such file") != std::string::npos);

    fs::path garbage = tmp.path() / "garbage.json";
    write(garbage, "hello");
    auto message = input_error_of([&] { enmap::ExportFile f(garbage); });
    CHECK(message.find(garbage.string()) != std::string::npos);
    CHECK(message.find("at byte 0") != std::string::npos);

    fs::path no_keys = tmp.path() / "no_keys.json";
    write(no_keys, R"({"name": "points", "version": "5.7.3"})");
    CHECK(input_error_of([&] { enmap::ExportFile f(no_keys); }).find("no \"keys\" member") !=
          std::string::npos);

    fs::path bad_tag = tmp.path() / "bad_tag.json";
    write(bad_tag, R"({"t":0,"v":{"name":{"t":2,"v":5},"keys":{"t":4,"v":[]}}})");
    CHECK(input_error_of([&] { enmap::ExportFile f(bad_tag); }).find("better-serialize tag") !=
          std::string::npos);

    fs::path truncated = tmp.path() / "truncated.json";
    write(truncated, "{\n  \"name\": \"points\",\n  \"keys\": [\n    {\"key\": \"a\", \"value\": [1, 2");
    auto truncated_message = input_error_of([&] { enmap::ExportFile f(truncated); });
    CHECK(truncated_message.find("key 'a'") != std::string::npos);
    CHECK(truncated_message.find("byte") != std::string::npos);

    fs::path one = tmp.path() / "one.json";
    fs::path two = tmp.path() / "two.json";
    write(one, R"({"name": "points", "keys": []})");
    write(two, R"({"name": "points", "keys": []})");
    auto twice = input_error_of([&] { enmap::ExportSet set({one, two}); });
    CHECK(twice.find("both hold the enmap 'points'") != std::string::npos);
}
