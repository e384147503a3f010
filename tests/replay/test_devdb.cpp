// The embedded dev database, driven through the real binary.

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "tests/support.hpp"

TEST_CASE("devdb: start, connect, stop, restart on the same URL, destroy") {
    test_support::TempDir tmp;
    std::string dir = (tmp.path() / "devdb").string();

    auto before = test_support::run_cli({"--json", "devdb", "--dir", dir, "status"});
    CHECK(before.status == 3);
    CHECK(nlohmann::json::parse(before.out)["initialized"] == false);

    auto start = test_support::run_cli({"devdb", "--dir", dir, "start"});
    REQUIRE_MESSAGE(start.status == 0, start.err);
    std::string url = start.out.substr(0, start.out.find('\n'));
    CHECK(url.rfind("postgresql://postgres@127.0.0.1:", 0) == 0);
    CHECK(url.find(":5432/") == std::string::npos);
    CHECK(start.err.find("creating a private PostgreSQL cluster") != std::string::npos);
    {
        pqxx::connection conn(url);
        pqxx::work tx(conn);
        tx.exec("CREATE TABLE kept (n int)");
        tx.exec("INSERT INTO kept VALUES (42)");
        tx.commit();
    }
    auto status = test_support::run_cli({"--json", "devdb", "--dir", dir, "status"});
    CHECK(status.status == 0);
    auto s = nlohmann::json::parse(status.out);
    CHECK(s["running"] == true);
    CHECK(s["url"] == url);
    CHECK(std::filesystem::exists(std::filesystem::path(dir) / "server.log"));

    CHECK(test_support::run_cli({"devdb", "--dir", dir, "stop"}).status == 0);
    auto url_stopped = test_support::run_cli({"devdb", "--dir", dir, "url"});
    CHECK(url_stopped.status == 6);
    CHECK(url_stopped.err.find("not running") != std::string::npos);

    auto again = test_support::run_cli({"devdb", "--dir", dir, "start"});
    REQUIRE(again.status == 0);
    CHECK(again.out.substr(0, again.out.find('\n')) == url);
    {
        pqxx::connection conn(url);
        pqxx::work tx(conn);
        CHECK(tx.exec1("SELECT n FROM kept")[0].as<int>() == 42);
    }
    CHECK(test_support::run_cli({"devdb", "--dir", dir, "destroy"}).status == 0);
    CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("devdb: a missing server binary names scripts/bootstrap") {
    test_support::TempDir tmp;
    auto r = test_support::run_cli({"devdb", "--dir", (tmp.path() / "devdb").string(), "start"},
                                   {"ENMAP_MIGRATE_PG_BIN=/nonexistent/bin"});
    CHECK(r.status == 6);
    CHECK(r.err.find("scripts/bootstrap") != std::string::npos);
}
