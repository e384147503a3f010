// replay/engine.cpp against the throwaway cluster: loads, savepoints, the ledger, validation and
// every failure the issue names, each checked for leaving nothing half-applied.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "enmap/error.hpp"
#include "replay/catalog.hpp"
#include "replay/digest.hpp"
#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "replay/ledger.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

using replay_test::query_value;
using replay_test::user_relations;
using replay_test::write_file;

namespace {

enmap::DecodeOptions lenient() {
    enmap::DecodeOptions d;
    d.invalid_text = enmap::InvalidTextPolicy::k_replace;
    return d;
}

// A dump with `count` rows per table of `tables`, values shaped like a bot's.
std::filesystem::path write_dump(const std::filesystem::path& dir, const std::vector<std::string>& tables,
                                 int count) {
    std::ostringstream out;
    for (const auto& t : tables) {
        for (int i = 0; i < count; ++i) {
            nlohmann::json line = {
                {"table", t},
                {"key", "k" + std::to_string(i)},
                {"value", {{"guild", std::to_string(100000 + i)}, {"xp", i * 7}, {"ok", i % 2 == 0}}}};
            out << line.dump() << "\n";
        }
    }
    out << R"({"table":"internal::autonum","key":")" << tables.front() << R"(","value":)" << count << "}\n";
    auto path = dir / "dump.jsonl";
    write_file(path, out.str());
    return path;
}

bool schema_exists(const std::string& url, const std::string& schema) {
    return query_value(url, "SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'") == "1";
}

}  // namespace

TEST_CASE("engine: each fixture replays, reads back equal, and the ledger records the run") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        test_support::TestDatabase db;
        auto path = test_support::fixture(name) / "expected.jsonl";
        replay::JsonlSource source(path);
        replay::ReplayOptions options;
        options.database_url = db.url();
        options.decode = lenient();
        replay::Events events;
        auto report = replay::run_replay(source, options, events);
        CHECK(report.status == "committed");
        CHECK(report.run_id > 0);
        CHECK(report.validation.ok);
        CHECK(report.lossy.text_replaced == 1);

        // Every line of expected.jsonl is in its raw_ table, equal as JSON.
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        std::istringstream lines(test_support::read_file(path));
        std::string line;
        std::size_t checked = 0;
        while (std::getline(lines, line)) {
            auto j = nlohmann::json::parse(line);
            std::string table = report.table_names.at(j["table"]);
            auto r = tx.exec("SELECT value::text FROM " + table +
                             " WHERE key = " + tx.quote(j["key"].get<std::string>()));
            REQUIRE(r.size() == 1);
            CHECK(nlohmann::json::parse(r[0][0].c_str()) == j["value"]);
            ++checked;
        }
        CHECK(checked == report.rows);
        // docs/contract.md section 3: key text primary key, value jsonb not null.
        CHECK(
            tx.exec1(
                  "SELECT count(*) FROM pg_index WHERE indisprimary AND indrelid = 'raw_points'::regclass")[0]
                .as<int>() == 1);
        auto ledger = replay::read_ledger(tx, 5);
        REQUIRE(ledger["runs"].size() == 1);
        const auto& run = ledger["runs"][0];
        CHECK(run["status"] == "committed");
        CHECK(run["source_id"] == source.id());
        CHECK(run["catalog_fingerprint"].get<std::string>().size() == 64);
        CHECK(run["tables"].size() == source.tables().size() + 1);
        // Each module's table and its primary key index are recorded as created objects.
        std::map<std::string, int> kinds;
        for (const auto& o : run["objects"]) {
            kinds[o["kind"].get<std::string>()]++;
        }
        CHECK(kinds["table"] == static_cast<int>(source.tables().size()) + 1);
        CHECK(kinds["index"] == static_cast<int>(source.tables().size()) + 1);
        // The states recorded at COMMIT (the raw_ tables' from validation's read-back) are what
        // rollback computes from the tables now, and the row counts are the tables'.
        std::size_t states = 0;
        for (const auto& row :
             tx.exec("SELECT identity, rows, digest FROM enmap_migrate.table_states WHERE run_id = " +
                     std::to_string(report.run_id))) {
            auto now = replay::table_state(tx, row[0].c_str());
            CAPTURE(now.identity);
            CHECK(now.rows == row[1].as<std::int64_t>());
            CHECK(now.digest == row[2].c_str());
            ++states;
        }
        CHECK(states == source.tables().size() + 1);
        for (const auto& o : run["objects"]) {
            if (o["kind"] == "table") {
                CHECK(o["rows_at_end"].get<std::int64_t>() ==
                      tx.exec1("SELECT count(*) FROM " + o["identity"].get<std::string>())[0]
                          .as<std::int64_t>());
            }
        }
    }
}

