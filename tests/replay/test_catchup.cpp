// replay --since: the catch-up replay. The proof: the sample bot replayed with examples/plan
// (BASE), changed at random through SQLite, snapshotted again (NEW) and caught up, holds in every
// table, raw_ and normalized, what a full replay of NEW into a fresh database holds. Then the
// refusals, rollback of a catch-up run, and the ledger's chain.

#include <SQLiteCpp/SQLiteCpp.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "enmap/error.hpp"
#include "enmap/sample.hpp"
#include "replay/catchup.hpp"
#include "replay/copy.hpp"
#include "replay/engine.hpp"
#include "replay/jsonl_source.hpp"
#include "replay/ledger.hpp"
#include "replay/snapshot_source.hpp"
#include "rollback/postgres.hpp"
#include "snapshot/capture.hpp"
#include "tests/replay/json_schema_subset.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using test_support::TempDir;
using test_support::TestDatabase;

namespace {

fs::path examples_plan() {
    return test_support::source_dir() / "examples" / "plan";
}

void write_bot(const fs::path& dir, std::uint64_t seed) {
    enmap::SampleOptions sample;
    sample.generation = "5.7";  // JSON.stringify values: SQLite's json_set keeps them valid Enmap values
    sample.scale = 3;
    sample.seed = seed;
    enmap::write_sample_database(dir, sample);
}

std::string capture(const fs::path& store_dir, const fs::path& bot, const std::string& label) {
    snapshot::Store store(store_dir, snapshot::Store::Access::k_write, "test");
    snapshot::CaptureOptions options;
    options.database = bot / "enmap.sqlite";
    options.label = label;
    options.summarize = snapshot::count_rows;
    return snapshot::to_hex(snapshot::capture(store, options).id);
}

replay::ReplayReport replay_into(const std::string& url, const fs::path& store, const std::string& ref,
                                 const std::string& since = "", const fs::path& plan = examples_plan()) {
    replay::SnapshotSource source(store, ref);
    std::unique_ptr<replay::SnapshotSource> base;
    replay::ReplayOptions options;
    options.database_url = url;
    options.plan_dir = plan;
    if (!since.empty()) {
        base = std::make_unique<replay::SnapshotSource>(store, since);
        options.since = base.get();
    }
    replay::Events events;
    return replay::run_replay(source, options, events);
}

using replay_test::digests;

std::vector<std::string> keys_of(SQLite::Database& db, const std::string& table) {
    std::vector<std::string> keys;
    SQLite::Statement q(db, "SELECT key FROM '" + table + "' ORDER BY key");
    while (q.executeStep()) {
        keys.push_back(q.getColumn(0).getString());
    }
    return keys;
}

// Random changes through SQLite, as the bot would make them between the two snapshots: updates,
// inserts, deletes, one table emptied now and then, and the reminders' autonum counter bumped.
// The values stay what examples/plan's transforms and verify queries accept (a guild that has
// settings, a reminder id under the counter).
std::string mutate(const fs::path& file, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    auto number = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
    SQLite::Transaction tx(db);
    std::string log;
    auto exec = [&](const std::string& sql, const std::vector<std::string>& args) {
        SQLite::Statement s(db, sql);
        for (std::size_t i = 0; i < args.size(); ++i) {
            s.bind(static_cast<int>(i + 1), args[i]);
        }
        s.exec();
    };
    const std::vector<std::string> tables = {"global",    "guildsettings", "points",    "tags",
                                             "reminders", "warnings",      "giveaways", "economy"};
    // The table emptied this time, or none.
    std::string emptied;
    if (number(0, 2) == 0) {
        const std::vector<std::string> emptiable = {"points",   "tags",      "reminders",
                                                    "warnings", "giveaways", "economy"};
        emptied = emptiable[pick(emptiable.size())];
    }
    for (const auto& table : tables) {
        auto keys = keys_of(db, table);
        if (keys.empty()) {
            continue;
        }
        const std::string t = "'" + table + "'";
        // Updates: a field of the value changed (json_set keeps it JSON.stringify text), or another
        // row's value copied over where the normalized row depends on the key only.
        int updates = number(0, 6);
        for (int i = 0; i < updates; ++i) {
            const std::string& key = keys[pick(keys.size())];
            if (table == "points") {
                exec(
                    "UPDATE " + t + " SET value = json_set(value, '$.points', ?, '$.level', ?) WHERE key = ?",
                    {std::to_string(number(0, 5000)), std::to_string(number(0, 50)), key});
                // bound as text: json_set stores them as JSON strings; the transform casts ->> to int
                if (i == 0 && seed % 2 == 1) {
                    // The member moves: its member_levels row is keyed by the value's user, which the
                    // incremental SQL can only find gone by its anti-join.
                    exec("UPDATE " + t + " SET value = json_set(value, '$.user', ?) WHERE key = ?",
                         {"8" + std::to_string(seed) + std::to_string(100000 + number(0, 99999)), key});
                }
            } else if (table == "guildsettings") {
                exec("UPDATE " + t + " SET value = json_set(value, '$.prefix', ?) WHERE key = ?",
                     {"?" + std::to_string(number(0, 99)), key});
            } else {
                const std::string& from = keys[pick(keys.size())];
                exec("UPDATE " + t + " SET value = (SELECT value FROM " + t + " WHERE key = ?) WHERE key = ?",
                     {from, key});
            }
        }
        // Inserts: new keys shaped like the table's, values copied from existing rows.
        int inserts = number(0, 5);
        for (int i = 0; i < inserts; ++i) {
            const std::string& from = keys[pick(keys.size())];
            std::string fresh = "9" + std::to_string(seed) + std::to_string(100000 + i);
            if (table == "points") {
                std::string guild = from.substr(0, from.find('-'));
                exec("INSERT OR REPLACE INTO " + t +
                         " (key, value) SELECT ?, json_set(value, '$.guild', ?, '$.user', ?) FROM " + t +
                         " WHERE key = ?",
                     {guild + "-" + fresh, guild, fresh, from});
            } else if (table == "tags") {
                exec("INSERT OR REPLACE INTO " + t + " (key, value) SELECT ?, value FROM " + t +
                         " WHERE key = ?",
                     {from.substr(0, from.find(':')) + ":new-" + fresh, from});
            } else if (table == "warnings") {
                exec("INSERT OR REPLACE INTO " + t + " (key, value) SELECT ?, value FROM " + t +
                         " WHERE key = ?",
                     {from.substr(0, from.find('-')) + "-" + fresh, from});
            } else if (table == "reminders") {
                exec("INSERT INTO " + t +
                         " (key, value) SELECT CAST((SELECT max(CAST(key AS integer)) FROM " + t +
                         ") + 1 AS text), value FROM " + t + " WHERE key = ?",
                     {from});
            } else {
                exec("INSERT OR REPLACE INTO " + t + " (key, value) SELECT ?, value FROM " + t +
                         " WHERE key = ?",
                     {fresh, from});
            }
        }
        // Deletes (guild settings stay: levels and tags refer to their guilds).
        if (table != "guildsettings") {
            int deletes = number(0, 4);
            for (int i = 0; i < deletes && !keys.empty(); ++i) {
                std::size_t at = pick(keys.size());
                exec("DELETE FROM " + t + " WHERE key = ?", {keys[at]});
                keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(at));
            }
        }
        if (table == emptied) {
            db.exec("DELETE FROM " + t);
        }
        log += " " + table + ":u" + std::to_string(updates) + "/i" + std::to_string(inserts);
    }
    // The counter: at least the highest reminder id, bumped at random.
    db.exec(
        "UPDATE 'internal::autonum' SET lastnum = max(lastnum, coalesce((SELECT max(CAST(key AS integer)) "
        "FROM "
        "'reminders'), 0)) + " +
        std::to_string(number(0, 3)) + " WHERE enmap = 'reminders'");
    tx.commit();
    return log + (emptied.empty() ? "" : " emptied:" + emptied);
}

