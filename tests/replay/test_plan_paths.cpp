// replay/paths.cpp in plan.cpp and drizzle.cpp: every file a plan or a Drizzle journal names stays
// inside its folder, symbolic links resolved.

#include <doctest/doctest.h>

#include "enmap/error.hpp"
#include "replay/drizzle.hpp"
#include "replay/plan.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

using replay_test::write_file;
namespace fs = std::filesystem;

TEST_CASE("plan paths: absolute paths, .. and symbolic links out of the plan folder are refused") {
    test_support::TempDir dir;
    write_file(dir.path() / "outside.sql", "SELECT 1;\n");
    write_file(dir.path() / "plan/inside.sql", "SELECT 1;\n");
    fs::create_symlink(dir.path() / "outside.sql", dir.path() / "plan/link.sql");
    write_file(dir.path() / "plan/plan.json", R"({"modules":[{"name":"m","enmaps":["points"],
        "transform":["/etc/passwd", "../outside.sql", "link.sql", "inside.sql"]}]})");
    try {
        replay::load_plan(dir.path() / "plan");
        FAIL("expected the plan to be refused");
    } catch (const enmap::InputError& e) {
        std::string what = e.what();
        CHECK(what.find("/etc/passwd is outside the plan folder") != std::string::npos);
        CHECK(what.find("../outside.sql is outside the plan folder") != std::string::npos);
        CHECK(what.find("link.sql is outside the plan folder") != std::string::npos);
        CHECK(what.find("inside.sql is outside") == std::string::npos);
        CHECK(what.find("root:") == std::string::npos);  // nothing of /etc/passwd is echoed
    }
}

TEST_CASE("plan paths: a Drizzle journal tag that leaves the folder is refused") {
    test_support::TempDir dir;
    write_file(dir.path() / "evil.sql", "DROP TABLE everything;\n");
    for (std::string tag : {std::string("../evil"), (dir.path() / "evil").string()}) {
        CAPTURE(tag);
        write_file(dir.path() / "drizzle/meta/_journal.json",
                   R"({"dialect":"postgresql","entries":[{"idx":0,"when":1,"tag":")" + tag + R"("}]})");
        CHECK_THROWS_WITH_AS(replay::read_drizzle_folder(dir.path() / "drizzle"),
                             doctest::Contains("outside"), enmap::InputError);
    }
}
