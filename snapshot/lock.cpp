#include "snapshot/lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

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

std::string describe_lock_holders(const fs::path& store) {
    std::string out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(store / "locks", ec)) {
        try {
            auto info = nlohmann::json::parse(read_small_file(entry.path()));
            pid_t pid = info.value("pid", 0);
            if (info.value("host", "") == hostname() && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
                continue;
            }
            if (!out.empty()) {
                out += "; ";
            }
            out += "process " + std::to_string(pid) + " on " + info.value("host", "?") + " (" +
                   info.value("command", "?") + ", " + info.value("mode", "?") + " lock since " +
                   info.value("since", "?") + ")";
        } catch (const std::exception&) {
            continue;  // a holder file being written or removed right now
        }
    }
    return out.empty() ? "another process (it left no holder file)" : out;
}

StoreLock::StoreLock(const fs::path& store, Mode mode, const std::string& command, bool reader)
    : m_store(store), m_command(command), m_mode(mode) {
    fs::path path = store / "lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, k_file_mode);
    if (fd < 0 && reader && (errno == EROFS || errno == EACCES || errno == EPERM)) {
        m_read_only = true;
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            return;  // read without a lock: this process cannot change the store, nor can a writer here
        }
    }
    if (fd < 0) {
        throw enmap::StoreError("cannot open the lock file " + path.string() + ": " + std::strerror(errno),
                                "check the permissions of the store folder");
    }
    m_fd = Fd(fd);
    int op = (mode == Mode::k_exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    if (::flock(m_fd.get(), op) != 0) {
        throw enmap::RefusedError(
            "the store " + store.string() + " is locked by " + describe_lock_holders(store),
            mode == Mode::k_exclusive ? "wait until the other command finishes, then run this again"
                                      : "prune or gc is running on this store; wait until it finishes");
    }
    if (!m_read_only) {
        write_holder_file();
    }
}

StoreLock::~StoreLock() {
    if (!m_holder_file.empty()) {
        ::unlink(m_holder_file.c_str());
    }
}

void StoreLock::write_holder_file() {
    static std::atomic<unsigned> counter{0};
    fs::path dir = m_store / "locks";
    if (m_holder_file.empty()) {
        m_holder_file = dir / (std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".json");
    }
    auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char since[32] = {};
    std::strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    nlohmann::json info = {{"pid", ::getpid()},
                           {"host", hostname()},
                           {"command", m_command},
                           {"mode", m_mode == Mode::k_exclusive ? "exclusive" : "shared"},
                           {"since", since}};
    // Informational only: written whole and renamed, but not fsynced.
    fs::path tmp = m_holder_file.string() + ".tmp";
    {
        Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, k_file_mode));
        if (fd.get() < 0) {
            return;
        }
        std::string text = info.dump();
        try {
            write_full(fd.get(), text.data(), text.size(), tmp);
        } catch (const enmap::Error&) {
            // A full disk: the lock itself is held, and cleaning up may free the space.
            ::unlink(tmp.c_str());
            return;
        }
    }
    ::rename(tmp.c_str(), m_holder_file.c_str());
}

bool StoreLock::try_upgrade() {
    if (m_mode == Mode::k_exclusive) {
        return true;
    }
    if (::flock(m_fd.get(), LOCK_EX | LOCK_NB) != 0) {
        // Linux drops the shared lock when a conversion fails: take it again.
        if (::flock(m_fd.get(), LOCK_SH | LOCK_NB) != 0) {
            throw enmap::RefusedError(
                "lost the lock on " + m_store.string() + " to " + describe_lock_holders(m_store),
                "run the command again once the other one finishes");
        }
        return false;
    }
    m_mode = Mode::k_exclusive;
    write_holder_file();
    return true;
}

void StoreLock::downgrade() {
    if (m_mode == Mode::k_shared) {
        return;
    }
    if (::flock(m_fd.get(), LOCK_SH | LOCK_NB) != 0) {
        throw enmap::RefusedError(
            "lost the lock on " + m_store.string() + " to " + describe_lock_holders(m_store),
            "run the command again once the other one finishes");
    }
    m_mode = Mode::k_shared;
    write_holder_file();
}

void StoreLock::remove_stale_holder_files() const {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(m_store / "locks", ec)) {
        if (entry.path() != m_holder_file) {
            fs::remove(entry.path(), ec);
        }
    }
}

}  // namespace snapshot
