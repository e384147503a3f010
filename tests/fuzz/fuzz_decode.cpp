// libFuzzer target: feeds arbitrary bytes to every decoder entry point (built by scripts/fuzz,
// not by CMake). See fuzz_one.hpp for how an input is read.

#include <cstddef>
#include <cstdint>

#include "tests/fuzz/fuzz_one.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::fuzz_one(data, size);
    return 0;
}
