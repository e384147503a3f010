// snapshot/pack_check.cpp: create deduplicates only against chunks whose pack is present
// and long enough, so a snapshot taken after a pack was lost or cut short can be restored.

#include <doctest/doctest.h>

#include "snapshot/capture.hpp"
#include "snapshot/pack_check.hpp"
#include "snapshot/store.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {
std::vector<fs::path> pack_files(const fs::path& store) {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(store / "data")) {
        if (e.is_regular_file()) {
            out.push_back(e.path());
        }
    }
    return out;
}
}  // namespace

TEST_CASE("lost packs: a snapshot taken after its chunks' pack was deleted or cut short restores") {
    for (const char* damage : {"deleted", "cut short"}) {
        CAPTURE(damage);
        test_support::TempDir tmp;
        fs::path db = tmp.path() / "enmap.sqlite";
        snapshot_test::make_database(db, 2000);
        fs::path root = tmp.path() / "store";
        {
            snapshot::Store store(root, snapshot::Store::Access::k_write, "test");
            snapshot::CaptureOptions options;
            options.database = db;
            snapshot::capture(store, options);
        }
        auto packs = pack_files(root);
        REQUIRE(!packs.empty());
        for (const auto& p : packs) {
            if (std::string(damage) == "deleted") {
                fs::remove(p);
            } else {
                fs::resize_file(p, fs::file_size(p) / 2);
            }
        }
        snapshot::Store store(root, snapshot::Store::Access::k_write, "test");
        CHECK(snapshot::PackCheck(store).unsound_packs().size() == packs.size());
        snapshot::CaptureOptions options;
        options.database = db;
        options.label = "pre-migration";
        auto result = snapshot::capture(store, options);
        CHECK(result.manifest["bytes_stored_new"].get<std::uint64_t>() > 0);
        // Restorable, by this store and by a fresh one that loads both copies from the index.
        store.materialize(result.id, tmp.path() / "out");
        CHECK(test_support::read_file(tmp.path() / "out" / "enmap.sqlite") == test_support::read_file(db));
        snapshot::Store fresh(root, snapshot::Store::Access::k_read, "test");
        fresh.materialize(result.id, tmp.path() / "out2");
        CHECK(test_support::read_file(tmp.path() / "out2" / "enmap.sqlite") == test_support::read_file(db));
    }
}
