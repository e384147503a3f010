// analyze/: the shapes inferred from databases written by real Enmap releases (tests/fixtures/) and
// by the sample bot, and from small hand-made tables for the rules the fixtures do not exercise.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "analyze/analyze.hpp"
#include "analyze/report.hpp"
#include "analyze/sketch.hpp"
#include "enmap/database.hpp"
#include "enmap/sample.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json analyze_db(const fs::path& path, const analyze::AnalyzeOptions& options = {}) {
    enmap::Database db(path);
    return analyze::analyze_source(db, db.autonum(), {"database", db.describe(), ""}, options);
}

json analyze_fixture(const std::string& name, const analyze::AnalyzeOptions& options = {}) {
    return analyze_db(test_support::fixture(name) / "enmap.sqlite", options);
}

const json& table_of(const json& shapes, const std::string& name) {
    for (const auto& t : shapes["tables"]) {
        if (t["name"] == name) {
            return t;
        }
    }
    FAIL("no table " << name);
    static json none;
    return none;
}

const json& path_of(const json& table, const std::string& path) {
    for (const auto& p : table["paths"]) {
        if (p["path"] == path) {
            return p;
        }
    }
    FAIL("no path " << path << " in " << table["name"]);
    static json none;
    return none;
}

const json* edge_of(const json& table, const std::string& kind) {
    for (const auto& e : table["edge_cases"]) {
        if (e["kind"] == kind) {
            return &e;
        }
    }
    return nullptr;
}

bool edge_has_key(const json& table, const std::string& kind, const std::string& key) {
    const json* e = edge_of(table, kind);
    if (e == nullptr) {
        return false;
    }
    for (const auto& x : (*e)["examples"]) {
        if (x["key"] == key) {
            return true;
        }
    }
    return false;
}

