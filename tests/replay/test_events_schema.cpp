// docs/events.schema.json: every JSON-lines event that real replay and rehearse runs emit
// validates against the documented, versioned schema.

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/replay/json_schema_subset.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

using test_support::run_cli;

namespace {

schema_subset::Validator events_schema() {
    std::ifstream in(test_support::source_dir() / "docs" / "events.schema.json");
    return schema_subset::Validator(nlohmann::json::parse(in));
}

// Validates every line of `out`; counts the events by name into `seen`.
void validate_lines(const schema_subset::Validator& schema, const std::string& out,
                    std::map<std::string, int>& seen) {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty()) {
            continue;
        }
        auto event = nlohmann::json::parse(line);
        auto errors = schema.errors(event);
        CAPTURE(line);
        for (const auto& e : errors) {
            CAPTURE(e);
        }
        CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
        seen[event.value("event", "?")]++;
        CHECK(event["schema"] == "enmap-migrate/events");
        CHECK(event["v"] == 1);
    }
}

}  // namespace

TEST_CASE("events: the validator refuses what the schema does not allow") {
    auto schema = events_schema();
    nlohmann::json good = {{"schema", "enmap-migrate/events"},
                           {"v", 1},
                           {"event", "phase"},
                           {"phase", "preflight"},
                           {"time", "2026-12-03T17:00:00.000Z"}};
    CHECK(schema.errors(good).empty());
    auto no_version = good;
    no_version.erase("v");
    CHECK(!schema.errors(no_version).empty());
    auto extra = good;
    extra["undocumented"] = 1;
    CHECK(!schema.errors(extra).empty());
    auto bad_phase = good;
    bad_phase["phase"] = "lunch";
    CHECK(!schema.errors(bad_phase).empty());
    auto bad_time = good;
    bad_time["time"] = "yesterday";
    CHECK(!schema.errors(bad_time).empty());
    auto unknown = good;
    unknown["event"] = "party";
    CHECK(!schema.errors(unknown).empty());
}

TEST_CASE("events: every event of real replay and rehearse runs validates against docs/events.schema.json") {
    auto schema = events_schema();
    std::map<std::string, int> seen;
    test_support::TempDir dir;

    // A replay with a Drizzle folder, a module that commits and one whose verify query fails
    // (--keep-going commits the rest).
    {
        test_support::TestDatabase db;
        replay_test::write_file(dir.path() / "dump.jsonl", R"({"table":"points","key":"k1","value":{"xp":3}})"
                                                           "\n"
                                                           R"({"table":"points","key":"k2","value":{"xp":5}})"
                                                           "\n"
                                                           R"({"table":"tags","key":"t1","value":"hello"})"
                                                           "\n");
        auto plan = dir.path() / "plan";
        replay_test::write_file(plan / "drizzle/0000_init.sql",
                                "CREATE TABLE \"levels\" (\"id\" text PRIMARY KEY);");
        replay_test::write_file(
            plan / "drizzle/meta/_journal.json",
            R"({"version":"7","dialect":"postgresql","entries":[{"idx":0,"version":"7","when":1717000000000,"tag":"0000_init","breakpoints":true}]})");
        replay_test::write_file(plan / "plan.json", R"({"drizzle":"drizzle","modules":[
            {"name":"points","enmaps":["points"]},
            {"name":"tags","enmaps":["tags"],"verify":["tags_verify.sql"]}]})");
        replay_test::write_file(plan / "tags_verify.sql", "SELECT key FROM raw_tags;\n");
        auto r = run_cli({"--database", db.url(), "--json", "replay", "--source-jsonl",
                          (dir.path() / "dump.jsonl").string(), "--plan", plan.string(), "--keep-going"});
        CAPTURE(r.err);
        CHECK(r.status == 8);
        validate_lines(schema, r.out, seen);
    }

    // Two rehearsals of a snapshot: the second rolls the first back.
    {
        test_support::TestDatabase db;
        auto store = (dir.path() / "store").string();
        auto data = dir.path() / "data";
        REQUIRE(
            run_cli({"sample-data", "--generation", "6", "--scale", "2", "--out", data.string()}).status ==
            0);
        REQUIRE(run_cli({"--store", store, "snapshot", "create", "--data-dir", data.string(), "--label", "r"})
                    .status == 0);
        auto plan = (dir.path() / "rplan").string();
        REQUIRE(run_cli({"--store", store, "plan", "init", "--snapshot", "r", "--out", plan}).status == 0);
        for (int i = 0; i < 2; ++i) {
            auto r = run_cli({"--store", store, "--json", "rehearse", "--snapshot", "r", "--plan", plan,
                              "--database", db.url(), "--invalid-text", "replace", "--functions", "source"});
            CAPTURE(r.err);
            CHECK(r.status == 0);
            validate_lines(schema, r.out, seen);
        }
    }

    for (const char* name : {"phase", "module_started", "progress", "module_finished", "module_failed",
                             "run_finished", "report"}) {
        CAPTURE(name);
        CHECK(seen[name] > 0);
    }
    CHECK(seen.size() == 7);
}

TEST_SUITE_END();