// examples/plan without its incremental SQL: every module's transform re-runs in full.
fs::path plan_without_incremental(const fs::path& dir) {
    fs::copy(examples_plan(), dir, fs::copy_options::recursive);
    nlohmann::json plan = nlohmann::json::parse(test_support::read_file(dir / "plan.json"));
    for (auto& m : plan["modules"]) {
        m.erase("incremental");
    }
    replay_test::write_file(dir / "plan.json", plan.dump(2));
    return dir;
}

}  // namespace

TEST_CASE("replay --since: every table of a catch-up run equals a full replay of NEW (random changes)") {
    TempDir plans;
    const fs::path full_plan = plan_without_incremental(plans.path() / "full");
    for (std::uint64_t seed = 1; seed <= 8; ++seed) {
        CAPTURE(seed);
        // Seeds 7 and 8 without incremental SQL: the transforms re-run after their tables are emptied.
        const fs::path plan = seed <= 6 ? examples_plan() : full_plan;
        auto started = std::chrono::steady_clock::now();
        TempDir tmp;
        TestDatabase a;
        TestDatabase b;
        fs::path bot = tmp.path() / "bot";
        fs::path store = tmp.path() / "store";
        write_bot(bot, seed);
        std::string base = capture(store, bot, "base");
        auto first = replay_into(a.url(), store, base, "", plan);
        REQUIRE(first.status == "committed");
        auto at_base = digests(a.url());
        std::string changes = mutate(bot / "enmap.sqlite", seed);
        CAPTURE(changes);
        std::string next = capture(store, bot, "new");
        auto caught = replay_into(a.url(), store, next, base, plan);
        REQUIRE(caught.status == "committed");
        CHECK(caught.base_run == first.run_id);
        for (const auto& t : caught.catchup["tables"]) {
            // The sample's tables have a key index: their spools give the keys in order, and merge.
            CHECK(t["merged"] == t["read"]);
        }
        for (const auto& m : caught.modules) {
            CAPTURE(m.name);
            bool incremental = seed <= 6 && m.name != "@autonum";
            CHECK((m.catchup == "unchanged" || m.catchup == (incremental            ? "incremental"
                                                             : m.name == "@autonum" ? "counters"
                                                                                    : "full")));
        }
        CHECK(caught.validation.ok);
        auto full = replay_into(b.url(), store, next, "", plan);
        REQUIRE(full.status == "committed");
        auto in_a = digests(a.url());
        auto in_b = digests(b.url());
        CHECK(in_a.size() == in_b.size());
        CHECK(in_a.size() > 15);  // 8 raw_ tables, the autonum table, 9 normalized, Drizzle's
        for (const auto& entry : in_b) {
            const std::string& table = entry.first;
            CAPTURE(table);
            CHECK(in_a[table] == entry.second);
        }
        CHECK(in_a != at_base);
        // Rolling the catch-up back returns every table to the base run's state, exactly.
        rollback::PostgresOptions undo;
        undo.database_url = a.url();
        undo.store = store;
        auto undone = rollback::rollback_postgres(undo);
        CHECK(undone.run_id == caught.run_id);
        CHECK(digests(a.url()) == at_base);
        double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        MESSAGE("seed " << seed << ": " << changes << " in " << seconds << " s");
    }
}

