// replay/url.cpp: passwords never reach a log, an error or the ledger.

#include <doctest/doctest.h>

#include "enmap/error.hpp"
#include "replay/url.hpp"

TEST_CASE("url: redact_url masks the password in every libpq form") {
    CHECK(replay::redact_url("postgresql://alice:s3cr3t@db.example.com:5432/app") ==
          "postgresql://alice:***@db.example.com:5432/app");
    CHECK(replay::redact_url(
              "postgres://alice:p%40ss@ep-cool-1.eu-central-1.aws.neon.tech/neondb?sslmode=require&"
              "channel_binding=require") ==
          "postgres://alice:***@ep-cool-1.eu-central-1.aws.neon.tech/"
          "neondb?sslmode=require&channel_binding=require");
    CHECK(replay::redact_url("postgresql://alice@host/db?password=hunter2&sslmode=require") ==
          "postgresql://alice@host/db?password=***&sslmode=require");
    CHECK(replay::redact_url("host=localhost user=alice password=hunter2 dbname=app") ==
          "host=localhost user=alice password=*** dbname=app");
    CHECK(replay::redact_url("host=localhost password='two words' dbname=app") ==
          "host=localhost password='***' dbname=app");
    CHECK(replay::redact_url("postgresql://alice@host/db") == "postgresql://alice@host/db");
}

TEST_CASE("url: redact_message masks raw and percent-decoded passwords in messages") {
    std::string url = "postgresql://alice:p%40ss%2Fword@host/db";
    std::string msg = "FATAL: password authentication failed; tried p@ss/word and p%40ss%2Fword";
    std::string out = replay::redact_message(msg, url);
    CHECK(out.find("p@ss/word") == std::string::npos);
    CHECK(out.find("p%40ss%2Fword") == std::string::npos);
    CHECK(out.find("***") != std::string::npos);
}

TEST_CASE("url: a failed connection names the server but not the password") {
    std::string url = "postgresql://alice:TopSecret99@127.0.0.1:1/app?connect_timeout=2";
    try {
        replay::connect(url);
        FAIL("expected a connection error");
    } catch (const enmap::DatabaseError& e) {
        std::string what = e.what();
        CHECK(what.find("TopSecret99") == std::string::npos);
        CHECK(what.find("127.0.0.1:1") != std::string::npos);
        CHECK(!e.hint().empty());
    }
}
