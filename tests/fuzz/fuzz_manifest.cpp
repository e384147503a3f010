// libFuzzer target: arbitrary bytes as a manifest, checked as import checks one and then stored,
// listed and read as the store reads one (built by scripts/fuzz, not by CMake). See
// fuzz_store_one.hpp.

#include <cstddef>
#include <cstdint>
#include <filesystem>

#include "tests/fuzz/fuzz_store_one.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // One store per process, in memory when /dev/shm is there (a manifest is written with fsync).
    static const fuzz::ScratchDir scratch("manifest");
    fuzz::manifest_one(data, size, scratch.path());
    return 0;
}
