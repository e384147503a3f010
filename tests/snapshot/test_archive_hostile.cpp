// snapshot/archive.cpp and manifest_check.cpp against crafted archives: every manifest is checked
// before anything is written to the store, and rollback checks names before reading a file.

#include <doctest/doctest.h>

#include <fstream>

#include "enmap/error.hpp"
#include "rollback/files.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/manifest_check.hpp"
#include "snapshot/store.hpp"
#include "tests/snapshot/snapshot_support.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

const std::string k_empty_sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

nlohmann::json good_manifest() {
    return {{"format", snapshot::k_manifest_format},
            {"time", "2026-12-03T00:00:00Z"},
            {"label", nullptr},
            {"kind", "exact"},
            {"files",
             {{{"name", "enmap.sqlite"},
               {"role", "database"},
               {"size", 0},
               {"mode", "0644"},
               {"sha256", k_empty_sha},
               {"content", nlohmann::json::array()}}}}};
}

// An archive holding these manifests and no chunks, with a correct checksum.
void write_archive(const fs::path& path, const std::vector<std::string>& manifests) {
    std::string bytes = "EMSARCH1";
    for (const auto& m : manifests) {
        bytes += 'M';
        auto size = static_cast<std::uint32_t>(m.size());
        for (int i = 0; i < 4; ++i) {
            bytes.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
        }
        bytes += m;
    }
    bytes += 'E';
    auto sum = snapshot::sha256(bytes);
    bytes.append(reinterpret_cast<const char*>(sum.data()), sum.size());
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::size_t files_under(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        n += e.is_regular_file() && e.path().filename() != "lock" &&
                     e.path().parent_path().filename() != "locks"
                 ? 1
                 : 0;
    }
    return n;
}

}  // namespace

TEST_CASE("archive hostile: a crafted manifest is refused before anything is written") {
    test_support::TempDir tmp;
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    std::vector<std::pair<std::string, std::string>> cases;  // manifest text, what the error names
    auto with_file = [](const char* key, nlohmann::json value) {
        auto m = good_manifest();
        m["files"][0][key] = std::move(value);
        return m.dump();
    };
    cases.emplace_back(with_file("name", "../../secret.txt"), "not a plain file name");
    cases.emplace_back(with_file("name", "/etc/passwd"), "not a plain file name");
    cases.emplace_back(with_file("name", ".."), "not a plain file name");
    cases.emplace_back(with_file("mode", "4777"), "setuid");
    cases.emplace_back(with_file("mode", "0777"), "world-writable");
    cases.emplace_back(with_file("mode", "zzz"), "not an octal file mode");
    cases.emplace_back(with_file("size", -1), "size");
    cases.emplace_back(with_file("sha256", "xyz"), "sha256");
    cases.emplace_back(with_file("content", "nope"), "content");
    {
        auto m = good_manifest();
        m["label"] = "\x1b[31mred";
        cases.emplace_back(m.dump(), "control characters");
        m = good_manifest();
        m["files"] = "not an array";
        cases.emplace_back(m.dump(), "\"files\"");
        m = good_manifest();
        m["files"] = nlohmann::json::array({nlohmann::json::object()});
        cases.emplace_back(m.dump(), "name");
        m = good_manifest();
        m["files"].push_back(m["files"][0]);
        cases.emplace_back(m.dump(), "twice");
    }
    cases.emplace_back("{not json", "not JSON");
    std::size_t before = files_under(tmp.path() / "store");
    for (const auto& one_case : cases) {
        const auto& text = one_case.first;
        const auto& expected = one_case.second;
        CAPTURE(text);
        fs::path archive = tmp.path() / "crafted.enmap-archive";
        // A good manifest first: nothing of it may be imported either.
        write_archive(archive, {good_manifest().dump(), text});
        CHECK_THROWS_WITH_AS(store.import_archive(archive), doctest::Contains(expected.c_str()),
                             enmap::InputError);
        CHECK(store.list().empty());
        CHECK(files_under(tmp.path() / "store") == before);
    }
    // The CLI says so with exit 3, not an internal error.
    write_archive(tmp.path() / "a.enmap-archive", {with_file("mode", "zzz")});
    auto r = test_support::run_cli({"--store", (tmp.path() / "store").string(), "snapshot", "import",
                                    (tmp.path() / "a.enmap-archive").string()});
    CHECK(r.status == 3);
    CHECK(r.err.find("stoul") == std::string::npos);
    // The good one alone imports.
    write_archive(tmp.path() / "good.enmap-archive", {good_manifest().dump()});
    CHECK(store.import_archive(tmp.path() / "good.enmap-archive").size() == 1);
}

TEST_CASE("archive hostile: rollback checks a manifest's names before it reads any file") {
    test_support::TempDir tmp;
    fs::path dir = tmp.path() / "data" / "bot";
    fs::create_directories(dir);
    snapshot_test::make_database(dir / "enmap.sqlite", 50);
    {
        std::ofstream secret(tmp.path() / "secret.txt");
        secret << "not yours";
    }
    snapshot::Store store(tmp.path() / "store", snapshot::Store::Access::k_write, "test");
    auto m = good_manifest();
    m["files"].push_back({{"name", "../../secret.txt"},
                          {"role", "wal"},
                          {"size", 0},
                          {"sha256", k_empty_sha},
                          {"content", nlohmann::json::array()}});
    auto id = store.write_manifest(m);  // as if an older import had let it in
    rollback::FilesOptions options;
    options.data_dir = dir;
    options.snapshot_ref = snapshot::to_hex(id);
    CHECK_THROWS_WITH_AS(rollback::rollback_files(store, options), doctest::Contains("not a plain name"),
                         enmap::StoreError);
    CHECK(store.list().size() == 1);  // no safety snapshot of anything
}
