// replay/engine.cpp: the server's statement_timeout and idle_in_transaction_session_timeout do not
// reach into replay's transaction (it sets both to 0 with SET LOCAL).

#include <doctest/doctest.h>

#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

TEST_CASE("replay: a database's statement and idle-in-transaction timeouts do not cut its transaction") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("ALTER DATABASE " + tx.quote_name(db.name()) + " SET statement_timeout = '1s'");
        tx.exec("ALTER DATABASE " + tx.quote_name(db.name()) +
                " SET idle_in_transaction_session_timeout = '1h'");
    }
    replay_test::write_file(dir.path() / "dump.jsonl", R"({"table":"points","key":"k1","value":{"xp":3}})"
                                                       "\n");
    auto plan = dir.path() / "plan";
    replay_test::write_file(plan / "plan.json", R"({"modules":[{"name":"points","enmaps":["points"],
        "transform":["slow.sql"],"verify":["settings.sql"]}]})");
    // Longer than the database's statement_timeout.
    replay_test::write_file(plan / "slow.sql", "SELECT pg_sleep(1.5);\n");
    replay_test::write_file(plan / "settings.sql",
                            "SELECT current_setting('statement_timeout') AS statement_timeout,\n"
                            "       current_setting('idle_in_transaction_session_timeout') AS idle\n"
                            "WHERE current_setting('statement_timeout') <> '0'\n"
                            "   OR current_setting('idle_in_transaction_session_timeout') <> '0';\n");
    replay::JsonlSource source(dir.path() / "dump.jsonl");
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.plan_dir = plan;
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    CHECK(report.status == "committed");
    // Outside replay's transaction the database's settings still hold.
    CHECK(replay_test::query_value(db.url(), "SHOW statement_timeout") == "1s");
}

TEST_SUITE_END();
