// rollback/postgres.cpp against the throwaway cluster: the sample bot replayed with examples/plan,
// then undone: the catalog fingerprint, --module, refusal on post-run data, and --force's dump.

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "enmap/sample.hpp"
#include "replay/catalog.hpp"
#include "replay/drizzle.hpp"
#include "replay/engine.hpp"
#include "replay/ledger.hpp"
#include "replay/snapshot_source.hpp"
#include "rollback/postgres.hpp"
#include "snapshot/capture.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using replay_test::query_value;
using test_support::TempDir;
using test_support::TestDatabase;

namespace {

std::string fingerprint(const std::string& url) {
    pqxx::connection conn(url);
    pqxx::read_transaction tx(conn);
    return replay::catalog_fingerprint(tx);
}

// The sample bot, snapshotted into <tmp>/store and replayed with examples/plan; returns the run id.
std::int64_t replay_sample(const TempDir& tmp, const std::string& url) {
    fs::path bot = tmp.path() / "bot";
    if (!fs::exists(bot)) {
        enmap::SampleOptions sample;
        sample.scale = 2;
        enmap::write_sample_database(bot, sample);
    }
    snapshot::Hash id{};
    {
        snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
        snapshot::CaptureOptions capture;
        capture.database = bot / "enmap.sqlite";
        capture.summarize = snapshot::count_rows;
        id = snapshot::capture(store, capture).id;
    }
    replay::SnapshotSource source(tmp.path() / "store", snapshot::to_hex(id));
    replay::ReplayOptions options;
    options.database_url = url;
    options.plan_dir = test_support::source_dir() / "examples" / "plan";
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    REQUIRE(report.status == "committed");
    return report.run_id;
}

rollback::PostgresOptions undo(const std::string& url, const TempDir& tmp) {
    rollback::PostgresOptions o;
    o.database_url = url;
    o.store = tmp.path() / "store";
    return o;
}

std::string table_text(const std::string& url, const std::string& table) {
    return query_value(url, "SELECT string_agg(t::text, E'\\n' ORDER BY t::text) FROM " + table + " t");
}

// A table's definition as text: columns (type, NOT NULL, identity, default), constraints, indexes.
std::string definition(const std::string& url, const std::string& table) {
    std::string oid = "'" + table + "'::regclass";
    return query_value(
        url,
        "SELECT (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || "
        "a.attnotnull || ' ' || a.attidentity::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), "
        "', ' "
        "ORDER BY a.attnum) FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum "
        "= "
        "a.attnum WHERE a.attrelid = " +
            oid +
            " AND a.attnum > 0 AND NOT a.attisdropped) || ' | ' || (SELECT coalesce(string_agg(conname || ' "
            "' || "
            "pg_get_constraintdef(oid), ', ' ORDER BY conname), '') FROM pg_constraint WHERE conrelid = " +
            oid +
            ") || ' | ' || (SELECT coalesce(string_agg(pg_get_indexdef(indexrelid), ', ' ORDER BY "
            "indexrelid), '') "
            "FROM pg_index WHERE indrelid = " +
            oid + ")");
}

bool load_script(const std::string& url, const std::string& file) {
    std::string load = "psql -q -v ON_ERROR_STOP=1 '" + url + "' -f '" + file + "' >/dev/null";
    return std::system(load.c_str()) == 0;
}

}  // namespace

TEST_CASE("rollback postgres: drops everything the run created and the catalog fingerprint is identical") {
    TempDir tmp;
    TestDatabase db;
    auto before = fingerprint(db.url());
    auto run = replay_sample(tmp, db.url());
    REQUIRE(fingerprint(db.url()) != before);
    REQUIRE(query_value(db.url(), "SELECT count(*) FROM drizzle.__drizzle_migrations") != "0");

    auto report = rollback::rollback_postgres(undo(db.url(), tmp));
    CHECK(report.run_id == run);
    CHECK(report.status == "rolled_back");
    CHECK(report.fingerprint_checked);
    CHECK(report.fingerprint_matches);
    CHECK(report.drizzle_rows_deleted > 0);
    CHECK(fingerprint(db.url()) == before);
    CHECK(replay_test::user_relations(db.url()) == 0);
    CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs WHERE id = " + std::to_string(run)) ==
          "rolled_back");
    CHECK(query_value(db.url(),
                      "SELECT count(*) FROM enmap_migrate.actions WHERE action = 'rollback' AND run_id = " +
                          std::to_string(run)) == "1");
    // Nothing left to undo, and a new replay is not refused.
    CHECK_THROWS_AS(rollback::rollback_postgres(undo(db.url(), tmp)), enmap::RefusedError);
    auto again = replay_sample(tmp, db.url());
    CHECK(again > run);
}

