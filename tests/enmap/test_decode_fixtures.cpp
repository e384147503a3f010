// Every row of the real fixtures (written by Enmap 5.7.3, 5.9.10 and 6.1.6) decodes to the value
// that release's own get() returned, as recorded in expected.jsonl.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/enmap/decode_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

/// Copies the fixture's database and -wal (not -shm) into a scratch folder, so that opening it
/// never touches the committed files.
fs::path private_copy(const std::string& fixture, const fs::path& dir) {
    for (const char* name : {"enmap.sqlite", "enmap.sqlite-wal"}) {
        const fs::path from = test_support::fixture(fixture) / name;
        if (fs::exists(from)) {
            fs::copy_file(from, dir / name);
        }
    }
    return dir / "enmap.sqlite";
}

}  // namespace

TEST_CASE("decode fixtures: every row equals expected.jsonl under replace+drop") {
    const auto options =
        decode_test::policies(enmap::InvalidTextPolicy::k_replace, enmap::FunctionPolicy::k_drop);
    const auto strict =
        decode_test::policies(enmap::InvalidTextPolicy::k_error, enmap::FunctionPolicy::k_error);
    const std::map<std::string, enmap::Encoding> generation = {
        {"enmap-5.7", enmap::Encoding::k_json},
        {"enmap-5.9", enmap::Encoding::k_serialize_javascript},
        {"enmap-6.1", enmap::Encoding::k_better_serialize}};
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        std::map<std::pair<std::string, std::string>, nlohmann::json> expected;
        std::ifstream lines(test_support::fixture(name) / "expected.jsonl");
        std::string line;
        while (std::getline(lines, line)) {
            auto row = nlohmann::json::parse(line);
            expected[{row["table"].get<std::string>(), row["key"].get<std::string>()}] = row;
        }
        REQUIRE(expected.size() > 100);

        test_support::TempDir dir;
        SQLite::Database db(private_copy(name, dir.path()).string(), SQLite::OPEN_READONLY);
        SQLite::Statement tables(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
        std::size_t rows = 0;
        std::size_t smart_rows = 0;
        while (tables.executeStep()) {
            const std::string table = tables.getColumn(0).getString();
            if (table.rfind("internal::", 0) == 0) {
                continue;
            }
            SQLite::Statement query(db, "SELECT key, value FROM \"" + table + "\"");
            while (query.executeStep()) {
                const std::string key = query.getColumn(0).getString();
                CAPTURE(table);
                CAPTURE(key);
                const SQLite::Column column = query.getColumn(1);
                const std::string text(static_cast<const char*>(column.getBlob()),
                                       static_cast<std::size_t>(column.getBytes()));
                auto found = expected.find({table, key});
                REQUIRE(found != expected.end());
                const nlohmann::json& row = found->second;

                const enmap::Encoding detected = enmap::detect_encoding(text);
                if (generation.at(name) == enmap::Encoding::k_serialize_javascript) {
                    CHECK(detected != enmap::Encoding::k_better_serialize);  // JSON is a subset of it
                    smart_rows += detected == enmap::Encoding::k_serialize_javascript ? 1 : 0;
                } else {
                    CHECK(detected == generation.at(name));
                }
                auto decoded = decode_test::decode(text, generation.at(name), options);
                CHECK(nlohmann::json::parse(decoded.json) == row["value"]);
                CHECK(decoded.violations.empty());

                // Where the default policy must refuse, it does, naming a path.
                auto refused = decode_test::decode(text, generation.at(name), strict);
                const bool must_refuse = row.value("invalid_text", false) || row.value("has_function", false);
                CHECK(refused.violations.empty() == !must_refuse);
                ++rows;
                expected.erase(found);
            }
        }
        CHECK(expected.empty());  // every expected line was a row
        CHECK(rows > 100);
        if (name == "enmap-5.9") {
            CHECK(smart_rows > 50);
        }
    }
}