const json* relationship(const json& shapes, const std::string& from_table, const json& from,
                         const std::string& to_table) {
    for (const auto& r : shapes["relationships"]) {
        json f = r["from"];
        f.erase("table");
        if (r["from"]["table"] == from_table && r["to"]["table"] == to_table && f == from) {
            return &r;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("analyze: every fixture gives a versioned shapes.json with every table and row") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        json shapes = analyze_fixture(name);
        CHECK(shapes["version"] == analyze::k_shapes_version);
        enmap::Database db(test_support::fixture(name) / "enmap.sqlite");
        REQUIRE(shapes["tables"].size() == db.tables().size());
        std::uint64_t rows = 0;
        for (const auto& t : shapes["tables"]) {
            CHECK(t["rows"] == db.row_count(t["name"].get<std::string>()));
            CHECK(t["malformed_values"] == 0);
            CHECK(t["paths"][0]["path"] == "$");
            CHECK(t["paths"][0]["count"] == t["rows"]);
            rows += t["rows"].get<std::uint64_t>();
        }
        CHECK(shapes["summary"]["rows"] == rows);
    }
}

TEST_CASE("analyze: points keys are guild-user snowflake composites whose guild part repeats") {
    json shapes = analyze_fixture("enmap-6.1");
    const json& points = table_of(shapes, "points");
    const json& keys = points["keys"];
    CHECK(keys["dominant"] == "snowflake-snowflake");
    const json& pattern = keys["patterns"][0];
    CHECK(pattern["separator"] == "-");
    CHECK(pattern["share"] == 1.0);
    CHECK(pattern["parts"][0]["class"] == "snowflake");
    CHECK(pattern["parts"][0]["repeats"] == true);
    CHECK(pattern["parts"][0]["distinct"] == 3);  // the fixture's three guilds
    CHECK(pattern["parts"][1]["distinct"].get<int>() > 3);
    CHECK(table_of(shapes, "guildSettings")["keys"]["dominant"] == "snowflake");
    // tags are <guild>:<name>: a snowflake and free text around ':'
    CHECK(table_of(shapes, "tags")["keys"]["dominant"] == "snowflake:text");
    CHECK(table_of(shapes, "global")["keys"]["dominant"] == "text");
}

TEST_CASE("analyze: reminders' integer keys are checked against their internal::autonum counter") {
    json shapes = analyze_fixture("enmap-6.1");
    CHECK(shapes["autonum"]["reminders"] == 6);
    const json& keys = table_of(shapes, "reminders")["keys"];
    CHECK(keys["dominant"] == "integer");
    CHECK(keys["autonum"]["counter"] == 6);
    CHECK(keys["autonum"]["max_key"] == 6);
    CHECK(keys["autonum"]["consistent"] == true);
    CHECK(table_of(shapes, "points")["keys"]["autonum"].is_null());
}

TEST_CASE("analyze: the typed events give BigInt, Date, Map, Set and RegExp types") {
    json shapes = analyze_fixture("enmap-6.1");
    const json& economy = table_of(shapes, "economy");
    const json& bank = path_of(economy, "$.bank");
    CHECK(bank["types"]["BigInt"] == economy["rows"]);
    CHECK(bank["types"].size() == 1);
    CHECK(bank["bigints"]["past_int8"] == 0);
    const json& inventory = path_of(economy, "$.inventory");
    CHECK(inventory["types"]["Map"] == economy["rows"]);
    CHECK(inventory["objects"]["map_like"] == true);
    CHECK(path_of(economy, "$.inventory{}")["types"].contains("integer"));
    CHECK(path_of(economy, "$.inventory{#key}")["types"]["string"].get<int>() > 0);
    CHECK(path_of(economy, "$.daily")["types"].contains("Date"));

    const json& points = table_of(shapes, "points");
    CHECK(path_of(points, "$.lastSeen")["types"]["Date"] == points["rows"]);

    const json& root = path_of(table_of(shapes, "samples"), "$");
    for (const char* type : {"BigInt", "Map", "Set", "RegExp", "string", "object", "array"}) {
        CAPTURE(type);
        CHECK(root["types"].contains(type));
    }
}

TEST_CASE("analyze: Enmap 5.7's epoch-millisecond numbers, and the field missing from some rows") {
    json shapes = analyze_fixture("enmap-5.7");
    const json& last_seen = path_of(table_of(shapes, "points"), "$.lastSeen");
    CHECK(last_seen["types"]["integer"].get<int>() > 0);
    CHECK(last_seen["numbers"]["epoch_ms"] == last_seen["numbers"]["integers"]);
    CHECK(last_seen["numbers"]["past_int4"] == last_seen["numbers"]["integers"]);
    CHECK(last_seen["numbers"]["past_2_53"] == 0);

    // Enmap 5.7's JSON.stringify drops an undefined member: slowmode is missing from two rows
    const json& missing = path_of(table_of(shapes, "guildsettings"), "$.limits.slowmode");
    CHECK(missing["presence"].get<double>() < 0.5);
    CHECK(missing["presence"].get<double>() > 0.0);
    CHECK(!missing["types"].contains("undefined"));
    // Enmap 6.1 keeps it as undefined: present, but not in canonical JSON
    const json settings = table_of(analyze_fixture("enmap-6.1"), "guildSettings");
    const json& slowmode = path_of(settings, "$.limits.slowmode");
    CHECK(slowmode["presence"] == 1.0);
    CHECK(slowmode["types"]["undefined"] == 2);
    CHECK(slowmode["presence_json"].get<double>() < 0.5);
    CHECK(path_of(settings, "$.limits.maxWarns")["presence"] == 1.0);
    CHECK(path_of(settings, "$.autoRoles[]")["strings"]["classes"]["snowflake"].get<int>() > 0);
    CHECK(path_of(settings, "$.createdAt")["types"].contains("Date"));
    bool reviewed = false;
    for (const auto& point : analyze::review_points(settings)) {
        reviewed =
            reviewed || point.find("`$.limits.slowmode` is missing (or undefined) in") != std::string::npos;
    }
    CHECK(reviewed);
}

TEST_CASE("analyze: relationships: points' guild key part and $.guild are keys of guildSettings") {
    json shapes = analyze_fixture("enmap-6.1");
    const json* part = relationship(shapes, "points", {{"key_part", 0}, {"pattern", "snowflake-snowflake"}},
                                    "guildSettings");
    REQUIRE(part != nullptr);
    CHECK((*part)["share"] == 1.0);
    CHECK((*part)["foreign_key_candidate"] == true);
    const json* field = relationship(shapes, "points", {{"path", "$.guild"}}, "guildSettings");
    REQUIRE(field != nullptr);
    CHECK((*field)["foreign_key_candidate"] == true);
    // the user part is no guild
    CHECK(relationship(shapes, "points", {{"key_part", 1}, {"pattern", "snowflake-snowflake"}},
                       "guildSettings") == nullptr);
}

TEST_CASE("analyze: the contract's edge cases met, with their keys") {
    // Enmap 5.9 keeps a sparse array's holes; 6.1 writes them as undefined
    CHECK(edge_has_key(table_of(analyze_fixture("enmap-5.9"), "samples"), "sparse_array", "sparse"));
    const json samples = table_of(analyze_fixture("enmap-6.1"), "samples");
    CHECK(edge_has_key(samples, "undefined_element", "sparse"));
    CHECK(edge_has_key(samples, "undefined_dropped", "undefined-inside"));
    CHECK(edge_has_key(samples, "undefined_element", "undefined-inside"));
    CHECK(edge_has_key(samples, "nul", "nul-in-string"));
    CHECK(edge_of(samples, "function") == nullptr);
    CHECK(path_of(samples, "$[]")["count"].get<int>() > 0);

    // NaN, Infinity, an invalid Date, a Map with a number key, a function, SQL NULL: serialize-javascript
    test_support::TempDir tmp;
    test_support::write_enmap_db(tmp.path() / "enmap.sqlite",
                                 {{"odd",
                                   {{"nan", std::string(R"({"n":NaN,"i":Infinity})")},
                                    {"date", std::string(R"({"at":new Date("Invalid Date")})")},
                                    {"broken", std::string(R"({"at":new Date(NaN)})")},
                                    {"map", std::string(R"(new Map([[1,"one"],["two",2]]))")},
                                    {"fn", std::string(R"({"f":function () { return 1; }})")},
                                    {"lone", std::string(R"({"s":"a\ud800b"})")},
                                    {"gone", std::nullopt}}}});
    const json odd = table_of(analyze_db(tmp.path() / "enmap.sqlite"), "odd");
    CHECK(edge_has_key(odd, "nan", "nan"));
    CHECK(edge_has_key(odd, "infinity", "nan"));
    CHECK(edge_has_key(odd, "invalid_date", "date"));
    CHECK(edge_has_key(odd, "map_non_string_key", "map"));
    CHECK(edge_has_key(odd, "function", "fn"));
    CHECK(edge_has_key(odd, "sql_null_value", "gone"));
    CHECK(edge_has_key(odd, "malformed", "broken"));
    CHECK(edge_has_key(odd, "lone_surrogate", "lone"));
    CHECK(odd["malformed_values"] == 1);
    CHECK(odd["sql_null_values"] == 1);
    CHECK(path_of(odd, "$.f")["types"]["function"] == 1);
    CHECK(path_of(odd, "$.at")["dates"]["invalid"] == 1);
    CHECK(path_of(odd, "${#key}")["types"]["integer"] == 1);
}

TEST_CASE("analyze: mixed encodings, malformed values and map-like objects of plain JSON") {
    test_support::TempDir tmp;
    std::vector<test_support::EnmapRow> rows;
    for (int i = 0; i < 20; ++i) {
        std::string id = std::to_string(300000000000000000LL + static_cast<long long>(i) * 7919);
        rows.push_back({"user" + std::to_string(i), R"({"scores":{")" + id + R"(":)" + std::to_string(i) +
                                                        R"(},"lang":")" + (i % 2 == 0 ? "en" : "fr") +
                                                        R"("})"});
    }
    rows.push_back({"tagged", std::string(R"({"t":0,"v":{"lang":{"t":1,"v":"de"}}})")});
    rows.push_back({"broken", std::string(R"({"lang":)")});
    test_support::write_enmap_db(tmp.path() / "enmap.sqlite", {{"users", rows}});
    const json users = table_of(analyze_db(tmp.path() / "enmap.sqlite"), "users");
    CHECK(users["mixed_encodings"] == true);
    CHECK(users["encodings"]["json"] == 20);
    CHECK(users["encodings"]["better-serialize"] == 1);
    CHECK(users["malformed_values"] == 1);
    CHECK(edge_has_key(users, "malformed", "broken"));
    const json& scores = path_of(users, "$.scores");
    CHECK(scores["objects"]["map_like"] == true);
    CHECK(scores["objects"]["map_reason"] == "member names are ids");
    CHECK(path_of(users, "$.scores{}")["types"]["integer"] == 20);
    CHECK(path_of(users, "$.lang")["strings"]["enum"]["candidate"] == true);
    CHECK(path_of(users, "$.lang")["strings"]["enum"]["values"].size() == 3);
    // the key pattern: a text prefix and an integer
    CHECK(users["keys"]["dominant"] == "text");
}