TEST_CASE("rollback postgres: --module undoes one module, then the rest of the run") {
    TempDir tmp;
    TestDatabase db;
    auto before = fingerprint(db.url());
    auto run = replay_sample(tmp, db.url());
    auto o = undo(db.url(), tmp);
    o.module = "tags";
    auto report = rollback::rollback_postgres(o);
    CHECK(report.status == "committed");
    CHECK_FALSE(report.fingerprint_checked);
    CHECK(query_value(db.url(), "SELECT to_regclass('raw_tags') IS NULL") == "t");
    CHECK(query_value(db.url(), "SELECT to_regclass('raw_points') IS NULL") == "f");
    CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.modules WHERE name = 'tags' AND run_id = " +
                                    std::to_string(run)) == "rolled_back");
    CHECK_THROWS_AS(rollback::rollback_postgres(o), enmap::RefusedError);

    auto rest = rollback::rollback_postgres(undo(db.url(), tmp));
    CHECK(rest.status == "rolled_back");
    CHECK(rest.fingerprint_matches);
    CHECK(fingerprint(db.url()) == before);
}

TEST_CASE(
    "rollback postgres: refuses when the bot wrote after the run; --force saves the tables whole, with "
    "their definitions, and the rows written since the run apart") {
    std::string pg_dump;
    SUBCASE("by pg_dump") {
        pg_dump = "";
    }
    SUBCASE("from the catalog, without pg_dump") {
        pg_dump = "none";
    }
    TempDir tmp;
    TestDatabase db;
    auto run = replay_sample(tmp, db.url());
    CHECK(query_value(db.url(), "SELECT xid_end > xid_first FROM enmap_migrate.runs WHERE id = " +
                                    std::to_string(run)) == "t");
    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO tags (guild_id, name, content, author_id) "
            "SELECT guild_id, name || '-written-live', 'new', author_id FROM tags LIMIT 1");
        tx.exec(
            "UPDATE raw_points SET value = '{\"changed\": true}' WHERE key = (SELECT min(key) FROM "
            "raw_points)");
        tx.exec("DELETE FROM raw_points WHERE key = (SELECT max(key) FROM raw_points)");
        tx.commit();
    }
    auto tags = table_text(db.url(), "tags");
    auto points = table_text(db.url(), "raw_points");
    auto tags_definition = definition(db.url(), "public.tags");
    auto points_definition = definition(db.url(), "public.raw_points");
    auto points_rows = std::stoll(query_value(db.url(), "SELECT count(*) FROM raw_points"));

    try {
        rollback::rollback_postgres(undo(db.url(), tmp));
        FAIL("rollback postgres did not refuse");
    } catch (const enmap::RefusedError& e) {
        std::string message = e.what();
        CHECK(message.find("tags") != std::string::npos);
        CHECK(message.find("raw_points") != std::string::npos);
    }
    CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs WHERE id = " + std::to_string(run)) ==
          "committed");
    CHECK(table_text(db.url(), "tags") == tags);

    auto o = undo(db.url(), tmp);
    o.force = true;
    o.pg_dump = pg_dump;
    auto report = rollback::rollback_postgres(o);
    CHECK(report.status == "rolled_back");
    REQUIRE(report.changed.size() == 2);
    REQUIRE_FALSE(report.saved_file.empty());
    CHECK(fs::path(report.saved_file).parent_path() == tmp.path() / "store" / "saved");
    CHECK(report.saved.method.rfind(pg_dump.empty() ? "pg_dump " : "catalog (", 0) == 0);
    CHECK(replay_test::user_relations(db.url()) == 0);

    // The whole tables load back with their rows, primary keys, defaults and indexes.
    TestDatabase restored;
    REQUIRE(load_script(restored.url(), report.saved_file));
    CHECK(table_text(restored.url(), "tags") == tags);
    CHECK(table_text(restored.url(), "raw_points") == points);
    CHECK(definition(restored.url(), "public.tags") == tags_definition);
    CHECK(definition(restored.url(), "public.raw_points") == points_definition);
    CHECK(tags_definition.find("PRIMARY KEY") != std::string::npos);

    // Only the rows written since the run: the new tag, the updated point; the deleted point counted.
    REQUIRE_FALSE(report.saved.changes_file.empty());
    REQUIRE(report.saved.tables.size() == 2);
    std::map<std::string, rollback::SavedTable> saved;
    for (const auto& t : report.saved.tables) {
        saved[t.identity] = t;
    }
    REQUIRE(saved.count("tags") + saved.count("public.tags") == 1);
    const auto& saved_tags = saved.count("tags") != 0 ? saved["tags"] : saved["public.tags"];
    const auto& saved_points =
        saved.count("raw_points") != 0 ? saved["raw_points"] : saved["public.raw_points"];
    CHECK(saved_tags.rows_written_after == 1);
    CHECK(saved_tags.rows_gone == 0);
    CHECK(saved_points.rows_written_after == 1);
    CHECK(saved_points.rows_gone == 2);  // the deleted row and the updated row's old version
    CHECK(saved_points.rows_now == points_rows);
    TestDatabase changes;
    REQUIRE(load_script(changes.url(), report.saved.changes_file));
    CHECK(query_value(changes.url(), "SELECT string_agg(name, ',') FROM " + saved_tags.changes_table)
              .ends_with("-written-live"));
    CHECK(query_value(changes.url(), "SELECT count(*) FROM " + saved_tags.changes_table) == "1");
    CHECK(query_value(changes.url(), "SELECT value::text FROM " + saved_points.changes_table) ==
          "{\"changed\": true}");
}