TEST_CASE("engine: validation catches missing, extra and changed keys, never jsonb normalization") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    // Values whose text jsonb rewrites: key order, whitespace, duplicate keys, number spelling.
    auto path = dir.path() / "dump.jsonl";
    write_file(path,
               "{\"table\":\"t\",\"key\":\"order\",\"value\":{ \"b\" : 1 ,\"a\":[ 1 , 2 ] }}\n"
               "{\"table\":\"t\",\"key\":\"dup\",\"value\":{\"a\":1,\"a\":2}}\n"
               "{\"table\":\"t\",\"key\":\"big\",\"value\":1e21}\n"
               "{\"table\":\"t\",\"key\":\"scale\",\"value\":[1.50,100e-2,-0]}\n"
               "{\"table\":\"t\",\"key\":\"esc\",\"value\":\"\\u00e9\\/\\ud83c\\udf89\"}\n"
               "{\"table\":\"t\",\"key\":\"tab\\tkey\\\\x\",\"value\":null}\n");
    replay::JsonlSource source(path);
    replay::ReplayOptions options;
    options.database_url = db.url();
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    CHECK(report.validation.ok);
    CHECK(report.validation.rows == 6);
    CHECK(replay::run_validate(source, db.url(), {}).ok);

    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        tx.exec("UPDATE raw_t SET value = '{\"a\":2,\"b\":1}' WHERE key = 'order'");
        tx.exec("DELETE FROM raw_t WHERE key = 'big'");
        tx.exec("INSERT INTO raw_t VALUES ('intruder', '1')");
        tx.commit();
    }
    auto after = replay::run_validate(source, db.url(), {});
    CHECK_FALSE(after.ok);
    CHECK(after.missing == 1);
    CHECK(after.extra == 1);
    CHECK(after.changed == 1);
    std::string text = after.describe();
    CHECK(text.find("raw_t/big: missing") != std::string::npos);
    CHECK(text.find("raw_t/intruder: extra") != std::string::npos);
    CHECK(text.find("raw_t/order: changed") != std::string::npos);
}

