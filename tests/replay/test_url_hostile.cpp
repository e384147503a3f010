// replay/url.cpp against hostile passwords: every printable ASCII character, the forms libpq reads
// differently from a pattern (an unencoded '?', a percent-encoded "password" key), and a real
// replay whose ledger and status output must not hold the password.

#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "replay/database_url.hpp"
#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "replay/url.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

using replay_test::query_value;
using replay_test::write_file;

namespace {

std::string encode_all(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

// Percent-encodes only what a URL's user info cannot hold as is.
std::string encode_reserved(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (std::isalnum(static_cast<unsigned char>(c)) ||
            std::string_view("-._~!$'()*+,;=").find(c) != std::string_view::npos) {
            out += c;
        } else {
            out += encode_all(std::string(1, c));
        }
    }
    return out;
}

std::string conninfo_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

void check_hidden(const std::string& shown, const std::string& password) {
    CAPTURE(shown);
    CHECK(shown.find(password) == std::string::npos);
    CHECK(shown.find(encode_reserved(password)) == std::string::npos);
    CHECK(shown.find(encode_all(password)) == std::string::npos);
}

std::vector<std::string> hostile_passwords() {
    std::vector<std::string> out;
    for (int c = 0x20; c < 0x7f; ++c) {
        out.push_back("Pw" + std::string(1, static_cast<char>(c)) + "x9");
    }
    std::string every;
    for (int c = 0x21; c < 0x7f; ++c) {
        every.push_back(static_cast<char>(c));
    }
    out.push_back(every);
    out.emplace_back("Sup3rS3cr3t?Pa55word");
    out.emplace_back("a/b@c?d=e&f");
    return out;
}

}  // namespace

TEST_CASE("url: no printable ASCII character in a password lets it through redaction") {
    for (const auto& password : hostile_passwords()) {
        CAPTURE(password);
        std::vector<std::string> urls = {
            "postgresql://alice:" + encode_reserved(password) + "@db.example.com:5432/app?sslmode=require",
            "postgresql://alice:" + encode_all(password) + "@db.example.com/app",
            "postgres://alice@db.example.com/app?sslmode=require&password=" + encode_all(password),
            "postgresql://alice@db.example.com/app?pass%77ord=" + encode_all(password),
            "host=db.example.com user=alice password=" + conninfo_quote(password) + " dbname=app",
        };
        for (const auto& url : urls) {
            CAPTURE(url);
            std::string redacted = replay::redact_url(url);
            check_hidden(redacted, password);
            CHECK(redacted.find("db.example.com") != std::string::npos);
            CHECK(replay::has_password(url));
            std::string message =
                "FATAL: password authentication failed for user \"alice\" (" + password + ") " + url;
            check_hidden(replay::redact_message(message, url), password);
        }
    }
}

TEST_CASE("url: forms that a pattern misreads are redacted the way libpq reads them") {
    // libpq ends the user info at '@' or '/', not at '?'.
    std::string url = "postgresql://bot:Sup3rS3cr3t?Pa55word@db.example.com/app";
    CHECK(replay::redact_url(url) == "postgresql://bot:***@db.example.com/app");
    // A percent-encoded keyword is still the password.
    CHECK(replay::redact_url("postgresql://bot@db/app?pass%77ord=hunter2") ==
          "postgresql://bot@db/app?pass%77ord=***");
    CHECK(replay::redact_url("postgresql://bot@db/app?sslpassword=hunter2") ==
          "postgresql://bot@db/app?sslpassword=***");
    // An unencoded '/' or '@' would make libpq read pieces of the password as host or database.
    for (const char* bad :
         {"postgresql://bot:se/cret@db.example.com/app", "postgresql://bot:se@cret@db.example.com/app"}) {
        CAPTURE(bad);
        CHECK(replay::redact_url(bad).find("cret") == std::string::npos);
        CHECK(replay::redact_message(
                  std::string("could not translate host name \"cret@db.example.com\": ") + bad, bad)
                  .find("cret") == std::string::npos);
        CHECK_THROWS_AS(replay::connect(bad), enmap::UsageError);
    }
    CHECK(replay::redact_url("not a conninfo 'string").find("not a conninfo") == std::string::npos);
    CHECK(!replay::has_password("postgresql://bot@db/app"));
}

TEST_CASE("url: a replay with a hostile password keeps it out of the ledger and status") {
    test_support::TestDatabase db;
    test_support::TempDir dir;
    std::string password = "Sup3rS3cr3t?Pa55/@:word%77'\"\\ &=x";
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("DROP ROLE IF EXISTS enmap_hostile_pw");
        tx.exec("CREATE ROLE enmap_hostile_pw LOGIN SUPERUSER PASSWORD " + tx.quote(password));
    }
    // The test cluster trusts local connections, so the password is carried but not needed.
    const std::string& base = db.url();
    std::string url =
        "postgresql://enmap_hostile_pw:" + encode_reserved(password) + "@" + base.substr(base.find('@') + 1);
    write_file(dir.path() / "dump.jsonl", "{\"table\":\"points\",\"key\":\"a\",\"value\":1}\n");
    replay::JsonlSource source(dir.path() / "dump.jsonl");
    replay::ReplayOptions options;
    options.database_url = url;
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    CHECK(report.status == "committed");
    std::string stored = query_value(db.url(), "SELECT database FROM enmap_migrate.runs");
    check_hidden(stored, password);
    CHECK(stored.find("***") != std::string::npos);

    auto status = test_support::run_cli({"status"}, {"DATABASE_URL=" + url});
    CHECK(status.status == 0);
    check_hidden(status.out + status.err, password);
    auto json = test_support::run_cli({"--json", "status"}, {"DATABASE_URL=" + url});
    check_hidden(json.out + json.err, password);
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("REASSIGN OWNED BY enmap_hostile_pw TO CURRENT_USER");
        tx.exec("DROP ROLE IF EXISTS enmap_hostile_pw");
    }
}

TEST_CASE("url: --database-file is read and --database with a password gets a warning") {
    test_support::TestDatabase db;
    test_support::TempDir dir;
    write_file(dir.path() / "db.url", db.url() + "\n");
    std::filesystem::permissions(dir.path() / "db.url",
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    auto r = test_support::run_cli({"--database-file", (dir.path() / "db.url").string(), "status"});
    CHECK(r.status == 0);
    CHECK(r.err.find("warn") == std::string::npos);
    auto missing = test_support::run_cli({"--database-file", (dir.path() / "none").string(), "status"});
    CHECK(missing.status == 3);
    CHECK(missing.err.find("none") != std::string::npos);
    const std::string& base = db.url();
    std::string with_password = "postgresql://postgres:Hunter2%3Fx@" + base.substr(base.find('@') + 1);
    auto warned = test_support::run_cli({"--database", with_password, "status"});
    CHECK(warned.err.find("ps") != std::string::npos);
    CHECK(warned.err.find("Hunter2") == std::string::npos);
    CHECK((warned.out + warned.err).find("Hunter2") == std::string::npos);
}

TEST_SUITE_END();
