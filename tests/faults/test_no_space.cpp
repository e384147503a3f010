// A full disk and a read-only store (issue 18, item 10), through the real binary. A full disk is
// one status, 9, with a hint about space, whichever command and folder ran out: the store
// (create, rollback's safety snapshot), the folder written to (rollback files, archive) or TMPDIR
// (replay's decoded rows). Reading commands work on a store this process cannot write.
// The disks are small tmpfs mounts, so these tests need root (scripts/test runs as root).

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "rollback/files.hpp"
#include "tests/enmap/enmap_builder.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {

// A tmpfs of `size` mounted on `dir` for the object's lifetime.
class SmallDisk {
public:
    SmallDisk(fs::path dir, const std::string& size) : m_dir(std::move(dir)) {
        fs::create_directories(m_dir);
        std::string command = "mount -t tmpfs -o size=" + size + ",mode=0755 tmpfs '" + m_dir.string() + "'";
        REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "these tests mount a tmpfs: run them as root");
    }
    ~SmallDisk() { (void)std::system(("umount -l '" + m_dir.string() + "'").c_str()); }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;
    [[nodiscard]] const fs::path& path() const { return m_dir; }

private:
    fs::path m_dir;
};

// write_enmap_db, creating the folder first.
void write_db(const fs::path& path,
              const std::vector<std::pair<std::string, std::vector<test_support::EnmapRow>>>& tables) {
    fs::create_directories(path.parent_path());
    test_support::write_enmap_db(path, tables);
}

// An Enmap database of `rows` rows whose values zstd cannot shrink much (~300 random letters each).
void incompressible_db(const fs::path& path, int rows, unsigned seed) {
    static constexpr char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> pick(0, sizeof k_chars - 2);
    std::vector<test_support::EnmapRow> table;
    for (int i = 0; i < rows; ++i) {
        std::string value = "\"";
        for (int c = 0; c < 300; ++c) {
            value += k_chars[pick(rng)];
        }
        table.push_back({"key-" + std::to_string(i), value + "\""});
    }
    write_db(path, {{"points", table}});
}

void check_no_space(const test_support::RunResult& r) {
    CHECK(r.status == 9);
    CHECK_MESSAGE(r.err.find("No space left on device") != std::string::npos, r.err);
    CHECK_MESSAGE(r.err.find("df -h") != std::string::npos, r.err);
    CHECK(r.err.find("internal error") == std::string::npos);
    CHECK(r.err.find("snapshot verify") == std::string::npos);  // not "the store is damaged"
}

}  // namespace

TEST_CASE("faults: a full store disk is status 9 for snapshot create, and the store stays sound") {
    test_support::TempDir tmp;
    SmallDisk disk(tmp.path() / "disk", "2m");
    fs::path store = disk.path() / "store";
    write_db(tmp.path() / "small" / "enmap.sqlite", {{"points", {{"a", "1"}}}});
    REQUIRE(run_cli({"--store", store.string(), "snapshot", "create", "--db",
                     (tmp.path() / "small" / "enmap.sqlite").string(), "--label", "small"})
                .status == 0);
    incompressible_db(tmp.path() / "big" / "enmap.sqlite", 15000, 1);  // ~4.5 MB
    check_no_space(run_cli({"--store", store.string(), "snapshot", "create", "--db",
                            (tmp.path() / "big" / "enmap.sqlite").string(), "--label", "big"}));
    // What was there is intact, and the partial pack is gone by the next command.
    CHECK(run_cli({"--store", store.string(), "snapshot", "verify"}).status == 0);
    auto list = run_cli({"--store", store.string(), "snapshot", "list"});
    CHECK(list.status == 0);
    CHECK(list.out.find("small") != std::string::npos);
    CHECK(list.out.find("big") == std::string::npos);
}

TEST_CASE("faults: a full disk is status 9 for rollback files, archive --out, and replay's TMPDIR" *
          doctest::test_suite("pg")) {
    test_support::TempDir tmp;
    fs::path store = tmp.path() / "store";
    fs::path big = tmp.path() / "big" / "enmap.sqlite";
    incompressible_db(big, 15000, 2);
    REQUIRE(run_cli({"--store", store.string(), "snapshot", "create", "--db", big.string(), "--label", "big"})
                .status == 0);

    SUBCASE("rollback files into a full data folder leaves the folder as it was") {
        SmallDisk disk(tmp.path() / "disk", "2m");
        fs::path data = disk.path() / "bot";
        write_db(data / "enmap.sqlite", {{"points", {{"current", "1"}}}});
        std::string before = rollback::file_sha256(data / "enmap.sqlite");
        check_no_space(run_cli({"--store", store.string(), "rollback", "files", "--snapshot", "big",
                                "--data-dir", data.string()}));
        CHECK(rollback::file_sha256(data / "enmap.sqlite") == before);
    }
    SUBCASE("rollback files with a full store (its safety snapshot)") {
        SmallDisk disk(tmp.path() / "disk", "2m");
        fs::path small_store = disk.path() / "store";
        fs::path data = tmp.path() / "bot";
        incompressible_db(data / "enmap.sqlite", 15000, 3);
        std::string before = rollback::file_sha256(data / "enmap.sqlite");
        auto archive = tmp.path() / "big.emsa";
        REQUIRE(run_cli({"--store", store.string(), "snapshot", "archive", "big", "--out", archive.string()})
                    .status == 0);
        // A store on the small disk that knows no snapshot fits: the import itself runs out of space.
        check_no_space(run_cli({"--store", small_store.string(), "snapshot", "import", archive.string()}));
        write_db(tmp.path() / "tiny" / "enmap.sqlite", {{"points", {{"t", "1"}}}});
        REQUIRE(run_cli({"--store", small_store.string(), "snapshot", "create", "--db",
                         (tmp.path() / "tiny" / "enmap.sqlite").string(), "--label", "tiny"})
                    .status == 0);
        check_no_space(run_cli({"--store", small_store.string(), "rollback", "files", "--snapshot", "tiny",
                                "--data-dir", data.string()}));
        CHECK(rollback::file_sha256(data / "enmap.sqlite") == before);
    }
    SUBCASE("archive --out on a full disk") {
        SmallDisk disk(tmp.path() / "disk", "2m");
        check_no_space(run_cli({"--store", store.string(), "snapshot", "archive", "big", "--out",
                                (disk.path() / "big.emsa").string()}));
        CHECK(!fs::exists(disk.path() / "big.emsa"));
    }
    SUBCASE("replay with TMPDIR on a full disk writes nothing to PostgreSQL") {
        SmallDisk disk(tmp.path() / "disk", "2m");
        test_support::TestDatabase db;
        check_no_space(
            run_cli({"--store", store.string(), "--database", db.url(), "replay", "--snapshot", "big"},
                    {"TMPDIR=" + disk.path().string()}));
        CHECK(replay_test::user_relations(db.url()) == 0);
    }
}

