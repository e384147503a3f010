// snapshot/pack.cpp blocks: many chunks in one zstd frame, each chunk still indexed and checked alone.

#include <doctest/doctest.h>

#include <set>
#include <unordered_set>

#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/chunker.hpp"
#include "snapshot/pack.hpp"
#include "snapshot/store.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using snapshot::Store;

namespace {

std::string page_of(char fill, std::size_t size = 4096) {
    std::string page(size, fill);
    for (std::size_t i = 0; i < size; i += 97) {
        page[i] = static_cast<char>('a' + (i / 97) % 26);
    }
    return page;
}

std::set<snapshot::Hash> needed_set(const Store& store, const snapshot::Hash& id) {
    auto needed = store.needed_chunks(store.read_manifest(id));
    return {needed.begin(), needed.end()};
}

}  // namespace

TEST_CASE("snapshot blocks: a block round-trips, and its member table and members are checked") {
    snapshot::BlockBuilder builder;
    std::vector<std::string> pages = {page_of('x'), page_of('y'), page_of('z', 1000)};
    for (const auto& page : pages) {
        builder.add(snapshot::sha256(page), page);
    }
    CHECK_FALSE(builder.full());
    auto [header, payload] = builder.finish(3);
    CHECK(builder.empty());
    CHECK(header.type == snapshot::EntryType::k_zstd_block);
    CHECK(header.plain_size == 4096 + 4096 + 1000);
    CHECK(header.stored_size == payload.size());
    CHECK(payload.size() < header.plain_size / 4);  // three similar pages compress together

    // The header survives encoding as a pack writes it.
    std::string encoded;
    header.encode(encoded);
    CHECK(encoded.size() == 44);
    auto decoded = snapshot::EntryHeader::decode(encoded);
    REQUIRE(decoded);
    CHECK(decoded->type == snapshot::EntryType::k_zstd_block);
    CHECK(decoded->id == header.id);

    auto block = snapshot::decode_block(header, payload, "test", true);
    REQUIRE(block.members.size() == 3);
    CHECK(block.members[0].offset == 0);
    CHECK(block.members[1].offset == 4096);
    CHECK(block.members[2].offset == 8192);
    CHECK(block.members[2].size == 1000);
    CHECK(block.plain == pages[0] + pages[1] + pages[2]);
    CHECK(snapshot::decode_entry(header, payload, "test") == block.plain);

    // A changed member id: the member table no longer matches the header's id.
    std::string bad_table = payload;
    bad_table[4 + 36 + 5] ^= 0x01;
    CHECK_THROWS_WITH_AS(snapshot::block_members(header, bad_table, "pack P"),
                         doctest::Contains("member table that does not match its SHA-256"),
                         enmap::StoreError);
    // A damaged frame.
    std::string bad_frame = payload;
    bad_frame[bad_frame.size() - 3] ^= 0x55;
    CHECK_THROWS_AS(snapshot::decode_block(header, bad_frame, "pack P", true), enmap::StoreError);

    // A member whose bytes are not what its id says: found when members are checked, naming it.
    snapshot::BlockBuilder liar;
    snapshot::Hash wrong = snapshot::sha256(std::string("something else"));
    liar.add(snapshot::sha256(pages[0]), pages[0]);
    liar.add(wrong, pages[1]);
    auto [liar_header, liar_payload] = liar.finish(3);
    CHECK_NOTHROW(snapshot::decode_block(liar_header, liar_payload, "pack P", false));
    std::string wrong_hex = snapshot::to_hex(wrong);
    CHECK_THROWS_WITH_AS(snapshot::decode_block(liar_header, liar_payload, "pack P", true),
                         doctest::Contains(wrong_hex.c_str()), enmap::StoreError);
}