TEST_CASE("engine: a transform error rolls everything back, or only its module with keep_going") {
    test_support::TempDir dir;
    auto dump = write_dump(dir.path(), {"alpha", "beta", "gamma"}, 50);
    write_file(dir.path() / "plan/plan.json", R"({"modules":[
        {"name":"first","enmaps":["alpha"],"transform":["first.sql"]},
        {"name":"broken","enmaps":["beta"],"transform":["broken.sql"]},
        {"name":"last","enmaps":["gamma"]}]})");
    write_file(dir.path() / "plan/first.sql",
               "CREATE TABLE alpha (id text PRIMARY KEY, xp int);\nINSERT INTO alpha SELECT key, "
               "(value->>'xp')::int FROM raw_alpha;\n");
    write_file(dir.path() / "plan/broken.sql",
               "CREATE TABLE beta (id text PRIMARY KEY);\n\nINSERT INTO beta SELECT key FROM "
               "raw_beta;\nSELECT 1/0;\n");
    replay::ReplayOptions options;
    options.database_url = "";
    options.plan_dir = dir.path() / "plan";
    replay::Events events;

    SUBCASE("without keep_going nothing is left but a failed run in the ledger") {
        test_support::TestDatabase db;
        options.database_url = db.url();
        replay::JsonlSource source(dump);
        try {
            replay::run_replay(source, options, events);
            FAIL("expected the replay to fail");
        } catch (const enmap::DatabaseError& e) {
            std::string what = e.what();
            CHECK(what.find("module 'broken'") != std::string::npos);
            CHECK(what.find("broken.sql:4") != std::string::npos);
            CHECK(what.find("division by zero") != std::string::npos);
        }
        CHECK(user_relations(db.url()) == 0);
        CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs") == "failed");
        CHECK(query_value(db.url(), "SELECT count(*) FROM enmap_migrate.objects") == "0");
        CHECK(query_value(db.url(),
                          "SELECT string_agg(name || ':' || status, ',' ORDER BY position) FROM "
                          "enmap_migrate.modules") == "@autonum:rolled_back,first:rolled_back,broken:failed");
    }
    SUBCASE("with keep_going the other modules commit and the failed one leaves nothing") {
        test_support::TestDatabase db;
        options.database_url = db.url();
        options.keep_going = true;
        replay::JsonlSource source(dump);
        auto report = replay::run_replay(source, options, events);
        CHECK(report.status == "partial");
        CHECK(report.exit_status() == 6);
        CHECK(query_value(db.url(), "SELECT count(*) FROM alpha") == "50");
        CHECK(query_value(db.url(), "SELECT count(*) FROM raw_gamma") == "50");
        CHECK(query_value(db.url(), "SELECT to_regclass('raw_beta') IS NULL") == "t");
        CHECK(query_value(db.url(), "SELECT to_regclass('beta') IS NULL") == "t");
        CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs") == "partial");
        CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.modules WHERE name = 'broken'") ==
              "failed");
        CHECK(query_value(db.url(), "SELECT count(*) FROM enmap_migrate.objects WHERE module = 'broken'") ==
              "0");
        CHECK(query_value(db.url(),
                          "SELECT count(*) FROM enmap_migrate.objects WHERE module = 'first' AND "
                          "identity = 'alpha' AND rows_at_end = 50") == "1");
    }
}

TEST_CASE("engine: a failing verify query shows its first 10 rows and its file and line") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    auto dump = write_dump(dir.path(), {"points"}, 30);
    write_file(dir.path() / "plan/plan.json",
               R"({"modules":[{"name":"levels","enmaps":["points"],"verify":["checks.sql"]}]})");
    write_file(
        dir.path() / "plan/checks.sql",
        "-- every row exists\nSELECT key FROM raw_points WHERE false;\n\n-- xp below 100\n"
        "SELECT key, value->'xp' AS xp FROM raw_points WHERE (value->>'xp')::int >= 100 ORDER BY key;\n");
    replay::JsonlSource source(dump);
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.plan_dir = dir.path() / "plan";
    replay::Events events;
    try {
        replay::run_replay(source, options, events);
        FAIL("expected the verify query to fail");
    } catch (const enmap::ValidationError& e) {
        std::string what = e.what();
        CHECK(what.find("checks.sql:5") != std::string::npos);
        CHECK(what.find("returned 15 offending row(s); the first 10") != std::string::npos);
        std::size_t shown = 0;
        for (std::size_t pos = what.find("{\"key\""); pos != std::string::npos;
             pos = what.find("{\"key\"", pos + 1)) {
            ++shown;
        }
        CHECK(shown == 10);
    }
    CHECK(user_relations(db.url()) == 0);
}

TEST_CASE("engine: a policy violation writes nothing at all") {
    test_support::TestDatabase db;
    replay::JsonlSource source(test_support::fixture("enmap-5.7") / "expected.jsonl");
    replay::ReplayOptions options;
    options.database_url = db.url();
    replay::Events events;
    CHECK_THROWS_AS(replay::run_replay(source, options, events), enmap::PolicyError);
    CHECK(user_relations(db.url()) == 0);
    CHECK_FALSE(schema_exists(db.url(), "enmap_migrate"));
}

TEST_CASE("engine: a dry run validates and leaves no trace") {
    test_support::TestDatabase db;
    std::string fingerprint_before;
    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        fingerprint_before = replay::catalog_fingerprint(tx);
    }
    replay::JsonlSource source(test_support::fixture("enmap-5.9") / "expected.jsonl");
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.decode = lenient();
    options.dry_run = true;
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    CHECK(report.status == "dry-run");
    CHECK(report.validation.ok);
    CHECK(report.rows == 117);
    REQUIRE_FALSE(report.modules.empty());
    for (const auto& m : report.modules) {
        CHECK_MESSAGE(m.status == "passed", m.name);  // its ROLLBACK undid them: never "committed"
    }
    CHECK(user_relations(db.url()) == 0);
    CHECK_FALSE(schema_exists(db.url(), "enmap_migrate"));
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    CHECK(replay::catalog_fingerprint(tx) == fingerprint_before);
}