TEST_CASE("faults: list, verify, show and restore work on a read-only store, mounted or not writable") {
    test_support::TempDir tmp;
    fs::path store = tmp.path() / "store";
    write_db(tmp.path() / "bot" / "enmap.sqlite", {{"points", {{"a", "1"}, {"b", "2"}}}});
    REQUIRE(run_cli({"--store", store.string(), "snapshot", "create", "--db",
                     (tmp.path() / "bot" / "enmap.sqlite").string(), "--label", "ro"})
                .status == 0);
    std::string source_sha = rollback::file_sha256(tmp.path() / "bot" / "enmap.sqlite");

    SUBCASE("a read-only bind mount, as root") {
        fs::path ro = tmp.path() / "ro";
        fs::create_directories(ro);
        REQUIRE(std::system(("mount --bind '" + store.string() + "' '" + ro.string() +
                             "' && mount -o remount,bind,ro '" + ro.string() + "'")
                                .c_str()) == 0);
        struct Unmount {
            fs::path dir;
            ~Unmount() { (void)std::system(("umount -l '" + dir.string() + "'").c_str()); }
        } unmount{ro};
        auto list = run_cli({"--store", ro.string(), "snapshot", "list"});
        CHECK_MESSAGE(list.status == 0, list.err);
        CHECK(list.out.find("ro") != std::string::npos);
        auto verify = run_cli({"--store", ro.string(), "snapshot", "verify"});
        CHECK_MESSAGE(verify.status == 0, verify.err);
        CHECK_MESSAGE(run_cli({"--store", ro.string(), "snapshot", "show", "ro"}).status == 0, "show");
        auto restore = run_cli(
            {"--store", ro.string(), "snapshot", "restore", "ro", "--to", (tmp.path() / "out").string()});
        CHECK_MESSAGE(restore.status == 0, restore.err);
        CHECK(rollback::file_sha256(tmp.path() / "out" / "enmap.sqlite") == source_sha);
        // Writing commands still refuse it.
        CHECK(run_cli({"--store", ro.string(), "snapshot", "create", "--db",
                       (tmp.path() / "bot" / "enmap.sqlite").string()})
                  .status != 0);
    }
    SUBCASE("a store another user may only read (chmod -R a-w), read as nobody") {
        fs::path out = tmp.path() / "out";
        fs::create_directories(out);
        std::string binary = ENMAP_MIGRATE_BINARY;
        REQUIRE(std::system(("chown -R nobody:nogroup '" + store.string() + "' '" + out.string() +
                             "' && chmod -R a-w '" + store.string() + "'")
                                .c_str()) == 0);
        auto as_nobody = [&](const std::string& args) {
            std::string command = "cd / && runuser -u nobody -- '" + binary + "' --store '" + store.string() +
                                  "' " + args + " >'" + (tmp.path() / "stdout").string() + "' 2>'" +
                                  (tmp.path() / "stderr").string() + "'";
            int status = std::system(command.c_str());
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        };
        CHECK_MESSAGE(as_nobody("snapshot list") == 0, test_support::read_file(tmp.path() / "stderr"));
        CHECK(test_support::read_file(tmp.path() / "stdout").find("ro") != std::string::npos);
        CHECK_MESSAGE(as_nobody("snapshot verify") == 0, test_support::read_file(tmp.path() / "stderr"));
        CHECK_MESSAGE(as_nobody("snapshot show ro") == 0, test_support::read_file(tmp.path() / "stderr"));
        CHECK_MESSAGE(as_nobody("snapshot restore ro --to '" + (out / "files").string() + "'") == 0,
                      test_support::read_file(tmp.path() / "stderr"));
        CHECK(rollback::file_sha256(out / "files" / "enmap.sqlite") == source_sha);
        (void)std::system(("chmod -R u+w '" + store.string() + "'").c_str());
    }
}
