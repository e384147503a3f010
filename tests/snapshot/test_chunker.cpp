// snapshot/chunker.cpp: chunk layouts from SQLite and WAL headers.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <cstring>
#include <fstream>

#include "snapshot/chunker.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

TEST_CASE("snapshot chunker: page size from the SQLite header, 1 meaning 65536") {
    unsigned char header[100] = {};
    std::memcpy(header, "SQLite format 3", 16);
    header[16] = 0x10;
    header[17] = 0x00;
    CHECK(snapshot::sqlite_page_size(header, sizeof(header)) == 4096);
    header[16] = 0x00;
    header[17] = 0x01;
    CHECK(snapshot::sqlite_page_size(header, sizeof(header)) == 65536);
    header[16] = 0x03;
    header[17] = 0x00;  // 768 is not a power of two
    CHECK(snapshot::sqlite_page_size(header, sizeof(header)) == 0);
    header[0] = 'X';
    header[16] = 0x10;
    header[17] = 0x00;
    CHECK(snapshot::sqlite_page_size(header, sizeof(header)) == 0);
}

TEST_CASE("snapshot chunker: databases cut at pages, WAL files at frames, others fixed") {
    test_support::TempDir tmp;
    for (int page : {1024, 4096, 65536}) {
        CAPTURE(page);
        fs::path db = tmp.path() / ("p" + std::to_string(page) + ".sqlite");
        {
            SQLite::Database handle(db.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            handle.exec("PRAGMA page_size=" + std::to_string(page));
            handle.exec("CREATE TABLE t (key text PRIMARY KEY, value text)");
        }
        auto layout = snapshot::choose_layout(db);
        CHECK(layout.kind == "sqlite-pages");
        CHECK(layout.size == static_cast<std::uint64_t>(page));
        CHECK(layout.first == 0);
    }
    for (const auto& name : test_support::fixture_names()) {
        fs::path wal = test_support::fixture(name) / "enmap.sqlite-wal";
        if (fs::exists(wal) && fs::file_size(wal) >= 32) {
            auto layout = snapshot::choose_layout(wal);
            CHECK(layout.kind == "wal-frames");
            CHECK(layout.first == 32);
            CHECK(layout.size == 24 + 4096);
        }
    }
    fs::path other = tmp.path() / "export.json";
    std::ofstream(other) << R"({"name":"points","keys":[]})";
    CHECK(snapshot::choose_layout(other).kind == "fixed");
    CHECK(snapshot::choose_layout(other).size == snapshot::k_fixed_chunk);
}
