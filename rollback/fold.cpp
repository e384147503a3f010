#include "rollback/fold.hpp"

#include <sqlite3.h>

#include <string>

#include "enmap/error.hpp"
#include "rollback/crash_hooks.hpp"
#include "snapshot/fsutil.hpp"

namespace rollback {

namespace fs = std::filesystem;

namespace {

bool has_content(const fs::path& file) {
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    return !ec && size > 0;
}

// A rollback journal is hot (SQLite would play it back) unless it is empty or its header was
// zeroed (journal_mode=PERSIST) or truncated away (TRUNCATE); SQLite checks the first byte.
bool hot_journal(const fs::path& journal) {
    if (!has_content(journal)) {
        return false;
    }
    auto fd = snapshot::open_read(journal);
    char first = 0;
    return snapshot::pread_full(fd.get(), &first, 1, 0) == 1 && first != 0;
}

class Connection {
public:
    explicit Connection(const fs::path& database) : m_path(database) {
        int rc = sqlite3_open_v2(database.c_str(), &m_db, SQLITE_OPEN_READWRITE, crash_test_vfs());
        if (rc != SQLITE_OK) {
            fail("cannot open it");
        }
        sqlite3_extended_result_codes(m_db, 1);
        sqlite3_busy_timeout(m_db, 2000);
    }
    ~Connection() {
        if (m_db != nullptr) {
            sqlite3_close_v2(m_db);
        }
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void exec(const char* sql) {
        if (sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
            fail(std::string("`") + sql + "` failed");
        }
    }
    void checkpoint() {
        int frames = -1;
        int copied = -1;
        if (sqlite3_wal_checkpoint_v2(m_db, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &frames, &copied) !=
            SQLITE_OK) {
            fail("the checkpoint failed");
        }
        if (frames != copied) {
            throw enmap::InputError("SQLite copied " + std::to_string(copied) + " of the " +
                                    std::to_string(frames) + " frames of " + m_path.string() +
                                    "-wal into the database");
        }
    }
    void close() {
        int rc = sqlite3_close(m_db);
        if (rc != SQLITE_OK) {
            fail("cannot close it");
        }
        m_db = nullptr;
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        std::string detail = m_db != nullptr ? sqlite3_errmsg(m_db) : "out of memory";
        throw enmap::InputError("SQLite cannot fold " + m_path.string() + ": " + what + ": " + detail,
                                "check that it is an SQLite database, readable and writable by this user");
    }
    fs::path m_path;
    sqlite3* m_db = nullptr;
};

}  // namespace

bool needs_fold(const fs::path& database) {
    return has_content(database.string() + "-wal") || has_content(database.string() + "-journal");
}

void fold_database(const fs::path& database, std::string_view step) {
    std::string name(step);
    {
        Connection db(database);
        // Durable before the -wal goes; the setting belongs to this connection only.
        db.exec("PRAGMA synchronous = FULL");
        db.exec("SELECT count(*) FROM sqlite_master");
        kill_point(name + ":read");
        db.checkpoint();
        kill_point(name + ":checkpointed");
        db.close();
    }
    kill_point(name + ":closed");
    fs::path wal = database.string() + "-wal";
    if (has_content(wal)) {
        throw enmap::InputError(wal.string() + " still holds frames after SQLite folded " + database.string(),
                                "another process may have the database open; stop it");
    }
    fs::path journal = database.string() + "-journal";
    if (hot_journal(journal)) {
        throw enmap::InputError(
            journal.string() + " is still a hot journal after SQLite opened " + database.string(),
            "another process may be writing the database; stop it");
    }
}

}  // namespace rollback