TEST_CASE("snapshot blocks: a block decoded into a reused one (a cache slot) is the same block") {
    auto build = [](const std::vector<std::string>& pages) {
        snapshot::BlockBuilder builder;
        for (const auto& page : pages) {
            builder.add(snapshot::sha256(page), page);
        }
        return builder.finish(3);
    };
    std::vector<std::string> big = {page_of('a'), page_of('b'), page_of('c'), page_of('d')};
    std::vector<std::string> small = {page_of('e', 700), page_of('f', 300)};
    auto [big_header, big_payload] = build(big);
    auto [small_header, small_payload] = build(small);
    snapshot::Block slot;
    snapshot::decode_block(big_header, big_payload, "test", true, slot);
    CHECK(slot.members.size() == 4);
    // Smaller, then larger again, then the same size: no byte of the one before shows through.
    snapshot::decode_block(small_header, small_payload, "test", true, slot);
    CHECK(slot.members.size() == 2);
    CHECK(slot.plain == small[0] + small[1]);
    snapshot::decode_block(big_header, big_payload, "test", true, slot);
    CHECK(slot.plain == big[0] + big[1] + big[2] + big[3]);
    snapshot::decode_block(big_header, big_payload, "test", true, slot);
    CHECK(slot.plain == snapshot::decode_block(big_header, big_payload, "test", true).plain);
    std::string bad_frame = small_payload;
    bad_frame[bad_frame.size() - 3] ^= 0x55;
    CHECK_THROWS_AS(snapshot::decode_block(small_header, bad_frame, "pack P", true, slot), enmap::StoreError);
}

TEST_CASE("snapshot blocks: a damaged block fails every read, and the blocks read around it stay intact") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 3000, "delete");
    snapshot::Hash id;
    {
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        id = snapshot_test::capture_db(store, db);
    }
    snapshot_test::flip_middle_byte(snapshot_test::only_pack(tmp.path() / "store"));
    Store store(tmp.path() / "store", Store::Access::k_read, "test");
    auto needed = store.needed_chunks(store.read_manifest(id));
    REQUIRE(needed.size() > 64);  // many blocks: the damaged one is read between intact ones
    // Each pass reads every chunk in turn: a read that failed must fail again (the block cache
    // must not keep what a failed decode left), and every other chunk must come back as its id says.
    std::vector<std::size_t> failed_first;
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<std::size_t> failed;
        for (std::size_t i = 0; i < needed.size(); ++i) {
            try {
                std::string bytes = store.read_chunk(needed[i]);
                CHECK(snapshot::sha256(bytes) == needed[i]);
            } catch (const enmap::StoreError&) {
                failed.push_back(i);
            }
        }
        CHECK_FALSE(failed.empty());
        CHECK(failed.size() < needed.size());
        if (pass == 0) {
            failed_first = failed;
        } else {
            CHECK(failed == failed_first);
        }
    }
}

TEST_CASE("snapshot blocks: index entries of block members keep their place in the block") {
    snapshot::IndexFile index;
    index.packs.push_back(snapshot::sha256(std::string("pack")));
    snapshot::IndexFile::Entry single;
    single.id = snapshot::sha256(std::string("a"));
    single.location.offset = 8;
    single.location.stored_size = 100;
    single.location.plain_size = 4096;
    index.entries.push_back(single);
    snapshot::IndexFile::Entry member;
    member.id = snapshot::sha256(std::string("b"));
    member.location.type = snapshot::EntryType::k_zstd_block;
    member.location.offset = 152;
    member.location.stored_size = 9000;
    member.location.plain_size = 4096;
    member.location.inner_offset = 8192;
    member.location.block_plain = 65536;
    index.entries.push_back(member);
    auto bytes = index.encode();
    auto back = snapshot::IndexFile::decode(bytes, "test");
    REQUIRE(back.entries.size() == 2);
    CHECK(back.entries[0].location.type == snapshot::EntryType::k_zstd);
    CHECK(back.entries[0].location.plain_size == 4096);
    CHECK(back.entries[1].id == member.id);
    CHECK(back.entries[1].location.type == snapshot::EntryType::k_zstd_block);
    CHECK(back.entries[1].location.offset == 152);
    CHECK(back.entries[1].location.stored_size == 9000);
    CHECK(back.entries[1].location.inner_offset == 8192);
    CHECK(back.entries[1].location.block_plain == 65536);
    // A member that would end past its block is refused.
    member.location.inner_offset = 65536 - 100;
    index.entries[1] = member;
    CHECK_THROWS_AS(snapshot::IndexFile::decode(index.encode(), "test"), enmap::StoreError);
}

