// snapshot/capture.cpp against a writer racing an exact capture: a process that opens the WAL
// database, updates thousands of rows in one transaction and closes while the copy runs (its
// auto-checkpoint writing into enmap.sqlite) must never leave a torn snapshot behind.

#include <doctest/doctest.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

TEST_CASE("snapshot capture race: a writer that opens, writes and closes during the copy is caught") {
    test_support::TempDir tmp;
    fs::path db = tmp.path() / "enmap.sqlite";
    {
        SQLite::Database d(db.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        d.exec("PRAGMA journal_mode=WAL");
        d.exec("CREATE TABLE points (key text PRIMARY KEY, value text)");
        SQLite::Transaction t(d);
        SQLite::Statement insert(d, "INSERT INTO points VALUES (?, json_object('v', 0, 'pad', ?))");
        std::string pad(900, 'p');
        for (int i = 0; i < 30000; ++i) {
            insert.bind(1, "k" + std::to_string(i));
            insert.bind(2, pad);
            insert.exec();
            insert.reset();
        }
        t.commit();
    }
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    std::string update =
        "sqlite3 " + db.string() +
        " \"PRAGMA busy_timeout=10000; BEGIN; UPDATE points SET value = json_set(value, '$.v', "
        "json_extract(value, '$.v') + 1) WHERE rowid % 5 = 0; COMMIT;\" >/dev/null 2>&1";
    int refused = 0;
    int recorded = 0;
    for (int round = 0; round < 4; ++round) {
        CAPTURE(round);
        std::atomic<bool> go{false};
        int writer_status = -1;
        std::thread writer([&] {
            while (!go) {
                std::this_thread::yield();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            writer_status = std::system(update.c_str());
        });
        snapshot::CaptureOptions options;
        options.database = db;
        options.threads = 1;
        options.compression = 12;
        std::optional<snapshot::CaptureResult> result;
        go = true;
        try {
            result = snapshot::capture(store, options);
        } catch (const enmap::RefusedError& e) {
            ++refused;
            std::string what = e.what();
            CHECK((what.find("changed during the capture") != std::string::npos ||
                   what.find("opened by another process") != std::string::npos ||
                   what.find("being written") != std::string::npos));
        }
        writer.join();
        CHECK(writer_status == 0);
        if (result) {
            ++recorded;
            fs::path out = tmp.path() / ("out-" + std::to_string(round));
            store.materialize(result->id, out);
            SQLite::Database restored((out / "enmap.sqlite").string(), SQLite::OPEN_READWRITE);
            CHECK(restored.execAndGet("PRAGMA integrity_check").getString() == "ok");
            // Every updated row has the same version: a state that existed.
            CHECK(restored
                      .execAndGet(
                          "SELECT count(DISTINCT json_extract(value, '$.v')) FROM points WHERE rowid % 5 = 0")
                      .getInt() == 1);
            CHECK(restored.execAndGet("SELECT count(*) FROM points").getInt() == 30000);
        }
    }
    MESSAGE("refused " << refused << " of 4 captures, recorded " << recorded);
    // Without the writer an exact capture still succeeds.
    snapshot::CaptureOptions quiet;
    quiet.database = db;
    CHECK_NOTHROW(snapshot::capture(store, quiet));
}
