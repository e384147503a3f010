// What `snapshot diff` and `snapshot show` print for people: rows added, removed and changed per
// table, and the tables of an --export snapshot.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {
// The line of the diff's table that starts with `name`, split into words.
std::vector<std::string> table_line(const std::string& out, const std::string& name) {
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string word; words >> word;) {
            w.push_back(word);
        }
        if (!w.empty() && w[0] == name) {
            return w;
        }
    }
    return {};
}
}  // namespace

TEST_CASE("cli snapshot diff: a table of rows added, removed and changed per table") {
    test_support::TempDir tmp;
    fs::path data = tmp.path() / "data";
    snapshot_test::copy_fixture("enmap-6.1", data);
    fs::path store = tmp.path() / "store";
    std::vector<std::string> s = {"--store", store.string()};
    auto snap = [&](std::vector<std::string> args) {
        args.insert(args.begin(), s.begin(), s.end());
        return run_cli(args);
    };
    REQUIRE(snap({"snapshot", "create", "--data-dir", data.string(), "--label", "pre"}).status == 0);
    {
        SQLite::Database handle((data / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
        handle.exec("INSERT INTO tags (key, value) VALUES ('new-1', '{\"t\":5}'), ('new-2', '{\"t\":6}')");
        handle.exec("DELETE FROM warnings WHERE key = (SELECT min(key) FROM warnings)");
        handle.exec("UPDATE points SET value = '{\"xp\":1}' WHERE key = (SELECT min(key) FROM points)");
    }
    REQUIRE(snap({"snapshot", "create", "--data-dir", data.string(), "--label", "now"}).status == 0);
    auto diff = snap({"snapshot", "diff", "pre", "now"});
    CAPTURE(diff.out);
    CAPTURE(diff.err);
    REQUIRE(diff.status == 0);
    CHECK(diff.out.find("added") != std::string::npos);
    CHECK(diff.out.find("\"rows\":") == std::string::npos);  // no manifest JSON
    auto tags = table_line(diff.out, "tags");
    REQUIRE(tags.size() == 6);
    CHECK(tags[3] == "2");  // added
    CHECK(tags[4] == "0");
    CHECK(tags[5] == "0");
    auto warnings = table_line(diff.out, "warnings");
    REQUIRE(warnings.size() == 6);
    CHECK(warnings[4] == "1");  // removed
    auto points = table_line(diff.out, "points");
    REQUIRE(points.size() == 6);
    CHECK(points[5] == "1");  // changed
    CHECK(diff.out.find("4 row(s) differ") != std::string::npos);

    auto json = snap({"--json", "snapshot", "diff", "pre", "now"});
    REQUIRE(json.status == 0);
    auto j = nlohmann::json::parse(json.out);
    CHECK(j.contains("tables"));  // the manifest comparison stays
    bool found = false;
    for (const auto& r : j["rows"]) {
        if (r["table"] == "tags") {
            found = r["added"] == 2 && r["removed"] == 0 && r["changed"] == 0;
        }
    }
    CHECK(found);
}

TEST_CASE("cli snapshot show: an --export snapshot lists its tables") {
    test_support::TempDir tmp;
    fs::path store = tmp.path() / "store";
    fs::path exports = test_support::fixture("enmap-6.1") / "exports";
    auto create = run_cli({"--store", store.string(), "snapshot", "create", "--export",
                           (exports / "points.json").string(), "--export", (exports / "tags.json").string(),
                           "--label", "exp"});
    CAPTURE(create.err);
    REQUIRE(create.status == 0);
    auto show = run_cli({"--store", store.string(), "snapshot", "show", "exp"});
    CAPTURE(show.err);
    REQUIRE(show.status == 0);
    CHECK(show.out.find("tables:") != std::string::npos);
    CHECK(show.out.find("  points  ") != std::string::npos);
    CHECK(show.out.find("  tags  ") != std::string::npos);
    auto json = run_cli({"--store", store.string(), "--json", "snapshot", "show", "exp"});
    REQUIRE(json.status == 0);
    auto j = nlohmann::json::parse(json.out);
    CHECK(j["tables"]["points"]["rows"].get<int>() > 0);
}
