// snapshot/store.cpp, verify.cpp, prune.cpp, archive.cpp: references, damage, prune, archives, modes.

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <memory>

#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/store.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using snapshot::Store;

namespace {
snapshot::Hash capture_file(Store& store, const fs::path& file, const std::string& label = {}) {
    snapshot::CaptureOptions options;
    options.kind = snapshot::CaptureOptions::Kind::k_export;
    options.exports = {file};
    options.label = label;
    return snapshot::capture(store, options).id;
}

}  // namespace

TEST_CASE("snapshot store: references by full id, prefix, label and latest; ambiguous prefixes refused") {
    test_support::TempDir tmp;
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    fs::path file = tmp.path() / "points.json";
    std::vector<snapshot::Hash> ids;
    // Enough snapshots that two ids must share their first hex digit.
    for (int i = 0; i < 17; ++i) {
        std::ofstream(file) << "{\"n\":" << i << "}";
        ids.push_back(capture_file(store, file, i == 3 ? "third" : (i == 5 ? "fifth" : "")));
    }
    CHECK(store.resolve("latest") == ids.back());
    CHECK(store.resolve("third") == ids[3]);
    CHECK(store.resolve("fifth") == ids[5]);
    CHECK(store.resolve(snapshot::to_hex(ids[7])) == ids[7]);
    CHECK(store.resolve(snapshot::to_hex(ids[7]).substr(0, 12)) == ids[7]);
    CHECK(store.resolve(snapshot::to_hex(ids[7]).substr(0, 12)) == ids[7]);
    std::map<char, int> first_digit;
    std::string shared;
    for (const auto& id : ids) {
        if (++first_digit[snapshot::to_hex(id)[0]] == 2) {
            shared = snapshot::to_hex(id).substr(0, 1);
        }
    }
    REQUIRE(!shared.empty());
    CHECK_THROWS_AS((void)store.resolve(shared), enmap::UsageError);
    CHECK_THROWS_AS((void)store.resolve("no-such-label"), enmap::StoreError);
    // A label names its newest snapshot.
    std::ofstream(file) << "{\"n\":99}";
    auto again = capture_file(store, file, "third");
    CHECK(store.resolve("third") == again);
}

TEST_CASE("snapshot store: files are 0600 and folders 0700") {
    test_support::TempDir tmp;
    ::umask(022);
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 100);
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    snapshot_test::capture_db(store, db, "modes");
    std::size_t files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(tmp.path() / "store")) {
        struct stat st {};
        REQUIRE(::stat(entry.path().c_str(), &st) == 0);
        CAPTURE(entry.path().string());
        if (entry.is_directory()) {
            CHECK((st.st_mode & 0777) == 0700);
        } else {
            CHECK((st.st_mode & 0777) == 0600);
            ++files;
        }
    }
    struct stat root {};
    REQUIRE(::stat((tmp.path() / "store").c_str(), &root) == 0);
    CHECK((root.st_mode & 0777) == 0700);
    CHECK(files >= 4);  // config, lock, a pack, an index, a manifest
}

TEST_CASE("snapshot store: verify names a flipped byte, a truncated pack and a deleted pack") {
    enum class Damage { k_flip, k_truncate, k_delete };
    for (Damage damage : {Damage::k_flip, Damage::k_truncate, Damage::k_delete}) {
        CAPTURE(static_cast<int>(damage));
        test_support::TempDir tmp;
        fs::path db = tmp.path() / "enmap.sqlite";
        snapshot_test::make_database(db, 400);
        snapshot::Hash id;
        {
            Store store(tmp.path() / "store", Store::Access::k_write, "test");
            id = snapshot_test::capture_db(store, db, "victim");
            CHECK(store.verify().ok());
        }
        fs::path pack = snapshot_test::only_pack(tmp.path() / "store");
        std::string pack_id = pack.filename().string();
        if (damage == Damage::k_flip) {
            snapshot_test::flip_middle_byte(pack);
        } else if (damage == Damage::k_truncate) {
            fs::resize_file(pack, fs::file_size(pack) - 1000);
        } else {
            fs::remove(pack);
        }
        Store store(tmp.path() / "store", Store::Access::k_read, "test");
        auto report = store.verify();
        CHECK_FALSE(report.ok());
        std::string text = report.to_json().dump();
        CHECK(text.find("pack " + pack_id) != std::string::npos);
        REQUIRE(report.affected.size() == 1);
        CHECK(report.affected[0] == snapshot::to_hex(id));
        CHECK_THROWS_AS(store.materialize(id, tmp.path() / "out"), enmap::StoreError);
    }
}

