// replay::SnapshotSource: a snapshot of the store, materialized and decoded, is what replay loads.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "enmap/sample.hpp"
#include "replay/copy.hpp"
#include "replay/snapshot_source.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/store.hpp"
#include "snapshot/summary.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;

namespace {

std::string take_snapshot(const fs::path& store_dir, const fs::path& db, const std::string& label) {
    snapshot::Store store(store_dir, snapshot::Store::Access::k_write, "test");
    snapshot::CaptureOptions options;
    options.database = db;
    options.label = label;
    options.summarize = snapshot::summarize_enmap;
    return snapshot::to_hex(snapshot::capture(store, options).id);
}

}  // namespace

TEST_CASE("snapshot source: every fixture's rows equal expected.jsonl, and digests equal the manifest's") {
    for (const auto& name : test_support::fixture_names()) {
        CAPTURE(name);
        test_support::TempDir tmp;
        fs::copy_file(test_support::fixture(name) / "enmap.sqlite", tmp.path() / "enmap.sqlite");
        std::string id = take_snapshot(tmp.path() / "store", tmp.path() / "enmap.sqlite", "fixture");

        replay::SnapshotSource source(tmp.path() / "store", "fixture");
        enmap::DecodeOptions options;
        options.invalid_text = enmap::InvalidTextPolicy::k_replace;
        options.functions = enmap::FunctionPolicy::k_drop;
        source.prepare(options);
        CHECK(source.id() == id);
        CHECK(source.violations().empty());

        std::map<std::pair<std::string, std::string>, nlohmann::json> expected;
        std::ifstream in(test_support::fixture(name) / "expected.jsonl");
        for (std::string line; std::getline(in, line);) {
            auto j = nlohmann::json::parse(line);
            expected[{j["table"], j["key"]}] = j["value"];
        }
        std::size_t seen = 0;
        for (const auto& table : source.tables()) {
            source.for_each_row(table.enmap_name, [&](std::string_view key, std::string_view value) {
                auto it = expected.find({table.enmap_name, std::string(key)});
                REQUIRE_MESSAGE(it != expected.end(), table.enmap_name << "/" << key);
                CHECK(nlohmann::json::parse(value) == it->second);
                ++seen;
            });
        }
        CHECK(seen == expected.size());

        // The manifest's digests are taken under replace+source; without functions in the data
        // they must equal the source's.
        snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_read, "test");
        auto manifest = store.read_manifest(snapshot::from_hex(id));
        std::map<std::string, std::string> manifest_digests;
        for (const auto& [table, summary] : manifest["tables"].items()) {
            if (summary.contains("sha256")) {
                manifest_digests[table] = summary["sha256"];
            }
        }
        for (const auto& table : source.tables()) {
            CAPTURE(table.enmap_name);
            CHECK(manifest_digests.at(table.enmap_name) == table.digest);
        }
    }
}

TEST_CASE("snapshot source: the default policy gathers every violation of a snapshot") {
    test_support::TempDir tmp;
    fs::copy_file(test_support::fixture("enmap-6.1") / "enmap.sqlite", tmp.path() / "enmap.sqlite");
    take_snapshot(tmp.path() / "store", tmp.path() / "enmap.sqlite", "strict");
    replay::SnapshotSource source(tmp.path() / "store", "latest");
    source.prepare({});
    REQUIRE_FALSE(source.violations().empty());
    CHECK(source.violations().front().table == "samples");
    CHECK(source.violations().front().key == "nul-in-string");
    CHECK_THROWS_AS(replay::throw_if_violations(source.violations()), enmap::PolicyError);
}

TEST_CASE("snapshot source: an unknown snapshot is a store error naming the ref") {
    test_support::TempDir tmp;
    fs::copy_file(test_support::fixture("enmap-5.7") / "enmap.sqlite", tmp.path() / "enmap.sqlite");
    take_snapshot(tmp.path() / "store", tmp.path() / "enmap.sqlite", "one");
    replay::SnapshotSource source(tmp.path() / "store", "no-such-label");
    try {
        source.prepare({});
        FAIL("prepare() accepted an unknown snapshot");
    } catch (const enmap::StoreError& e) {
        CHECK(std::string(e.what()).find("no-such-label") != std::string::npos);
    }
}

