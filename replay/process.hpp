#pragma once
// Running helper programs (initdb, pg_ctl) without a shell, optionally as another user.

#include <string>
#include <utility>
#include <vector>

namespace replay {

/// What a finished child process left behind.
struct ProcessResult {
    int status = -1;     // exit status, or 128 + signal
    std::string output;  // stdout and stderr, interleaved
};

/// Runs argv[0] with argv (no shell), as `user` when non-empty (we must be root then), with
/// stdin from /dev/null, and with `env` (NAME, value) added to the environment. Throws enmap::Error
/// when the program cannot be started at all.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& user = {},
                          const std::vector<std::pair<std::string, std::string>>& env = {});

}  // namespace replay
