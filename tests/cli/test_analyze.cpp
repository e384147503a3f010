// enmap-migrate analyze, end to end through the real binary: the three files it writes, from a
// database, from export files and from a snapshot; redaction; --json; the exit statuses.

#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "enmap/sample.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::run_cli;
using test_support::TempDir;

namespace {

bool contains(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

std::string fixture_db(const std::string& name) {
    return (test_support::fixture(name) / "enmap.sqlite").string();
}

}  // namespace

TEST_CASE("cli analyze --db: writes shapes.json, report.md and a self-contained report.html") {
    TempDir tmp;
    fs::path out = tmp.path() / "analysis";
    auto r = run_cli({"analyze", "--db", fixture_db("enmap-6.1"), "--out", out.string()});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK(contains(r.out, "analyzed "));
    CHECK(contains(r.out, "points: 60 rows, keys snowflake-snowflake"));
    json shapes = json::parse(test_support::read_file(out / "shapes.json"));
    CHECK(shapes["version"] == 1);
    CHECK(shapes["source"]["kind"] == "database");
    CHECK(shapes["options"]["examples"] == false);
    std::string md = test_support::read_file(out / "report.md");
    CHECK(contains(md, "## Table `points`"));
    CHECK(contains(md, "## Relationships"));
    std::string html = test_support::read_file(out / "report.html");
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(contains(html, "<svg"));
    CHECK(contains(html, "<style>"));
    CHECK(!contains(html, "http://"));
    CHECK(!contains(html, "https://"));
    CHECK(!contains(html, "<script"));
    CHECK(!contains(html, "<link"));
    CHECK(!contains(html, "src="));
    // redacted by default: no string value of the data appears anywhere
    for (const auto& file : {"shapes.json", "report.md", "report.html"}) {
        CAPTURE(file);
        CHECK(!contains(test_support::read_file(out / file), "Say hello to"));
    }
    auto shown = run_cli(
        {"analyze", "--db", fixture_db("enmap-6.1"), "--out", (tmp.path() / "shown").string(), "--examples"});
    REQUIRE_MESSAGE(shown.status == 0, shown.err);
    CHECK(contains(test_support::read_file(tmp.path() / "shown" / "report.md"), "Say hello to"));
    CHECK(contains(test_support::read_file(tmp.path() / "shown" / "report.html"), "Say hello to"));
}

TEST_CASE("cli analyze --json prints shapes.json; --export reads export() files") {
    TempDir tmp;
    std::vector<std::string> args = {"--json", "analyze", "--out", (tmp.path() / "a").string()};
    for (const auto& entry : fs::directory_iterator(test_support::fixture("enmap-6.1") / "exports")) {
        args.push_back("--export");
        args.push_back(entry.path().string());
    }
    auto r = run_cli(args);
    REQUIRE_MESSAGE(r.status == 0, r.err);
    json shapes = json::parse(r.out);
    CHECK(shapes == json::parse(test_support::read_file(tmp.path() / "a" / "shapes.json")));
    CHECK(shapes["source"]["kind"] == "export");
    bool points = false;
    for (const auto& t : shapes["tables"]) {
        if (t["name"] == "points") {
            points = true;
            CHECK(t["keys"]["dominant"] == "snowflake-snowflake");
        }
    }
    CHECK(points);
}

TEST_CASE("cli analyze --snapshot: a snapshot of the sample bot, with its relationships") {
    TempDir tmp;
    fs::path bot = tmp.path() / "bot";
    enmap::SampleOptions sample;
    sample.scale = 4;
    enmap::write_sample_database(bot, sample);
    std::string store = (tmp.path() / "store").string();
    auto created =
        run_cli({"--store", store, "snapshot", "create", "--data-dir", bot.string(), "--label", "s1"});
    REQUIRE_MESSAGE(created.status == 0, created.err);
    auto r = run_cli(
        {"--store", store, "--json", "analyze", "--snapshot", "s1", "--out", (tmp.path() / "a").string()});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    json shapes = json::parse(r.out);
    CHECK(shapes["source"]["kind"] == "snapshot");
    CHECK(shapes["source"]["snapshot"].get<std::string>().size() == 64);
    CHECK(contains(shapes["source"]["description"].get<std::string>(), "(s1)"));
    bool found = false;
    for (const auto& rel : shapes["relationships"]) {
        found = found || (rel["from"]["table"] == "points" && rel["to"]["table"] == "guildsettings" &&
                          rel["foreign_key_candidate"] == true);
    }
    CHECK(found);
}

TEST_CASE("cli analyze: exit statuses") {
    TempDir tmp;
    auto none = run_cli({"analyze", "--out", (tmp.path() / "a").string()});
    CHECK(none.status == 2);
    CHECK(contains(none.err, "--snapshot REF, --db FILE or --export FILE"));
    auto missing = run_cli({"analyze", "--db", (tmp.path() / "nope.sqlite").string()});
    CHECK(missing.status == 3);
    auto table = run_cli({"analyze", "--db", fixture_db("enmap-6.1"), "--table", "nope", "--out",
                          (tmp.path() / "b").string()});
    CHECK(table.status == 3);
    auto snapshot = run_cli({"--store", (tmp.path() / "store").string(), "analyze", "--snapshot", "latest"});
    CHECK(snapshot.status == 5);
    fs::path file = tmp.path() / "file";
    std::ofstream(file) << "x";
    auto unwritable = run_cli({"analyze", "--db", fixture_db("enmap-6.1"), "--out", (file / "sub").string()});
    CHECK(unwritable.status == 3);
}