TEST_CASE("analyze: string values are redacted unless examples are asked for") {
    const std::string path = "$.welcomeMessage";
    const json redacted = path_of(table_of(analyze_fixture("enmap-6.1"), "guildSettings"), path);
    REQUIRE(!redacted["examples"].empty());
    for (const auto& e : redacted["examples"]) {
        CHECK(!e.contains("value"));
        CHECK(e["length"].get<int>() > 0);
        CHECK(e["class"] == "text");
    }
    analyze::AnalyzeOptions options;
    options.examples = true;
    const json shown = path_of(table_of(analyze_fixture("enmap-6.1", options), "guildSettings"), path);
    for (const auto& e : shown["examples"]) {
        CHECK(e["value"].get<std::string>().find("Say hello to") == 0);
    }
    // numbers are not redacted
    const json level = path_of(table_of(analyze_fixture("enmap-6.1"), "points"), "$.level");
    CHECK(level["examples"][0].contains("value"));
}

TEST_CASE("analyze: the number of paths per table is capped, and the cap is reported") {
    analyze::AnalyzeOptions options;
    options.max_paths = 4;
    const json settings = table_of(analyze_fixture("enmap-6.1", options), "guildSettings");
    CHECK(settings["paths"].size() == 4);
    CHECK(settings["paths_capped"] == true);
    CHECK(settings["untracked_values"].get<int>() > 0);
    CHECK(table_of(analyze_fixture("enmap-6.1"), "guildSettings")["paths_capped"] == false);
}

