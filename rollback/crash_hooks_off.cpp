// The release binary's crash hooks: nothing. rollback/crash_hooks.cpp, which kills the process at
// named steps for the crash tests, is linked only into the test runner and the test-hook binary
// (enmap-migrate-test-hooks), never into enmap-migrate itself (CMakeLists.txt).

#include "rollback/crash_hooks.hpp"

namespace rollback {

void kill_point(std::string_view /*step*/) {}

void set_step_hook(const std::function<void(std::string_view step)>& /*hook*/) {}

const char* crash_test_vfs() {
    return nullptr;
}

}  // namespace rollback
