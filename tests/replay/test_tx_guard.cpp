// replay/tx_guard.cpp and sql_text.cpp's transaction_control: plan and Drizzle SQL cannot end
// replay's one transaction, and what an escaped COMMIT committed can be rolled back.

#include <doctest/doctest.h>

#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "replay/ledger.hpp"
#include "replay/sql_text.hpp"
#include "replay/tx_guard.hpp"
#include "rollback/postgres.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

using replay_test::query_value;
using replay_test::user_relations;
using replay_test::write_file;

namespace {

std::filesystem::path write_points(const std::filesystem::path& dir, int count) {
    std::string text;
    for (int i = 0; i < count; ++i) {
        text += R"({"table":"points","key":"k)" + std::to_string(i) + R"(","value":{"xp":)" +
                std::to_string(i) + "}}\n";
    }
    text += R"({"table":"internal::autonum","key":"points","value":)" + std::to_string(count) + "}\n";
    write_file(dir / "dump.jsonl", text);
    return dir / "dump.jsonl";
}

bool ledger_schema(const std::string& url) {
    return query_value(url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'enmap_migrate'") == "1";
}

}  // namespace

TEST_CASE("tx_guard: transaction control is recognized, bodies, strings and comments are not") {
    for (const char* sql : {"BEGIN",
                            "begin transaction isolation level serializable",
                            "COMMIT",
                            "commit and chain",
                            "END",
                            "ROLLBACK",
                            "ABORT",
                            "START TRANSACTION",
                            "SAVEPOINT a",
                            "RELEASE SAVEPOINT a",
                            "ROLLBACK TO SAVEPOINT a",
                            "PREPARE TRANSACTION 'x'",
                            "COMMIT PREPARED 'x'",
                            "ROLLBACK PREPARED 'x'",
                            "VACUUM",
                            "vacuum analyze t",
                            "CREATE INDEX CONCURRENTLY i ON t (a)",
                            "create unique index concurrently i on t (a)",
                            "DROP INDEX CONCURRENTLY i",
                            "REINDEX TABLE CONCURRENTLY t",
                            "CREATE DATABASE d",
                            "DROP DATABASE d",
                            "CREATE TABLESPACE s LOCATION '/x'",
                            "ALTER SYSTEM SET a = 1",
                            "DISCARD ALL",
                            "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
                            "/* lead */ -- comment\n  Commit"}) {
        CAPTURE(sql);
        CHECK(!replay::transaction_control(sql).empty());
    }
    for (const char* sql :
         {"CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN COMMIT; RETURN NULL; END $$ LANGUAGE plpgsql",
          "DO $body$ BEGIN PERFORM 1; END $body$", "SELECT 'COMMIT'", "SELECT \"begin\" FROM t",
          "-- COMMIT\nSELECT 1", "CREATE INDEX i ON t (a)", "CREATE TABLE commit_log (id int)",
          "INSERT INTO t VALUES ('BEGIN; COMMIT;')", "ALTER DATABASE d SET work_mem = '64MB'",
          "REFRESH MATERIALIZED VIEW CONCURRENTLY v"}) {
        CAPTURE(sql);
        CHECK(replay::transaction_control(sql).empty());
    }
    // A body between dollar quotes is one statement, whose END is not a statement of its own.
    auto statements = replay::split_sql(
        "CREATE FUNCTION g() RETURNS int AS $$\nBEGIN\n  RETURN 1;\nEND;\n$$ LANGUAGE plpgsql;\nSELECT "
        "g();\n");
    REQUIRE(statements.size() == 2);
    CHECK(replay::transaction_control(statements[0].sql).empty());
}

TEST_CASE("tx_guard: a transform wrapped in BEGIN; ... COMMIT; is refused before anything is written") {
    test_support::TempDir dir;
    auto dump = write_points(dir.path(), 30);
    write_file(dir.path() / "plan/plan.json",
               R"({"modules":[{"name":"levels","enmaps":["points"],"transform":["levels.sql"]}]})");
    write_file(
        dir.path() / "plan/levels.sql",
        "-- the usual migration file\nBEGIN;\nCREATE TABLE levels (id text PRIMARY KEY, xp int);\n"
        "CREATE FUNCTION touch() RETURNS trigger AS $$\nBEGIN\n  RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql;\n"
        "INSERT INTO levels SELECT key, (value->>'xp')::int FROM raw_points;\nCOMMIT;\n");
    for (bool dry_run : {false, true}) {
        CAPTURE(dry_run);
        test_support::TestDatabase db;
        replay::JsonlSource source(dump);
        replay::ReplayOptions options;
        options.database_url = db.url();
        options.plan_dir = dir.path() / "plan";
        options.dry_run = dry_run;
        replay::Events events;
        try {
            replay::run_replay(source, options, events);
            FAIL("expected preflight to refuse the plan");
        } catch (const enmap::InputError& e) {
            std::string what = e.what();
            CHECK(what.find("levels.sql:2: BEGIN") != std::string::npos);
            CHECK(what.find("levels.sql:10: COMMIT") != std::string::npos);
            CHECK(what.find("levels.sql:5") == std::string::npos);  // the function body's BEGIN
        }
        CHECK(user_relations(db.url()) == 0);
        CHECK(!ledger_schema(db.url()));
    }
}

TEST_CASE("tx_guard: a Drizzle migration holding COMMIT is refused, also in a dry run") {
    test_support::TempDir dir;
    auto dump = write_points(dir.path(), 10);
    write_file(dir.path() / "plan/drizzle/0000_init.sql",
               "CREATE TABLE \"levels\" (\"id\" text PRIMARY KEY NOT NULL);\n");
    write_file(dir.path() / "plan/drizzle/0001_more.sql",
               "ALTER TABLE \"levels\" ADD COLUMN \"xp\" integer;--> statement-breakpoint\nCOMMIT;"
               "--> statement-breakpoint\nCREATE INDEX \"levels_xp\" ON \"levels\" (\"xp\");\n");
    write_file(dir.path() / "plan/drizzle/meta/_journal.json",
               R"({"version":"7","dialect":"postgresql","entries":[
        {"idx":0,"version":"7","when":1717000000000,"tag":"0000_init","breakpoints":true},
        {"idx":1,"version":"7","when":1717000100000,"tag":"0001_more","breakpoints":true}]})");
    write_file(dir.path() / "plan/plan.json",
               R"({"drizzle":"drizzle","modules":[{"name":"points","enmaps":["points"]}]})");
    for (bool dry_run : {true, false}) {
        CAPTURE(dry_run);
        test_support::TestDatabase db;
        replay::JsonlSource source(dump);
        replay::ReplayOptions options;
        options.database_url = db.url();
        options.plan_dir = dir.path() / "plan";
        options.dry_run = dry_run;
        replay::Events events;
        CHECK_THROWS_WITH_AS(replay::run_replay(source, options, events),
                             doctest::Contains("0001_more.sql:2: COMMIT"), enmap::InputError);
        CHECK(query_value(db.url(), "SELECT to_regclass('drizzle.__drizzle_migrations') IS NULL") == "t");
        CHECK(user_relations(db.url()) == 0);
    }
}