TEST_CASE("analyze: the sample bot of every generation: snowflake keys, relationships, a report") {
    for (const char* generation : {"5.7", "5.9", "6"}) {
        CAPTURE(generation);
        test_support::TempDir tmp;
        enmap::SampleOptions sample;
        sample.generation = generation;
        sample.scale = 5;
        enmap::write_sample_database(tmp.path(), sample);
        json shapes = analyze_db(tmp.path() / "enmap.sqlite");
        const std::string target = "guildsettings";  // the sample bot's name in every generation
        CHECK(table_of(shapes, target)["keys"]["dominant"] == "snowflake");
        CHECK(table_of(shapes, "points")["keys"]["dominant"] == "snowflake-snowflake");
        const json* r =
            relationship(shapes, "points", {{"key_part", 0}, {"pattern", "snowflake-snowflake"}}, target);
        REQUIRE(r != nullptr);
        CHECK((*r)["share"] == 1.0);
        std::string html = analyze::render_html(shapes);
        CHECK(html.find("<svg") != std::string::npos);
        CHECK(html.find("http://") == std::string::npos);
        CHECK(html.find("https://") == std::string::npos);
        std::string md = analyze::render_markdown(shapes);
        CHECK(md.find("## Table `points`") != std::string::npos);
    }
}