TEST_CASE("snapshot source: the temporary folders of killed replays are removed, running ones kept") {
    test_support::TempDir tmp;
    fs::copy_file(test_support::fixture("enmap-5.7") / "enmap.sqlite", tmp.path() / "enmap.sqlite");
    take_snapshot(tmp.path() / "store", tmp.path() / "enmap.sqlite", "one");
    fs::path temp = tmp.path() / "tmp";
    fs::create_directories(temp);
    // A process that is gone: a child that has exited and been reaped.
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::_exit(0);
    }
    REQUIRE(::waitpid(child, nullptr, 0) == child);
    fs::path stale = temp / ("enmap-migrate-replay-" + std::to_string(child) + "-1-0");
    fs::path running = temp / ("enmap-migrate-replay-" + std::to_string(::getppid()) + "-1-0");
    fs::path other = temp / "enmap-migrate-replay-notapid";
    for (const auto& dir : {stale, running, other}) {
        fs::create_directories(dir);
        std::ofstream(dir / "rows.spool") << "spooled rows";
    }

    const char* saved = std::getenv("TMPDIR");
    std::string saved_value = saved != nullptr ? saved : "";
    ::setenv("TMPDIR", temp.c_str(), 1);
    {
        replay::SnapshotSource source(tmp.path() / "store", "one");
        source.prepare({});
        CHECK_FALSE(fs::exists(stale));
        CHECK(fs::exists(running / "rows.spool"));
        CHECK(fs::exists(other / "rows.spool"));
    }
    if (saved != nullptr) {
        ::setenv("TMPDIR", saved_value.c_str(), 1);
    } else {
        ::unsetenv("TMPDIR");
    }
}

TEST_CASE("replay --snapshot: the sample bot and examples/plan replay, validate and show in status") {
    test_support::TempDir tmp;
    test_support::TestDatabase db;
    enmap::SampleOptions sample;
    sample.generation = "5.9";
    sample.scale = 8;
    sample.wal = true;
    auto written = enmap::write_sample_database(tmp.path() / "data", sample);
    std::string store = (tmp.path() / "store").string();
    auto snap = test_support::run_cli({"--store", store, "snapshot", "create", "--data-dir",
                                       (tmp.path() / "data").string(), "--label", "pre"});
    REQUIRE_MESSAGE(snap.status == 0, snap.err);
    std::string plan = (test_support::source_dir() / "examples" / "plan").string();
    auto replay = test_support::run_cli(
        {"--store", store, "--database", db.url(), "--json", "replay", "--snapshot", "pre", "--plan", plan});
    REQUIRE_MESSAGE(replay.status == 0, replay.err << replay.out);

    pqxx::connection conn(db.url());
    pqxx::work tx(conn);
    CHECK(tx.exec1("SELECT count(*) FROM raw_points")[0].as<std::uint64_t>() == written.rows.at("points"));
    CHECK(tx.exec1("SELECT count(*) FROM member_levels")[0].as<std::uint64_t>() == written.rows.at("points"));
    CHECK(tx.exec1("SELECT count(*) FROM guild_settings")[0].as<std::uint64_t>() == 8);
    // The WAL's uncheckpointed writes were captured and replayed.
    CHECK(tx.exec1("SELECT value FROM raw_global WHERE key = 'maintenance'")[0].as<std::string>() == "true");
    CHECK(tx.exec1("SELECT count(*) FROM raw_global WHERE key = 'lastCrash'")[0].as<int>() == 1);
    // BigInts arrive digit for digit.
    CHECK(tx.exec1("SELECT count(*) FROM economy e JOIN raw_economy r ON r.key = e.user_id "
                   "WHERE e.bank::text = r.value->>'bank'")[0]
              .as<std::uint64_t>() == written.rows.at("economy"));
    CHECK(tx.exec1("SELECT count(*) FROM drizzle.__drizzle_migrations")[0].as<int>() == 2);

    auto validate =
        test_support::run_cli({"--store", store, "--database", db.url(), "validate", "--snapshot", "pre"});
    CHECK_MESSAGE(validate.status == 0, validate.err);
    auto status = test_support::run_cli({"--database", db.url(), "--json", "status"});
    CHECK(status.status == 0);
    CHECK(status.out.find("committed") != std::string::npos);
}

