// libFuzzer target: `snapshot import` of arbitrary archive bytes (built by scripts/fuzz, not by
// CMake). See fuzz_store_one.hpp for how an input becomes an archive.

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "tests/fuzz/fuzz_store_one.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // One store per process, in memory when /dev/shm is there (a manifest is written with fsync).
    static const fuzz::ScratchDir scratch("archive");
    fuzz::archive_one(data, size, scratch.path());
    return 0;
}