TEST_CASE("snapshot blocks: a capture stores new pages in blocks, smaller than one frame per page") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 3000, "delete");
    Store store(tmp.path() / "store", Store::Access::k_write, "test");
    snapshot::CaptureOptions options;
    options.database = db;
    auto result = snapshot::capture(store, options);

    std::string bytes = test_support::read_file(db);
    std::size_t pages = bytes.size() / 4096;
    std::uint64_t alone = 0;
    for (std::size_t i = 0; i < pages; ++i) {
        alone += 44 + snapshot::compress_chunk(std::string_view(bytes).substr(i * 4096, 4096), 3).size();
    }
    std::uint64_t stored = result.manifest["bytes_stored_new"].get<std::uint64_t>();
    CAPTURE(alone);
    CAPTURE(stored);
    CHECK(stored < alone * 9 / 10);

    std::set<std::pair<std::uint32_t, std::uint32_t>> blocks;
    std::size_t members = 0;
    for (const auto& [id, location] : store.chunks()) {
        if (location.type == snapshot::EntryType::k_zstd_block) {
            ++members;
            blocks.insert({location.pack, location.offset});
            CHECK(location.block_plain <= snapshot::k_block_target + 65536);
        }
    }
    CHECK(members >= pages - 1);  // a repeated page (e.g. two empty ones) is stored once
    CHECK(blocks.size() < members / 8);
    CHECK(snapshot_test::restored_bytes(store, result.id, "enmap.sqlite", tmp.path() / "r") == bytes);
    CHECK(store.verify().ok());
    CHECK(store.verify(result.id).ok());
}

TEST_CASE("snapshot blocks: prune and archive keep only the block members a snapshot needs") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 2000, "delete");
    snapshot::Hash first{};
    snapshot::Hash second{};
    fs::path archive = tmp.path() / "second.emsarchive";
    std::string second_bytes;
    {
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        first = snapshot_test::capture_db(store, db);
        snapshot_test::update_rows(db, 3, 37, 40, "changed");
        second_bytes = test_support::read_file(db);
        second = snapshot_test::capture_db(store, db);
        CHECK(store.chunks().size() > needed_set(store, second).size());
        store.archive({second}, archive);
    }
    // The archive of the second snapshot, imported alone, holds exactly what it needs.
    {
        Store empty(tmp.path() / "other", Store::Access::k_write, "test");
        auto ids = empty.import_archive(archive);
        REQUIRE(ids.size() == 1);
        std::set<snapshot::Hash> indexed;
        for (const auto& [id, location] : empty.chunks()) {
            indexed.insert(id);
        }
        CHECK(indexed == needed_set(empty, second));
        CHECK(snapshot_test::restored_bytes(empty, second, "enmap.sqlite", tmp.path() / "ra") ==
              second_bytes);
        CHECK(empty.verify().ok());
    }

    // Prune the first: the blocks it shared with the second are rebuilt with the needed pages only.
    Store maintain(tmp.path() / "store", Store::Access::k_maintain, "test");
    snapshot::PrunePolicy policy;
    policy.remove_ids = {first};
    auto report = maintain.prune(policy);
    CHECK(report.packs_repacked + report.packs_removed > 0);
    std::set<snapshot::Hash> indexed;
    for (const auto& [id, location] : maintain.chunks()) {
        indexed.insert(id);
    }
    CHECK(indexed == needed_set(maintain, second));
    CHECK(maintain.verify().ok());
    CHECK(snapshot_test::restored_bytes(maintain, second, "enmap.sqlite", tmp.path() / "rp") == second_bytes);
}