TEST_CASE("engine: a database that already holds a run is refused") {
    test_support::TestDatabase db;
    replay::JsonlSource source(test_support::fixture("enmap-6.1") / "expected.jsonl");
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.decode = lenient();
    replay::Events events;
    auto first = replay::run_replay(source, options, events);
    try {
        replay::run_replay(source, options, events);
        FAIL("expected a refusal");
    } catch (const enmap::RefusedError& e) {
        CHECK(std::string(e.what()).find("run " + std::to_string(first.run_id)) != std::string::npos);
        CHECK(e.hint().find("rollback postgres") != std::string::npos);
    }
    // raw_ tables without a ledger (made by hand, or by another tool) are refused too.
    test_support::TestDatabase other;
    {
        pqxx::connection conn(other.url());
        pqxx::work tx(conn);
        tx.exec("CREATE TABLE raw_points (key text)");
        tx.commit();
    }
    options.database_url = other.url();
    try {
        replay::run_replay(source, options, events);
        FAIL("expected a refusal");
    } catch (const enmap::RefusedError& e) {
        CHECK(std::string(e.what()).find("raw_points") != std::string::npos);
    }
    CHECK(query_value(other.url(), "SELECT count(*) FROM pg_class WHERE relname LIKE 'raw\\_%'") == "1");
}

TEST_CASE("engine: Drizzle migrations are applied and recorded exactly like drizzle-orm's migrator") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    auto dump = write_dump(dir.path(), {"points"}, 20);
    std::string first =
        "CREATE TABLE \"levels\" (\n\t\"id\" text PRIMARY KEY NOT NULL,\n\t\"xp\" integer NOT NULL\n);\n";
    std::string second =
        "ALTER TABLE \"levels\" ADD COLUMN \"guild\" text;--> statement-breakpoint\n"
        "CREATE INDEX \"levels_guild_idx\" ON \"levels\" USING btree (\"guild\");";
    write_file(dir.path() / "plan/drizzle/0000_init.sql", first);
    write_file(dir.path() / "plan/drizzle/0001_guild.sql", second);
    write_file(dir.path() / "plan/drizzle/meta/_journal.json",
               R"({"version":"7","dialect":"postgresql","entries":[
        {"idx":0,"version":"7","when":1717000000000,"tag":"0000_init","breakpoints":true},
        {"idx":1,"version":"7","when":1717000100000,"tag":"0001_guild","breakpoints":true}]})");
    write_file(dir.path() / "plan/plan.json", R"({"drizzle":"drizzle","modules":[
        {"name":"levels","enmaps":["points"],"transform":["levels.sql"]}]})");
    write_file(dir.path() / "plan/levels.sql",
               "INSERT INTO levels (id, xp, guild) SELECT key, (value->>'xp')::int, value->>'guild' FROM "
               "raw_points;\n");
    replay::JsonlSource source(dump);
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.plan_dir = dir.path() / "plan";
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    REQUIRE(report.drizzle_rows.size() == 2);
    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    auto rows = tx.exec("SELECT id, hash, created_at FROM drizzle.__drizzle_migrations ORDER BY id");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][1].as<std::string>() == replay::sha256_hex(first));
    CHECK(rows[0][2].as<std::int64_t>() == 1717000000000);
    CHECK(rows[1][1].as<std::string>() == replay::sha256_hex(second));
    CHECK(rows[1][2].as<std::int64_t>() == 1717000100000);
    // The table's shape is drizzle-orm's: id serial primary key, hash text not null, created_at bigint.
    CHECK(tx.exec1("SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable, ', ' ORDER BY "
                   "ordinal_position) FROM information_schema.columns WHERE table_schema = 'drizzle' AND "
                   "table_name = '__drizzle_migrations'")[0]
              .as<std::string>() == "id integer NO, hash text NO, created_at bigint YES");
    CHECK(tx.exec1("SELECT count(*) FROM levels WHERE guild IS NOT NULL")[0].as<int>() == 20);
    auto ledger = replay::read_ledger(tx, 1);
    const auto& run = ledger["runs"][0];
    CHECK(run["drizzle_rows"].size() == 2);
    std::vector<std::string> drizzle_objects;
    for (const auto& o : run["objects"]) {
        if (o["module"] == "@drizzle") {
            drizzle_objects.push_back(o["kind"].get<std::string>() + " " + o["identity"].get<std::string>());
        }
    }
    for (const char* expected : {"schema drizzle", "table drizzle.__drizzle_migrations", "table levels",
                                 "index levels_guild_idx", "sequence drizzle.__drizzle_migrations_id_seq"}) {
        CAPTURE(expected);
        CHECK(std::find(drizzle_objects.begin(), drizzle_objects.end(), expected) != drizzle_objects.end());
    }
}

