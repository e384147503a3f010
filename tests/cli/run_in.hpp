#pragma once
// Running the real binary from another current folder (the project-folder tests need it).

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support.hpp"

namespace cli_test {

/// As test_support::run_cli, with `cwd` as the binary's current folder.
inline test_support::RunResult run_cli_in(const std::filesystem::path& cwd,
                                          const std::vector<std::string>& args,
                                          const std::vector<std::string>& env = {}) {
    test_support::TempDir tmp;
    std::filesystem::path out_path = tmp.path() / "out";
    std::filesystem::path err_path = tmp.path() / "err";
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = ::open("/dev/null", O_RDONLY);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::dup2(in, 0);
        for (const auto& kv : env) {
            ::putenv(const_cast<char*>(kv.c_str()));
        }
        if (::chdir(cwd.c_str()) != 0) {
            ::_exit(126);
        }
        std::string binary = ENMAP_MIGRATE_BINARY;
        std::vector<std::string> copy = args;
        std::vector<char*> argv = {binary.data()};
        for (auto& a : copy) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    test_support::RunResult result;
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    result.out = test_support::read_file(out_path);
    result.err = test_support::read_file(err_path);
    return result;
}

}  // namespace cli_test