TEST_CASE("snapshot chunker: a manifest's chunking names the offset of every chunk") {
    auto pages = snapshot::parse_layout("sqlite-pages:4096");
    REQUIRE(pages);
    CHECK(snapshot::chunk_offset(*pages, 0) == 0);
    CHECK(snapshot::chunk_offset(*pages, 3) == 3 * 4096);
    auto wal = snapshot::parse_layout("wal-frames:4096");
    REQUIRE(wal);
    CHECK(snapshot::chunk_offset(*wal, 0) == 0);
    CHECK(snapshot::chunk_offset(*wal, 1) == 32);
    CHECK(snapshot::chunk_offset(*wal, 2) == 32 + 4120);
    auto fixed = snapshot::parse_layout("fixed:65536");
    REQUIRE(fixed);
    CHECK(snapshot::chunk_offset(*fixed, 2) == 131072);
    CHECK_FALSE(snapshot::parse_layout("cdc:4096"));
    CHECK_FALSE(snapshot::parse_layout("sqlite-pages:"));
    CHECK_FALSE(snapshot::parse_layout("sqlite-pages:0"));
    CHECK_FALSE(snapshot::parse_layout("sqlite-pages:12x"));
    CHECK_FALSE(snapshot::parse_layout("nothing"));
}

TEST_CASE("snapshot deltas: a changed chunk list is stored against the previous one, chains stay short") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    snapshot_test::make_database(db, 3000, "delete");
    snapshot_test::Rounds rounds;
    {
        Store store(tmp.path() / "store", Store::Access::k_write, "test");
        rounds = snapshot_test::capture_rounds(store, db, 12, [&](int round) {
            if (round > 0) {
                snapshot_test::update_rows(db, round, 53, 20, "round-" + std::to_string(round));
            }
        });
        std::size_t deltas = 0;
        for (std::size_t round = 0; round < rounds.ids.size(); ++round) {
            auto manifest = store.read_manifest(rounds.ids[round]);
            for (const auto& list_id : manifest["files"][0]["content"]) {
                auto id = snapshot::from_hex(list_id.get<std::string>());
                const auto& location = store.chunks().at(id);
                if (location.type == snapshot::EntryType::k_zstd_delta) {
                    ++deltas;
                    CHECK(round > 0);
                    CHECK(store.delta_depth(id) <= snapshot::k_max_delta_depth);
                    // The delta is far smaller than the list (rounds.ids are random, so a list does not
                    // compress).
                    CHECK(location.stored_size < location.plain_size / 4);
                }
            }
        }
        CHECK(deltas >= 10);
        CHECK(store.verify().ok());
        for (std::size_t round : {std::size_t{0}, std::size_t{5}, std::size_t{11}}) {
            CHECK(snapshot_test::restored_bytes(store, rounds.ids[round], "enmap.sqlite",
                                                tmp.path() / ("r" + std::to_string(round))) ==
                  rounds.versions[round]);
        }
    }
    // Pruning every snapshot but the last keeps the bases its lists need.
    fs::path archive = tmp.path() / "last.emsarchive";
    {
        Store maintain(tmp.path() / "store", Store::Access::k_maintain, "test");
        snapshot::PrunePolicy policy;
        policy.keep_last = 1;
        auto report = maintain.prune(policy);
        CHECK(report.removed.size() == 11);
        CHECK(maintain.verify().ok());
        CHECK(snapshot_test::restored_bytes(maintain, rounds.ids.back(), "enmap.sqlite", tmp.path() / "rp") ==
              rounds.versions.back());
        maintain.archive({rounds.ids.back()}, archive);
    }
    // An archive holds whole lists: it restores in a store that never saw the bases.
    Store other(tmp.path() / "other", Store::Access::k_write, "test");
    other.import_archive(archive);
    for (const auto& [id, location] : other.chunks()) {
        CHECK(location.type != snapshot::EntryType::k_zstd_delta);
    }
    CHECK(snapshot_test::restored_bytes(other, rounds.ids.back(), "enmap.sqlite", tmp.path() / "ro") ==
          rounds.versions.back());
    CHECK(other.verify().ok());
}