TEST_CASE("engine: a connection killed mid-COPY leaves nothing behind") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    auto dump = write_dump(dir.path(), {"big"}, 400000);
    std::atomic<bool> done{false};
    std::atomic<int> killed{0};
    std::thread killer([&] {
        pqxx::connection conn(db.url());
        while (!done && killed == 0) {
            pqxx::nontransaction tx(conn);
            auto r =
                tx.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " +
                        tx.quote(db.name()) + " AND query LIKE 'COPY %raw_big%' AND pid <> pg_backend_pid()");
            killed = static_cast<int>(r.size());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    });
    replay::JsonlSource source(dump);
    replay::ReplayOptions options;
    options.database_url = db.url();
    replay::Events events;
    std::string error;
    try {
        replay::run_replay(source, options, events);
    } catch (const enmap::DatabaseError& e) {
        error = e.what();
    } catch (const std::exception& e) {
        error = std::string("unexpected exception: ") + e.what();
    }
    done = true;
    killer.join();
    CAPTURE(error);
    CHECK(error.find("unexpected exception") == std::string::npos);
    REQUIRE(killed == 1);
    CHECK(error.find("connection") != std::string::npos);
    CHECK(user_relations(db.url()) == 0);
    CHECK(query_value(db.url(), "SELECT count(*) FROM enmap_migrate.runs WHERE status <> 'failed'") == "0");
}

TEST_CASE("engine: a transform that alters a raw_ table fails validation and rolls everything back") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    auto dump = write_dump(dir.path(), {"points"}, 40);
    write_file(dir.path() / "plan/plan.json",
               R"({"modules":[{"name":"levels","enmaps":["points"],"transform":["tamper.sql"]}]})");
    write_file(dir.path() / "plan/tamper.sql",
               "UPDATE raw_points SET value = value || '{\"xp\": -1}' WHERE key = 'k7';\n"
               "DELETE FROM raw_points WHERE key = 'k8';\n");
    replay::JsonlSource source(dump);
    replay::ReplayOptions options;
    options.database_url = db.url();
    options.plan_dir = dir.path() / "plan";
    replay::Events events;
    try {
        replay::run_replay(source, options, events);
        FAIL("expected validation to fail");
    } catch (const enmap::ValidationError& e) {
        std::string what = e.what();
        CHECK(what.find("raw_points: 39 rows, the source has 40") != std::string::npos);
        CHECK(what.find("raw_points/k7: changed") != std::string::npos);
        CHECK(what.find("raw_points/k8: missing") != std::string::npos);
    }
    CHECK(user_relations(db.url()) == 0);
    CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs") == "failed");
}