TEST_CASE("replay --since: the ledger records the chain, and a catch-up of a catch-up works") {
    TempDir tmp;
    TestDatabase a;
    TestDatabase b;
    fs::path bot = tmp.path() / "bot";
    fs::path store = tmp.path() / "store";
    write_bot(bot, 7);
    std::string s1 = capture(store, bot, "s1");
    auto r1 = replay_into(a.url(), store, s1);
    mutate(bot / "enmap.sqlite", 70);
    std::string s2 = capture(store, bot, "s2");
    auto r2 = replay_into(a.url(), store, s2, s1);
    mutate(bot / "enmap.sqlite", 71);
    std::string s3 = capture(store, bot, "s3");
    auto r3 = replay_into(a.url(), store, s3, s2);
    REQUIRE(r3.status == "committed");
    CHECK(r3.base_run == r2.run_id);
    CHECK(r2.base_run == r1.run_id);
    REQUIRE(replay_into(b.url(), store, s3).status == "committed");
    CHECK(digests(a.url()) == digests(b.url()));
    pqxx::connection conn(a.url());
    pqxx::read_transaction tx(conn);
    auto ledger = replay::read_ledger(tx, 10);
    REQUIRE(ledger["runs"].size() == 3);
    CHECK(ledger["runs"][0]["base_run"] == r2.run_id);
    CHECK(ledger["runs"][1]["base_run"] == r1.run_id);
    CHECK(ledger["runs"][2]["base_run"].is_null());
    auto out = test_support::run_cli({"status", "--database", a.url()});
    CHECK(out.status == 0);
    CHECK(out.out.find("catch-up of run " + std::to_string(r2.run_id)) != std::string::npos);
    CHECK(out.out.find("chain " + std::to_string(r3.run_id) + " <- " + std::to_string(r2.run_id) + " <- " +
                       std::to_string(r1.run_id)) != std::string::npos);
}

