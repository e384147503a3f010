// The store fuzz targets' corpora (tests/fuzz/corpus-archive/, corpus-manifest/), replayed by the
// normal suite: every committed input ends in a documented error or a clean import, never a crash
// or an internal error (fuzz_store_one.hpp aborts on those).

#include <doctest/doctest.h>

#include <filesystem>

#include "tests/fuzz/fuzz_store_one.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

std::size_t replay_corpus(const std::string& name,
                          void (*step)(const std::uint8_t*, std::size_t, const fs::path&)) {
    const fs::path dir = test_support::source_dir() / "tests" / "fuzz" / ("corpus-" + name);
    std::size_t count = 0;
    test_support::TempDir scratch;
    for (const auto& entry : fs::directory_iterator(dir)) {
        CAPTURE(entry.path().string());
        const std::string bytes = test_support::read_file(entry.path());
        step(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), scratch.path());
        ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("store fuzz corpus: every committed archive and manifest input ends in a documented error") {
    CHECK(replay_corpus("archive", &fuzz::archive_one) > 0);
    CHECK(replay_corpus("manifest", &fuzz::manifest_one) > 0);
}