TEST_CASE("snapshot source: tables are read in storage order, once, and sent in key order") {
    test_support::TempDir tmp;
    enmap::SampleTableOptions sample;
    sample.generation = "6";
    sample.table = "levels";
    sample.rows = 40000;  // over two key ranges of the spool's
    enmap::write_sample_table(tmp.path() / "data", sample);
    std::string id = take_snapshot(tmp.path() / "store", tmp.path() / "data" / "enmap.sqlite", "bench");
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_read, "test");
    std::string manifest_digest =
        store.read_manifest(snapshot::from_hex(id))["tables"]["levels"]["sha256"].get<std::string>();

    std::vector<std::string> storage_order;
    {
        SQLite::Database db((tmp.path() / "data" / "enmap.sqlite").string(), SQLite::OPEN_READONLY);
        SQLite::Statement q(db, "SELECT key FROM levels ORDER BY rowid");
        while (q.executeStep()) {
            storage_order.push_back(q.getColumn(0).getString());
        }
    }
    auto sorted = storage_order;
    std::sort(sorted.begin(), sorted.end());
    REQUIRE(sorted != storage_order);

    // Default policies: the manifest's digest stands; rows are read in storage order, and COPY
    // gets them in key order.
    replay::SnapshotSource fast(tmp.path() / "store", "bench");
    fast.prepare({});
    CHECK(fast.digests_from_manifest() == std::vector<std::string>{"levels"});
    REQUIRE(fast.tables().size() == 1);
    CHECK(fast.tables()[0].rows == 40000);
    CHECK(fast.tables()[0].digest == manifest_digest);
    CHECK(fast.tables()[0].encoding == "better-serialize");
    std::vector<std::string> keys;
    std::map<std::string, std::string> values;
    fast.for_each_row("levels", [&](std::string_view key, std::string_view value) {
        keys.emplace_back(key);
        values[std::string(key)] = std::string(value);
    });
    std::sort(keys.begin(), keys.end());
    CHECK(keys == sorted);
    std::vector<std::string> sent;
    std::uint64_t tuples = 0;
    fast.for_each_tuple_chunk("levels", [&](std::string_view chunk, std::uint64_t rows) {
        tuples += rows;
        replay::parse_copy_tuples(chunk,
                                  [&](std::string_view key, std::string_view) { sent.emplace_back(key); });
    });
    CHECK(tuples == 40000);
    CHECK(sent == sorted);

    // Preparing again (rehearse validates with the source it replayed) keeps the spool.
    fast.prepare({});
    std::uint64_t again = 0;
    fast.for_each_row("levels", [&](std::string_view, std::string_view) { ++again; });
    CHECK(again == 40000);
    CHECK(fast.tables().size() == 1);

    // A --format override: the digest is computed, from the same storage-order read, and comes out
    // the same; the rows are sent in key order alike.
    replay::SnapshotSource forced(tmp.path() / "store", "bench",
                                  {{"levels", enmap::Encoding::k_better_serialize}});
    forced.prepare({});
    CHECK(forced.digests_from_manifest().empty());
    CHECK(forced.tables()[0].digest == manifest_digest);
    std::uint64_t checked = 0;
    forced.for_each_row("levels", [&](std::string_view key, std::string_view value) {
        CHECK(values.at(std::string(key)) == value);
        ++checked;
    });
    CHECK(checked == 40000);
    sent.clear();
    forced.for_each_tuple_chunk("levels", [&](std::string_view chunk, std::uint64_t) {
        replay::parse_copy_tuples(chunk,
                                  [&](std::string_view key, std::string_view) { sent.emplace_back(key); });
    });
    CHECK(sent == sorted);
}

TEST_CASE("snapshot source: a damaged chunk read through the store's VFS is a store error") {
    test_support::TempDir tmp;
    enmap::SampleTableOptions sample;
    sample.generation = "5.7";
    sample.rows = 3000;
    enmap::write_sample_table(tmp.path() / "data", sample);
    take_snapshot(tmp.path() / "store", tmp.path() / "data" / "enmap.sqlite", "lone");
    // Flip a byte in the middle of every pack: the page it lands in no longer matches its SHA-256.
    for (const auto& entry : fs::recursive_directory_iterator(tmp.path() / "store" / "data")) {
        if (!entry.is_regular_file()) {
            continue;
        }
        snapshot_test::flip_middle_byte(entry.path(), 0x5A);
    }
    replay::SnapshotSource source(tmp.path() / "store", "lone");
    CHECK_THROWS_AS(source.prepare({}), enmap::StoreError);
}

TEST_SUITE_END();