namespace {

// Every user table's rows as text, keyed by name: what "as before the run" compares.
std::map<std::string, std::string> all_tables(const std::string& url) {
    std::map<std::string, std::string> out;
    pqxx::connection conn(url);
    pqxx::read_transaction tx(conn);
    for (const auto& row :
         tx.exec("SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', "
                 "'enmap_migrate') "
                 "AND n.nspname NOT LIKE 'pg_toast%'")) {
        std::string table = row[0].c_str();
        out[table] = tx.exec1(
                           "SELECT count(*) || E'\\n' || coalesce(string_agg(t::text, E'\\n' ORDER BY "
                           "t::text), '') FROM " +
                           table + " t")[0]
                         .c_str();
    }
    return out;
}

// The sample bot's plan, copied, with one more statement: the settings module also logs each
// global key into audit_log, a table the bot made itself (identity and generated columns).
fs::path plan_with_audit_log(const TempDir& tmp) {
    fs::path plan = tmp.path() / "plan";
    fs::copy(test_support::source_dir() / "examples" / "plan", plan, fs::copy_options::recursive);
    std::ofstream out(plan / "modules" / "settings" / "transform.sql", std::ios::app);
    out << "\nINSERT INTO audit_log (note) SELECT 'migrated ' || key FROM raw_global;\n";
    return plan;
}

std::int64_t replay_plan(const TempDir& tmp, const std::string& url, const fs::path& plan) {
    fs::path bot = tmp.path() / "bot";
    if (!fs::exists(bot)) {
        enmap::SampleOptions sample;
        sample.scale = 2;
        enmap::write_sample_database(bot, sample);
    }
    snapshot::Hash id{};
    {
        snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
        snapshot::CaptureOptions capture;
        capture.database = bot / "enmap.sqlite";
        capture.summarize = snapshot::count_rows;
        id = snapshot::capture(store, capture).id;
    }
    replay::SnapshotSource source(tmp.path() / "store", snapshot::to_hex(id));
    replay::ReplayOptions options;
    options.database_url = url;
    options.plan_dir = plan;
    replay::Events events;
    auto report = replay::run_replay(source, options, events);
    REQUIRE(report.status == "committed");
    return report.run_id;
}

}  // namespace

