// rollback/postgres.cpp against the throwaway cluster: the sample bot replayed with examples/plan,
// then undone: the catalog fingerprint, --module, refusal on post-run data, and --force's dump.

#include <doctest/doctest.h>

#include <cstdlib>
#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "enmap/sample.hpp"
#include "replay/catalog.hpp"
#include "replay/engine.hpp"
#include "replay/snapshot_source.hpp"
#include "rollback/postgres.hpp"
#include "snapshot/capture.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

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
    "rollback postgres: refuses when the bot wrote after the run, and --force keeps a dump that loads back") {
    TempDir tmp;
    TestDatabase db;
    auto run = replay_sample(tmp, db.url());
    {
        pqxx::connection conn(db.url());
        pqxx::work tx(conn);
        tx.exec(
            "INSERT INTO tags (guild_id, name, content, author_id) "
            "SELECT guild_id, name || '-written-live', 'new', author_id FROM tags LIMIT 1");
        tx.exec(
            "UPDATE raw_points SET value = '{\"changed\": true}' WHERE key = (SELECT min(key) FROM "
            "raw_points)");
        tx.commit();
    }
    auto tags = table_text(db.url(), "tags");
    auto points = table_text(db.url(), "raw_points");

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
    auto report = rollback::rollback_postgres(o);
    CHECK(report.status == "rolled_back");
    REQUIRE(report.changed.size() == 2);
    REQUIRE_FALSE(report.saved_file.empty());
    CHECK(fs::path(report.saved_file).parent_path() == tmp.path() / "store" / "saved");
    CHECK(replay_test::user_relations(db.url()) == 0);

    TestDatabase restored;
    std::string load =
        "psql -q -v ON_ERROR_STOP=1 '" + restored.url() + "' -f '" + report.saved_file + "' >/dev/null";
    REQUIRE(std::system(load.c_str()) == 0);
    CHECK(table_text(restored.url(), "tags") == tags);
    CHECK(table_text(restored.url(), "raw_points") == points);
}