TEST_CASE("tx_guard: a COMMIT that gets past preflight is caught, recorded and can be rolled back") {
    test_support::TestDatabase db;
    std::int64_t run_id = 0;
    replay::TransactionGuard guard;
    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        replay::ensure_ledger(tx);
        replay::RunRecord run{"src", "test",  "digest", "", "replay", "db", replay::catalog_fingerprint(tx),
                              {},    "replay"};
        run_id = replay::begin_run(tx, run);
        guard.start(tx);
        tx.exec("CREATE TABLE raw_points (key text PRIMARY KEY, value jsonb NOT NULL)");
        tx.exec("INSERT INTO raw_points VALUES ('a', '1'), ('b', '2')");
        guard.check(tx, "t.sql:1", "levels");  // still replay's own
        tx.exec("CREATE TABLE levels (id text)");
        tx.exec("COMMIT");
        CHECK_THROWS_AS(guard.check(tx, "t.sql:3", "levels"), replay::TransactionEscaped);
        tx.exec("BEGIN");
        tx.exec("SELECT 1");
        CHECK_THROWS_AS(guard.check(tx, "t.sql:4", "levels"), replay::TransactionEscaped);
    }
    auto what = guard.record_escape(db.url(), run_id, {}, "levels", "escaped at t.sql:3");
    CHECK(what.find("table raw_points") != std::string::npos);
    CHECK(what.find("table levels") != std::string::npos);
    CHECK(what.find("run " + std::to_string(run_id)) != std::string::npos);
    CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs") == "partial");

    rollback::PostgresOptions options;
    options.database_url = db.url();
    auto report = rollback::rollback_postgres(options);
    CHECK(report.status == "rolled_back");
    CHECK(user_relations(db.url()) == 0);
}

TEST_CASE("tx_guard: a ROLLBACK that gets past preflight reports that nothing was committed") {
    test_support::TestDatabase db;
    std::int64_t run_id = 0;
    replay::TransactionGuard guard;
    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        replay::ensure_ledger(tx);
        replay::RunRecord run{"src", "test", "digest", "", "dry-run", "db", "", {}, "dry-run"};
        run_id = replay::begin_run(tx, run);
        guard.start(tx);
        tx.exec("CREATE TABLE raw_points (key text PRIMARY KEY, value jsonb NOT NULL)");
        tx.exec("ROLLBACK");
        CHECK_THROWS_AS(guard.check(tx, "t.sql:2", "levels"), replay::TransactionEscaped);
    }
    auto what = guard.record_escape(db.url(), run_id, {}, "levels", "escaped");
    CHECK(what.find("nothing was committed") != std::string::npos);
    CHECK(user_relations(db.url()) == 0);
}

TEST_CASE("tx_guard: a COMMIT after an E'\\'' string is a statement of its own") {
    auto statements = replay::split_sql("SELECT E'it\\'s';\nCOMMIT;\nSELECT 'a''b';\n");
    REQUIRE(statements.size() == 3);
    CHECK(statements[1].line == 2);
    CHECK(replay::transaction_control(statements[1].sql) == "COMMIT");
    CHECK(replay::sql_keywords("SELECT E'\\'' , x").back() == "X");
}

TEST_SUITE_END();
