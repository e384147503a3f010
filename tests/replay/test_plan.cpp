// replay/plan.cpp and replay/drizzle.cpp: the plan folder, its checks, and plan init.

#include <doctest/doctest.h>

#include "enmap/error.hpp"
#include "replay/drizzle.hpp"
#include "replay/plan.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

using replay_test::write_file;

namespace {
std::vector<replay::SourceTable> tables_of(std::initializer_list<const char*> names) {
    std::vector<replay::SourceTable> out;
    for (const char* n : names) {
        replay::SourceTable t;
        t.enmap_name = n;
        t.rows = 1;
        out.push_back(t);
    }
    return out;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const enmap::Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("plan: a plan folder loads with modules in order and a digest of its files") {
    test_support::TempDir dir;
    write_file(dir.path() / "plan.json", R"({"version":1,"modules":[
        {"name":"settings","enmaps":["global","guildSettings"],"transform":["settings.sql"],"verify":["settings_check.sql"],"notes":"low risk"},
        {"name":"levels","enmaps":["points"]}]})");
    write_file(dir.path() / "settings.sql", "CREATE TABLE settings AS SELECT * FROM raw_global;\n");
    write_file(dir.path() / "settings_check.sql", "SELECT 1 WHERE false;\n");
    auto plan = replay::load_plan(dir.path());
    REQUIRE(plan.modules.size() == 2);
    CHECK(plan.modules[0].name == "settings");
    CHECK(plan.modules[0].enmaps == std::vector<std::string>{"global", "guildSettings"});
    CHECK(plan.modules[0].transform.size() == 1);
    CHECK(plan.modules[0].notes == "low risk");
    CHECK(plan.modules[1].transform.empty());
    CHECK(plan.digest.size() == 64);
    replay::check_plan(plan, tables_of({"global", "guildSettings", "points"}));

    // Changing a referenced file changes the digest.
    write_file(dir.path() / "settings.sql", "CREATE TABLE settings2 AS SELECT * FROM raw_global;\n");
    CHECK(replay::load_plan(dir.path()).digest != plan.digest);
}

TEST_CASE("plan: missing files, unknown and doubled enmaps are all reported at once") {
    test_support::TempDir dir;
    write_file(dir.path() / "plan.json", R"({"modules":[
        {"name":"a","enmaps":["global","ghost"],"transform":["missing.sql"]},
        {"name":"b","enmaps":["global"]}]})");
    std::string load_error = error_of([&] { replay::load_plan(dir.path()); });
    CHECK(load_error.find("missing.sql") != std::string::npos);
    std::remove((dir.path() / "plan.json").c_str());
    write_file(dir.path() / "plan.json",
               R"({"modules":[{"name":"a","enmaps":["global","ghost"]},{"name":"b","enmaps":["global"]}]})");
    auto plan = replay::load_plan(dir.path());
    std::string check_error = error_of([&] { replay::check_plan(plan, tables_of({"global", "points"})); });
    CHECK(check_error.find("'ghost'") != std::string::npos);
    CHECK(check_error.find("'global' is in two modules: 'a' and 'b'") != std::string::npos);
    CHECK(check_error.find("'points' is in no module") != std::string::npos);
}

TEST_CASE("plan: a malformed Drizzle journal is refused before anything runs") {
    test_support::TempDir dir;
    write_file(dir.path() / "plan.json",
               R"({"drizzle":"drizzle","modules":[{"name":"a","enmaps":["global"]}]})");
    write_file(dir.path() / "drizzle/meta/_journal.json", R"({"entries":[{"tag":"0000_init"}]})");
    CHECK(error_of([&] { replay::load_plan(dir.path()); }).find("integer \"when\"") != std::string::npos);
    write_file(dir.path() / "drizzle/meta/_journal.json",
               R"({"entries":[{"idx":0,"when":1700000000000,"tag":"0000_init"}]})");
    CHECK(error_of([&] { replay::load_plan(dir.path()); }).find("0000_init.sql does not exist") !=
          std::string::npos);
    write_file(dir.path() / "drizzle/meta/_journal.json", "{not json");
    CHECK(error_of([&] { replay::load_plan(dir.path()); }).find("malformed JSON") != std::string::npos);
}

TEST_CASE("drizzle: statements split on breakpoints, hash is SHA-256 of the file bytes") {
    test_support::TempDir dir;
    std::string sql = "CREATE TABLE a (id int);\n--> statement-breakpoint\nCREATE TABLE b (id int);\n";
    write_file(dir.path() / "0000_first.sql", sql);
    write_file(
        dir.path() / "meta/_journal.json",
        R"({"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1712345678901,"tag":"0000_first","breakpoints":true}]})");
    auto migrations = replay::read_drizzle_folder(dir.path());
    REQUIRE(migrations.size() == 1);
    CHECK(migrations[0].when == 1712345678901);
    CHECK(migrations[0].statements.size() == 2);
    // sha256 of the exact bytes above, computed with `printf ... | sha256sum`.
    CHECK(migrations[0].hash == "264dc79c83942dd8ded2507a030c7093ae0443e5a3ec197b2e6b4962dbc2d18f");
}

TEST_CASE("plan: plan init writes a plan that loads and fits its source") {
    test_support::TempDir dir;
    auto tables = tables_of({"global", "guildSettings"});
    std::map<std::string, std::string> names = {{"global", "raw_global"},
                                                {"guildSettings", "raw_guild_settings"}};
    replay::write_starter_plan(dir.path() / "plan", tables, names);
    auto plan = replay::load_plan(dir.path() / "plan");
    REQUIRE(plan.modules.size() == 2);
    CHECK(plan.modules[1].name == "guild_settings");
    CHECK(plan.modules[1].transform.size() == 1);
    CHECK(test_support::read_file(plan.modules[1].transform[0]).find("raw_guild_settings") !=
          std::string::npos);
    replay::check_plan(plan, tables);
    CHECK_THROWS_AS(replay::write_starter_plan(dir.path() / "plan", tables, names), enmap::InputError);
}