TEST_CASE(
    "rollback postgres: puts back the rows of tables that existed before the run (the bot's migrate())") {
    TempDir tmp;
    TestDatabase db;
    {
        // As the bot's own drizzle-orm migrate() would: the normalized tables exist before replay.
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        replay::apply_drizzle(
            tx, replay::read_drizzle_folder(test_support::source_dir() / "examples" / "plan" / "drizzle"));
        tx.exec(
            "CREATE TABLE audit_log (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text NOT NULL, "
            "note_length integer GENERATED ALWAYS AS (length(note)) STORED)");
        tx.exec("INSERT INTO audit_log (note) VALUES ('bot started'), ('bot stopped')");
        tx.exec("INSERT INTO bot_settings (key, value) VALUES ('set-by-the-bot', '{\"kept\": true}')");
        tx.commit();
    }
    auto before = all_tables(db.url());
    auto fp = fingerprint(db.url());
    auto plan = plan_with_audit_log(tmp);
    auto run = replay_plan(tmp, db.url(), plan);
    auto after_first = all_tables(db.url());
    REQUIRE(std::stol(query_value(db.url(), "SELECT count(*) FROM guild_settings")) > 0);
    REQUIRE(after_first["audit_log"] != before["audit_log"]);
    CHECK(query_value(db.url(), "SELECT count(*) FROM enmap_migrate.written_tables WHERE run_id = " +
                                    std::to_string(run) + " AND existed_before AND module = 'settings'") ==
          "3");
    CHECK(query_value(db.url(), "SELECT rows_before FROM enmap_migrate.written_tables WHERE run_id = " +
                                    std::to_string(run) + " AND identity = 'audit_log'") == "2");
    CHECK(query_value(db.url(), "SELECT count(*) FROM enmap_migrate.written_tables WHERE run_id = " +
                                    std::to_string(run) + " AND identity = 'raw_global'") == "0");

    auto report = rollback::rollback_postgres(undo(db.url(), tmp));
    CHECK(report.status == "rolled_back");
    CHECK(report.fingerprint_matches);
    CHECK(fingerprint(db.url()) == fp);
    CHECK(all_tables(db.url()) == before);
    std::map<std::string, std::string> how;
    for (const auto& r : report.restored) {
        how[r.identity] = r.how;
    }
    CHECK(how["guild_settings"] == "emptied");
    CHECK(how["bot_settings"] == "before-image");
    CHECK(how["audit_log"] == "before-image");
    CHECK(report.to_json()["restored"].size() == report.restored.size());
    // The before-images are gone with the run.
    CHECK(query_value(db.url(),
                      "SELECT count(*) FROM pg_tables WHERE schemaname = 'enmap_migrate' AND "
                      "tablename LIKE 'before\\_%'") == "0");

    // A second replay succeeds and, with the identity sequence set back, writes the same rows.
    auto again = replay_plan(tmp, db.url(), plan);
    CHECK(again > run);
    auto after_second = all_tables(db.url());
    for (const auto& entry : after_first) {
        CHECK_MESSAGE(after_second[entry.first] == entry.second, entry.first);
    }
}

TEST_CASE("rollback postgres: refuses to restore an existing table whose before-image is gone") {
    TempDir tmp;
    TestDatabase db;
    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        replay::apply_drizzle(
            tx, replay::read_drizzle_folder(test_support::source_dir() / "examples" / "plan" / "drizzle"));
        tx.exec("INSERT INTO bot_settings (key, value) VALUES ('set-by-the-bot', '{\"kept\": true}')");
        tx.commit();
    }
    auto run = replay_sample(tmp, db.url());
    std::string image =
        query_value(db.url(), "SELECT before_image FROM enmap_migrate.written_tables WHERE run_id = " +
                                  std::to_string(run) + " AND identity = 'bot_settings'");
    REQUIRE_FALSE(image.empty());
    query_value(db.url(), "DROP TABLE " + image + "; SELECT 1");
    try {
        rollback::rollback_postgres(undo(db.url(), tmp));
        FAIL("rollback postgres did not refuse");
    } catch (const enmap::RefusedError& e) {
        std::string message = e.what();
        CHECK(message.find("bot_settings") != std::string::npos);
        CHECK(message.find(image + " is missing") != std::string::npos);
    }
    CHECK(query_value(db.url(), "SELECT status FROM enmap_migrate.runs WHERE id = " + std::to_string(run)) ==
          "committed");
}

TEST_CASE("rollback postgres: a ledger written before written_tables and kind is still read and undone") {
    TempDir tmp;
    TestDatabase db;
    auto before = fingerprint(db.url());
    auto run = replay_sample(tmp, db.url());
    // The ledger as the previous release wrote it.
    query_value(db.url(),
                "ALTER TABLE enmap_migrate.runs DROP COLUMN kind; DROP TABLE enmap_migrate.written_tables; "
                "SELECT 1");
    {
        pqxx::connection conn(db.url());
        pqxx::read_transaction tx(conn);
        auto ledger = replay::read_ledger(tx, 10);
        REQUIRE(ledger["runs"].size() == 1);
        CHECK(ledger["runs"][0]["kind"] == "replay");
        CHECK(ledger["runs"][0]["written_tables"].empty());
    }
    auto report = rollback::rollback_postgres(undo(db.url(), tmp));
    CHECK(report.run_id == run);
    CHECK(report.status == "rolled_back");
    CHECK(report.restored.empty());
    CHECK(fingerprint(db.url()) == before);
    // The next replay brings the ledger up to date and records its kind.
    auto again = replay_sample(tmp, db.url());
    CHECK(query_value(db.url(), "SELECT kind FROM enmap_migrate.runs WHERE id = " + std::to_string(again)) ==
          "replay");
}

TEST_SUITE_END();