TEST_CASE("snapshot store: prune keeps what kept snapshots need, byte for byte") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 2000, "delete");
    snapshot_test::Rounds rounds;
    {
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        rounds = snapshot_test::capture_rounds(
            store, db, 4,
            [&](int round) {
                snapshot_test::update_rows(db, round * 13, 101, 15, "round-" + std::to_string(round));
            },
            [](int round) { return round == 0 ? std::string("baseline") : std::string(); });
    }
    std::uint64_t before = 0;
    for (const auto& file : snapshot_test::files_under(tmp.path() / "store" / "data")) {
        before += fs::file_size(file);
    }
    Store store(tmp.path() / "store", Store::Access::k_maintain, "test");
    snapshot::PrunePolicy policy;
    policy.keep_last = 1;
    policy.keep_labels = {"baseline"};
    auto report = store.prune(policy);
    CHECK(report.kept.size() == 2);
    CHECK(report.removed.size() == 2);
    CHECK(report.chunks_removed > 0);
    std::uint64_t after = 0;
    for (const auto& file : snapshot_test::files_under(tmp.path() / "store" / "data")) {
        after += fs::file_size(file);
    }
    CHECK(after < before);
    CHECK(store.list().size() == 2);
    CHECK(store.verify().ok());
    CHECK(snapshot_test::restored_bytes(store, rounds.ids[0], "enmap.sqlite", tmp.path() / "r0") ==
          rounds.versions[0]);
    CHECK(snapshot_test::restored_bytes(store, rounds.ids[3], "enmap.sqlite", tmp.path() / "r3") ==
          rounds.versions[3]);
    CHECK_THROWS_AS((void)store.read_manifest(rounds.ids[1]), enmap::StoreError);
    snapshot::PrunePolicy none;
    CHECK_THROWS_AS(store.prune(none), enmap::UsageError);
}

TEST_CASE("snapshot store: archive, import into an empty store, restore byte for byte") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 500);
    std::string v1 = test_support::read_file(db);
    snapshot::Hash a;
    snapshot::Hash b;
    {
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        a = snapshot_test::capture_db(store, db, "one");
        snapshot_test::update_rows(db, 3, 50, 5, "two");
        b = snapshot_test::capture_db(store, db, "two");
        store.archive({a, b}, tmp.path() / "backup.emsa");
    }
    std::string v2 = test_support::read_file(db);
    {
        Store other(tmp.path() / "elsewhere", Store::Access::k_write, "test");
        auto ids = other.import_archive(tmp.path() / "backup.emsa");
        CHECK(ids == std::vector<snapshot::Hash>{a, b});
        CHECK(other.verify().ok());
        CHECK(other.resolve("one") == a);
        CHECK(snapshot_test::restored_bytes(other, a, "enmap.sqlite", tmp.path() / "ra") == v1);
        CHECK(snapshot_test::restored_bytes(other, b, "enmap.sqlite", tmp.path() / "rb") == v2);
    }
    // A damaged archive is refused and leaves nothing visible.
    std::string bytes = test_support::read_file(tmp.path() / "backup.emsa");
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 1);
    std::ofstream(tmp.path() / "bad.emsa", std::ios::binary) << bytes;
    Store fresh(tmp.path() / "fresh", Store::Access::k_write, "test");
    CHECK_THROWS_AS(fresh.import_archive(tmp.path() / "bad.emsa"), enmap::InputError);
    CHECK(fresh.list().empty());
    std::ofstream(tmp.path() / "cut.emsa", std::ios::binary) << bytes.substr(0, bytes.size() - 40);
    CHECK_THROWS_AS(fresh.import_archive(tmp.path() / "cut.emsa"), enmap::InputError);
    CHECK(fresh.list().empty());
}

TEST_CASE("snapshot store: restore refuses to replace files unless told, then removes stale sidecars") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "data" / "enmap.sqlite";
    fs::create_directories(db.parent_path());
    snapshot_test::make_database(db, 100, "delete");
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    auto id = snapshot_test::capture_db(store, db);
    std::ofstream(db.string() + "-wal") << "stale";
    CHECK_THROWS_AS(store.materialize(id, db.parent_path()), enmap::RefusedError);
    snapshot::MaterializeOptions force;
    force.overwrite = true;
    store.materialize(id, db.parent_path(), force);
    CHECK_FALSE(fs::exists(db.string() + "-wal"));
}

TEST_CASE("snapshot store: a failed upgrade keeps the shared lock, so prune stays locked out") {
    test_support::TempDir tmp;
    fs::path file = tmp.path() / "a.json";
    std::ofstream(file) << "{}";
    {
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        capture_file(store, file);
    }
    auto first = std::make_unique<snapshot::StoreLock>(tmp.path() / "store",
                                                       snapshot::StoreLock::Mode::k_shared, "first");
    snapshot::StoreLock second(tmp.path() / "store", snapshot::StoreLock::Mode::k_shared, "second");
    CHECK_FALSE(second.try_upgrade());
    first.reset();
    // Only `second` holds the lock now, and it must still hold it.
    CHECK_THROWS_AS(
        snapshot::StoreLock(tmp.path() / "store", snapshot::StoreLock::Mode::k_exclusive, "prune"),
        enmap::RefusedError);
    CHECK(second.try_upgrade());
}

TEST_CASE("snapshot store: a file of many parts restores byte for byte with 1 or 3 workers, fsynced or not") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    // Several MiB: more parts than the workers and the writer hold at once, so part buffers are
    // handed back and reused while later parts are still being decompressed.
    snapshot_test::make_database(db, 30000, "delete");
    REQUIRE(fs::file_size(db) > (5U << 20));
    std::string original = test_support::read_file(db);
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    snapshot::Hash id = snapshot_test::capture_db(store, db);
    for (unsigned threads : {1U, 3U}) {
        for (bool durable : {true, false}) {
            CAPTURE(threads);
            CAPTURE(durable);
            fs::path out = tmp.path() / ("out-" + std::to_string(threads) + (durable ? "-sync" : ""));
            snapshot::MaterializeOptions options;
            options.threads = threads;
            options.durable = durable;
            store.materialize(id, out, options);
            CHECK(test_support::read_file(out / "enmap.sqlite") == original);
            CHECK(snapshot_test::files_under(out).size() == 1);  // no temporary file left behind
        }
    }
}
