#include "replay/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "enmap/error.hpp"

namespace replay {

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& user,
                          const std::vector<std::pair<std::string, std::string>>& env) {
    if (argv.empty()) {
        throw enmap::Error("run_process: empty command");
    }
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
    if (!user.empty()) {
        const passwd* pw = ::getpwnam(user.c_str());
        if (pw == nullptr) {
            throw enmap::Error("user '" + user + "' does not exist; it is needed to run " + argv[0],
                               "install PostgreSQL with scripts/bootstrap (it creates the postgres user)");
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        home = pw->pw_dir;
    }
    std::array<int, 2> pipe_fds{};
    if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) {
        throw enmap::Error(std::string("pipe: ") + std::strerror(errno));
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        throw enmap::Error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        ::dup2(null_fd, 0);
        ::dup2(pipe_fds[1], 1);
        ::dup2(pipe_fds[1], 2);
        ::close(pipe_fds[0]);
        if (!user.empty()) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) {
                ::_exit(126);
            }
            ::setenv("HOME", home.c_str(), 1);
            ::setenv("USER", user.c_str(), 1);
        }
        for (const auto& [name, value] : env) {
            ::setenv(name.c_str(), value.c_str(), 1);
        }
        std::vector<char*> args;
        args.reserve(argv.size() + 1);
        for (const auto& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    ProcessResult result;
    std::array<char, 4096> buf{};
    for (;;) {
        ssize_t n = ::read(pipe_fds[0], buf.data(), buf.size());
        if (n > 0) {
            result.output.append(buf.data(), static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    ::close(pipe_fds[0]);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    if (result.status == 127) {
        throw enmap::Error("could not run " + argv[0]);
    }
    return result;
}

}  // namespace replay