TEST_CASE("engine: a source without autonum counters gets them from --autonum or its keys, said out loud") {
    test_support::TempDir tmp;
    auto path = tmp.path() / "export.jsonl";
    std::string lines;
    for (int i = 1; i <= 5; ++i) {
        lines += R"({"table":"tickets","key":")" + std::to_string(i) + R"(","value":{"n":)" +
                 std::to_string(i) + "}}\n";
    }
    // Keyed by Discord ids: integers too, but not autonum's.
    lines += R"({"table":"guilds","key":"249019334418201563","value":{}})"
             "\n";
    lines += R"({"table":"guilds","key":"807544533531797526","value":{}})"
             "\n";
    write_file(path, lines);
    auto counters = [](const std::string& url) {
        return replay_test::query_value(
            url,
            "SELECT coalesce(string_agg(enmap || '=' || lastnum, ',' ORDER BY enmap), '') FROM "
            "raw_internal_autonum");
    };
    SUBCASE("derived from the highest key") {
        test_support::TestDatabase db;
        replay::JsonlSource source(path);
        replay::ReplayOptions options;
        options.database_url = db.url();
        replay::Events events;
        auto report = replay::run_replay(source, options, events);
        CHECK(counters(db.url()) == "tickets=5");
        REQUIRE(report.autonum.size() == 1);
        CHECK(report.autonum[0]["from"] == "the highest numeric key");
        // validate, later, takes the counter the run recorded, not the source's (none).
        replay::JsonlSource again(path);
        CHECK(replay::run_validate(again, db.url(), enmap::DecodeOptions{}).ok);
        CHECK(report.to_json()["autonum"] == report.autonum);
    }
    SUBCASE("given with --autonum") {
        test_support::TestDatabase db;
        replay::JsonlSource source(path);
        replay::ReplayOptions options;
        options.database_url = db.url();
        options.autonum = replay::parse_autonum({"tickets=40"});
        replay::Events events;
        auto report = replay::run_replay(source, options, events);
        CHECK(counters(db.url()) == "tickets=40");
        REQUIRE(report.autonum.size() == 1);
        CHECK(report.autonum[0]["from"] == "--autonum");
    }
    CHECK_THROWS_AS(replay::parse_autonum({"tickets"}), enmap::UsageError);
    CHECK_THROWS_AS(replay::parse_autonum({"tickets=-1"}), enmap::UsageError);
}

TEST_CASE("engine: a failing transform names the Enmap keys and values at fault") {
    test_support::TempDir tmp;
    auto path = tmp.path() / "tickets.jsonl";
    std::string lines;
    for (int i = 1; i <= 40; ++i) {
        std::string n = i == 23 ? "9378000000000000000" : std::to_string(i);
        std::string opener = i == 7 || i == 31 ? "" : R"(,"openerId":"u)" + std::to_string(i) + R"(")";
        lines +=
            R"({"table":"tickets","key":")" + std::to_string(i) + R"(","value":{"n":)" + n + opener + "}}\n";
    }
    write_file(path, lines);
    auto plan = tmp.path() / "plan";
    write_file(
        plan / "plan.json",
        R"({"version": 1, "modules": [{"name": "tickets", "enmaps": ["tickets"], "transform": ["t.sql"]}]})");
    auto replay_with = [&](const std::string& insert) {
        write_file(plan / "t.sql",
                   "CREATE TABLE tickets (id bigint PRIMARY KEY, n bigint, opener text NOT NULL);\n" +
                       insert + "\n");
        test_support::TestDatabase db;
        replay::JsonlSource source(path);
        replay::ReplayOptions options;
        options.database_url = db.url();
        options.plan_dir = plan;
        replay::Events events;
        try {
            replay::run_replay(source, options, events);
        } catch (const enmap::DatabaseError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    auto range = replay_with(
        "INSERT INTO tickets SELECT key::bigint, (value->>'n')::bigint, coalesce(value->>'openerId', '?') "
        "FROM "
        "raw_tickets;");
    CHECK_MESSAGE(range.find("out of range") != std::string::npos, range);
    CHECK_MESSAGE(range.find("tickets/23: {\"n\": 9378000000000000000") != std::string::npos, range);
    CHECK(range.find("tickets/7:") == std::string::npos);

    auto not_null = replay_with(
        "INSERT INTO tickets SELECT key::bigint, (value->>'n')::numeric::bigint % 100, value->>'openerId' "
        "FROM "
        "raw_tickets WHERE key <> '23';");
    CHECK_MESSAGE(not_null.find("not-null") != std::string::npos, not_null);
    CHECK_MESSAGE(not_null.find("tickets/7: {\"n\": 7}") != std::string::npos, not_null);
    CHECK(not_null.find("tickets/31: {\"n\": 31}") != std::string::npos);
    CHECK(not_null.find("tickets/8:") == std::string::npos);
}

TEST_SUITE_END();
