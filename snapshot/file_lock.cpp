#include "snapshot/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "enmap/error.hpp"

namespace fs = std::filesystem;

namespace snapshot {

namespace {
std::string hostname() {
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    return name;
}
}  // namespace

FileLock::FileLock(const fs::path& file, const std::string& command) {
    m_fd = Fd(::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (m_fd.get() < 0) {
        throw enmap::StoreError("cannot create the lock file " + file.string() + ": " + std::strerror(errno),
                                "check the permissions of " + file.parent_path().string());
    }
    if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
        std::string holder = read_small_file(file);
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) {
            holder.pop_back();
        }
        throw enmap::RefusedError(
            "another command holds " + file.string() + (holder.empty() ? std::string() : " (" + holder + ")"),
            "wait for it to finish; two of them on one folder would take each other's work for an "
            "interrupted run");
    }
    std::string who = "pid " + std::to_string(::getpid()) + " on " + hostname() + ": " + command + "\n";
    if (::ftruncate(m_fd.get(), 0) == 0) {
        [[maybe_unused]] auto written = ::pwrite(m_fd.get(), who.data(), who.size(), 0);
    }
}

}  // namespace snapshot