TEST_CASE("analyze sketch: distinct counts are exact when small and within 3% when large") {
    analyze::DistinctCounter small;
    for (int i = 0; i < 200; ++i) {
        small.add(analyze::hash64(std::to_string(i % 100)));
    }
    CHECK(small.is_exact());
    CHECK(small.estimate() == 100);
    analyze::DistinctCounter large;
    for (int i = 0; i < 200000; ++i) {
        large.add(analyze::hash64(std::to_string(i)));
    }
    CHECK(!large.is_exact());
    CHECK(std::abs(static_cast<double>(large.estimate()) - 200000.0) < 200000.0 * 0.03);
    analyze::Log2Histogram h;
    h.add(0);
    h.add(1);
    h.add(5);
    CHECK(h.counts()[0] == 1);
    CHECK(h.counts()[1] == 1);
    CHECK(h.counts()[3] == 1);
    CHECK(analyze::Log2Histogram::bucket_min(3) == 4);
    CHECK(analyze::Log2Histogram::bucket_max(3) == 7);
}

TEST_CASE("analyze: an integer field relates to an autonum table only when it is named after it") {
    test_support::TempDir tmp;
    std::vector<test_support::EnmapRow> reminders;
    std::vector<test_support::EnmapRow> logs;
    for (int i = 1; i <= 12; ++i) {
        reminders.push_back({std::to_string(i), R"({"due":1})"});
        logs.push_back({"log" + std::to_string(i), R"({"reminderId":)" + std::to_string(i % 10 + 1) +
                                                       R"(,"count":)" + std::to_string(i) + "}"});
    }
    test_support::write_enmap_db(tmp.path() / "enmap.sqlite", {{"reminders", reminders}, {"logs", logs}});
    json shapes = analyze_db(tmp.path() / "enmap.sqlite");
    const json* named = relationship(shapes, "logs", {{"path", "$.reminderId"}}, "reminders");
    REQUIRE(named != nullptr);
    CHECK((*named)["share"] == 1.0);
    CHECK(relationship(shapes, "logs", {{"path", "$.count"}}, "reminders") == nullptr);
    CHECK(table_of(shapes, "reminders")["keys"]["autonum"]["counter"].is_null());
    CHECK(table_of(shapes, "reminders")["keys"]["autonum"]["integer_keys"] == 12);
}

TEST_CASE("analyze: an object whose member names vary from row to row becomes map-like") {
    test_support::TempDir tmp;
    std::vector<test_support::EnmapRow> rows;
    rows.reserve(80);
    for (int i = 0; i < 80; ++i) {
        rows.push_back({"g" + std::to_string(i),
                        R"({"name":"x","perks":{"perk_)" + std::to_string(i) + R"(":true,"base":1}})"});
    }
    test_support::write_enmap_db(tmp.path() / "enmap.sqlite", {{"guilds", rows}});
    const json guilds = table_of(analyze_db(tmp.path() / "enmap.sqlite"), "guilds");
    const json& perks = path_of(guilds, "$.perks");
    CHECK(perks["objects"]["map_like"] == true);
    CHECK(perks["objects"]["map_reason"] == "more than 64 distinct member names");
    CHECK(perks["objects"]["distinct_member_names"].is_null());
    // members seen once the object was known to be map-like share one path
    CHECK(path_of(guilds, "$.perks{}")["types"]["boolean"].get<int>() > 0);
    CHECK(path_of(guilds, "$.perks.base")["count"] == 80);  // a member seen before keeps its path
    CHECK(path_of(guilds, "$.name")["presence"] == 1.0);
    CHECK(perks["objects"]["map_like"] == true);
}