TEST_CASE("replay --since: an unchanged snapshot catches up with no writes") {
    TempDir tmp;
    TestDatabase a;
    fs::path bot = tmp.path() / "bot";
    fs::path store = tmp.path() / "store";
    write_bot(bot, 8);
    std::string s1 = capture(store, bot, "s1");
    REQUIRE(replay_into(a.url(), store, s1).status == "committed");
    auto before = digests(a.url());
    std::string s2 = capture(store, bot, "s2");
    auto r = replay_into(a.url(), store, s2, s1);
    REQUIRE(r.status == "committed");
    for (const auto& m : r.modules) {
        CAPTURE(m.name);
        CHECK(m.upserted == 0);
        CHECK(m.deleted == 0);
        CHECK((m.catchup == "unchanged" || m.catchup == "counters"));
    }
    for (const auto& t : r.catchup["tables"]) {
        CHECK(t["read"] == false);
    }
    CHECK(digests(a.url()) == before);
    CHECK(replay_test::query_value(a.url(),
                                   "SELECT count(*) FROM enmap_migrate.written_tables WHERE run_id = " +
                                       std::to_string(r.run_id)) == "0");
}

TEST_CASE("replay --since: refusals name what to do") {
    TempDir tmp;
    TestDatabase a;
    TestDatabase empty;
    fs::path bot = tmp.path() / "bot";
    fs::path store = tmp.path() / "store";
    write_bot(bot, 9);
    std::string base = capture(store, bot, "base");
    REQUIRE(replay_into(a.url(), store, base).status == "committed");
    mutate(bot / "enmap.sqlite", 90);
    std::string next = capture(store, bot, "new");
    auto refused = [&](const std::string& url, const std::string& ref, const std::string& since,
                       const fs::path& plan = examples_plan()) -> std::string {
        try {
            replay_into(url, store, ref, since, plan);
        } catch (const enmap::RefusedError& e) {
            return std::string(e.what()) + " | " + e.hint();
        }
        FAIL("not refused");
        return "";
    };
    SUBCASE("the target holds no committed run of BASE") {
        auto message = refused(empty.url(), next, base);
        CHECK(message.find("does not hold a committed run of the base") != std::string::npos);
        CHECK(message.find("replay the base first") != std::string::npos);
        // A database whose run replayed another snapshot: catch up from that one.
        TestDatabase other;
        REQUIRE(replay_into(other.url(), store, next).status == "committed");
        message = refused(other.url(), next, base);
        CHECK(message.find("--since " + next) != std::string::npos);
    }
    SUBCASE("the plan changed since BASE was replayed") {
        fs::path plan = tmp.path() / "plan";
        fs::copy(examples_plan(), plan, fs::copy_options::recursive);
        {
            std::ofstream out(plan / "modules" / "tags" / "transform.sql", std::ios::app);
            out << "\n-- a changed comment changes the plan digest\n";
        }
        auto message = refused(a.url(), next, base, plan);
        CHECK(message.find("the plan changed since run") != std::string::npos);
        CHECK(message.find("full rehearsal") != std::string::npos);
        CHECK(message.find("rollback postgres --run") != std::string::npos);
    }
    SUBCASE("NEW is not a later capture of the same database") {
        auto message = refused(a.url(), base, next);
        CHECK(message.find("not after the base") != std::string::npos);
        message = refused(a.url(), base, base);
        CHECK(message.find("is the base snapshot itself") != std::string::npos);
        fs::path other_bot = tmp.path() / "other-bot";
        write_bot(other_bot, 9);
        std::string other = capture(store, other_bot, "other");
        message = refused(a.url(), other, base);
        CHECK(message.find("not a later capture of the same database") != std::string::npos);
    }
    // Nothing was written by any refusal: the base run is still the only one.
    CHECK(replay_test::query_value(a.url(), "SELECT count(*) FROM enmap_migrate.runs") == "1");
}

