#include "tests/snapshot/snapshot_support.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "snapshot/capture.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace snapshot_test {

namespace {
std::string value_for(int i, const std::string& tag) {
    std::string v = R"({"t":0,"v":{"user":{"t":1,"v":"user-)" + std::to_string(i) +
                    R"("},"points":{"t":2,"v":)" + std::to_string(i * 37 % 10007) +
                    R"(},"level":{"t":2,"v":)" + std::to_string(i % 50) + R"(},"tag":{"t":1,"v":")" + tag +
                    R"("},"lastSeen":{"t":6,"v":"2024-02-29T23:59:59.999Z"},"badges":{"t":4,"v":[)";
    for (int b = 0; b < 6; ++b) {
        v += (b ? "," : "") + std::string(R"({"t":1,"v":"badge-)") + std::to_string((i + b) % 97) + "\"}";
    }
    v += "]}}}";
    return v;
}
}  // namespace

void make_database(const fs::path& file, int rows, const std::string& journal) {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA journal_mode=" + journal);
    db.exec("CREATE TABLE IF NOT EXISTS points (key text PRIMARY KEY, value text)");
    db.exec("CREATE TABLE IF NOT EXISTS 'internal::autonum' (enmap TEXT PRIMARY KEY, lastnum INTEGER)");
    std::vector<int> order(static_cast<std::size_t>(rows));
    for (int i = 0; i < rows; ++i) {
        order[static_cast<std::size_t>(i)] = i;
    }
    std::mt19937 rng(42);
    std::shuffle(order.begin(), order.end(), rng);
    SQLite::Transaction tx(db);
    SQLite::Statement insert(db, "INSERT INTO points (key, value) VALUES (?, ?)");
    for (int i : order) {
        insert.bind(1, "guild-1-" + std::to_string(i));
        insert.bind(2, value_for(i, "initial"));
        insert.exec();
        insert.reset();
    }
    tx.commit();
}

void update_rows(const fs::path& file, int first, int step, int count, const std::string& tag) {
    SQLite::Database db(file.string(), SQLite::OPEN_READWRITE);
    SQLite::Transaction tx(db);
    SQLite::Statement update(db, "UPDATE points SET value = ? WHERE key = ?");
    for (int n = 0, i = first; n < count; ++n, i += step) {
        update.bind(1, value_for(i, tag));
        update.bind(2, "guild-1-" + std::to_string(i));
        update.exec();
        update.reset();
    }
    tx.commit();
}

std::size_t differing_pages(const fs::path& a, const fs::path& b, std::size_t page) {
    std::string x = test_support::read_file(a);
    std::string y = test_support::read_file(b);
    std::size_t pages = (std::max(x.size(), y.size()) + page - 1) / page;
    std::size_t differ = 0;
    for (std::size_t p = 0; p < pages; ++p) {
        std::string_view px =
            p * page < x.size() ? std::string_view(x).substr(p * page, page) : std::string_view();
        std::string_view py =
            p * page < y.size() ? std::string_view(y).substr(p * page, page) : std::string_view();
        if (px != py) {
            ++differ;
        }
    }
    return differ;
}

void copy_fixture(const std::string& name, const fs::path& dest) {
    fs::create_directories(dest);
    for (const char* file : {"enmap.sqlite", "enmap.sqlite-wal", "enmap.sqlite-shm"}) {
        fs::path source = test_support::fixture(name) / file;
        if (fs::exists(source)) {
            fs::copy_file(source, dest / file, fs::copy_options::overwrite_existing);
        }
    }
}

std::vector<fs::path> files_under(const fs::path& root) {
    std::vector<fs::path> out;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file()) {
            out.push_back(entry.path());
        }
    }
    return out;
}

fs::path only_pack(const fs::path& store) {
    auto packs = files_under(store / "data");
    REQUIRE(packs.size() == 1);
    return packs.front();
}

void flip_middle_byte(const fs::path& file, char mask) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    auto middle = static_cast<std::streamoff>(fs::file_size(file) / 2);
    f.seekg(middle);
    char c = 0;
    f.read(&c, 1);
    f.seekp(middle);
    c = static_cast<char>(c ^ mask);
    f.write(&c, 1);
    REQUIRE(f.good());
}

std::string restored_bytes(const snapshot::Store& store, const snapshot::Hash& id, const std::string& name,
                           const fs::path& scratch) {
    fs::remove_all(scratch);
    store.materialize(id, scratch);
    return test_support::read_file(scratch / name);
}

HeldOpen::HeldOpen(const fs::path& db, const std::string& sql, bool in_transaction) {
    int ready[2];
    int release[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(release) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::close(ready[0]);
        ::close(release[1]);
        int status = 0;
        try {
            SQLite::Database handle(db.string(), SQLite::OPEN_READWRITE);
            if (in_transaction) {
                handle.exec("BEGIN IMMEDIATE");
            }
            handle.exec(sql);
            char byte = 'r';
            (void)::write(ready[1], &byte, 1);
            (void)::read(release[0], &byte, 1);
            if (in_transaction) {
                handle.exec("COMMIT");
            }
        } catch (...) {
            status = 1;
        }
        ::_exit(status);
    }
    ::close(ready[1]);
    ::close(release[0]);
    char byte = 0;
    REQUIRE(::read(ready[0], &byte, 1) == 1);
    ::close(ready[0]);
    m_pid = pid;
    m_release = release[1];
}

HeldOpen::~HeldOpen() {
    ::close(m_release);
    int status = 0;
    ::waitpid(m_pid, &status, 0);
}

snapshot::Hash capture_db(snapshot::Store& store, const std::filesystem::path& db, const std::string& label) {
    snapshot::CaptureOptions options;
    options.database = db;
    options.label = label;
    return snapshot::capture(store, options).id;
}

Rounds capture_rounds(snapshot::Store& store, const std::filesystem::path& db, int rounds,
                      const std::function<void(int)>& change, const std::function<std::string(int)>& label) {
    Rounds out;
    for (int round = 0; round < rounds; ++round) {
        change(round);
        out.versions.push_back(test_support::read_file(db));
        out.ids.push_back(capture_db(store, db, label ? label(round) : std::string()));
    }
    return out;
}

}  // namespace snapshot_test