TEST_CASE("replay --since: the command line, its report and its exit statuses") {
    TempDir tmp;
    TestDatabase a;
    fs::path bot = tmp.path() / "bot";
    fs::path store = tmp.path() / "store";
    write_bot(bot, 11);
    std::string base = capture(store, bot, "base");
    const std::vector<std::string> common = {"--store", store.string(), "--database",
                                             a.url(),   "--plan",       examples_plan().string()};
    auto with = [&](std::vector<std::string> args) {
        args.insert(args.end(), common.begin(), common.end());
        return test_support::run_cli(args);
    };
    auto r = with({"replay", "--snapshot", "base"});
    REQUIRE(r.status == 0);
    mutate(bot / "enmap.sqlite", 110);
    capture(store, bot, "new");
    // Backwards: NEW (here base) is not after BASE (here new).
    r = with({"replay", "--snapshot", "base", "--since", "new"});
    CHECK(r.status == 7);
    CHECK(r.err.find("not after the base") != std::string::npos);
    r = with({"replay", "--snapshot", "new", "--since", "base", "--only", "tags"});
    CHECK(r.status == 2);
    // A dry run of the catch-up validates and leaves no trace.
    auto before = digests(a.url());
    r = with({"replay", "--snapshot", "new", "--since", "base", "--dry-run"});
    CHECK(r.status == 0);
    CHECK(r.out.find("catch-up of run 1") != std::string::npos);
    CHECK(digests(a.url()) == before);
    CHECK(replay_test::query_value(a.url(), "SELECT count(*) FROM enmap_migrate.runs") == "1");
    r = with({"--json", "replay", "--snapshot", "new", "--since", "base"});
    REQUIRE(r.status == 0);
    // Every event, the catch-up's fields included, is what docs/events.schema.json says.
    std::ifstream in(test_support::source_dir() / "docs" / "events.schema.json");
    schema_subset::Validator schema(nlohmann::json::parse(in));
    std::istringstream lines(r.out);
    std::string line;
    nlohmann::json finished;
    while (std::getline(lines, line)) {
        auto event = nlohmann::json::parse(line);
        auto errors = schema.errors(event);
        CAPTURE(line);
        CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
        if (event["event"] == "run_finished") {
            finished = event;
        }
    }
    REQUIRE(finished.is_object());
    CHECK(finished["base_run"] == 1);
    CHECK(finished["catchup"]["tables"].size() == 8);
    r = test_support::run_cli({"status", "--database", a.url()});
    CHECK(r.out.find("catch-up of run 1") != std::string::npos);
    r = with({"--json", "replay", "--snapshot", "new", "--since", "new"});
    CHECK(r.status == 7);  // NEW is BASE
    r = test_support::run_cli({"validate", "--store", store.string(), "--database", a.url()});
    CHECK(r.status == 0);  // against the snapshot the catch-up run replayed
}

namespace {

std::string jsonl(const std::vector<std::array<std::string, 3>>& rows) {
    std::string out;
    for (const auto& [table, key, value] : rows) {
        out +=
            nlohmann::json({{"table", table}, {"key", key}, {"value", nlohmann::json::parse(value)}}).dump();
        out += "\n";
    }
    return out;
}

// The rows a CatchupDiff hands over for one enmap, as "key=value" (upserts) and keys (removals).
std::vector<std::string> rows_of(const replay::CatchupDiff& diff, const std::string& enmap, bool upserts) {
    std::vector<std::string> out;
    auto collect = [&](std::string_view tuples, std::uint64_t) {
        replay::parse_copy_tuples(tuples, [&](std::string_view key, std::string_view value) {
            out.push_back(upserts ? std::string(key) + "=" + std::string(value) : std::string(key));
        });
    };
    if (upserts) {
        diff.read_upserts(enmap, collect);
    } else {
        diff.read_removals(enmap, collect);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("CatchupDiff: keys added, changed and removed, merged in key order or through a hash table") {
    TempDir tmp;
    const std::vector<std::array<std::string, 3>> same = {{"same", "k1", "1"}, {"same", "k2", "[2]"}};
    std::vector<std::array<std::string, 3>> before = {
        {"t", "a", "1"}, {"t", "b", "{\"x\":2}"}, {"t", "c", "3"}, {"t", "d", "4"}};
    before.insert(before.end(), same.begin(), same.end());
    replay_test::write_file(tmp.path() / "base.jsonl", jsonl(before));
    replay::JsonlSource base(tmp.path() / "base.jsonl");
    base.prepare({});
    for (bool ordered : {true, false}) {
        CAPTURE(ordered);
        std::vector<std::array<std::string, 3>> after = {
            {"t", "a", "1"}, {"t", "b", "{\"x\":20}"}, {"t", "d", "4"}, {"t", "e", "\"five\""}};
        if (!ordered) {
            std::reverse(after.begin(), after.end());  // a JSON-lines source gives its file's order
        }
        after.insert(after.end(), same.begin(), same.end());
        fs::path file = tmp.path() / (ordered ? "ordered.jsonl" : "reversed.jsonl");
        replay_test::write_file(file, jsonl(after));
        replay::JsonlSource next(file);
        next.prepare({});
        replay::CatchupDiff diff(base, next);
        const auto& t = diff.delta("t");
        CHECK(t.read);
        CHECK(t.merged == ordered);
        CHECK(t.added == 1);
        CHECK(t.changed == 1);
        CHECK(t.removed == 1);
        CHECK(rows_of(diff, "t", true) == std::vector<std::string>{"b={\"x\":20}", "e=\"five\""});
        CHECK(rows_of(diff, "t", false) == std::vector<std::string>{"c"});
        const auto& s = diff.delta("same");
        CHECK_FALSE(s.read);
        CHECK(s.empty());
        CHECK(rows_of(diff, "same", true).empty());
    }
}

TEST_SUITE_END();
