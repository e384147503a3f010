#include "snapshot/fsutil.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

#include "enmap/error.hpp"

namespace fs = std::filesystem;

namespace snapshot {

namespace {
std::string errno_text() {
    return std::strerror(errno);
}

std::string random_suffix() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    return std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd());
}
}  // namespace

Fd::~Fd() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (m_fd >= 0) {
            ::close(m_fd);
        }
        m_fd = other.release();
    }
    return *this;
}

int Fd::release() {
    int fd = m_fd;
    m_fd = -1;
    return fd;
}

Fd open_read(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw enmap::InputError("cannot open " + path.string() + ": " + errno_text());
    }
    return Fd(fd);
}

void make_dir(const fs::path& path) {
    if (path.empty() || fs::is_directory(path)) {
        return;
    }
    make_dir(path.parent_path());
    if (::mkdir(path.c_str(), k_dir_mode) != 0 && errno != EEXIST) {
        throw enmap::StoreError("cannot create folder " + path.string() + ": " + errno_text(),
                                "check the permissions of its parent folder");
    }
}

void fsync_dir(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
        throw enmap::StoreError("cannot fsync folder " + path.string() + ": " + errno_text());
    }
}

std::size_t pread_full(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
    auto* out = static_cast<char*>(buffer);
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw enmap::InputError(std::string("read failed: ") + errno_text());
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

void write_full(int fd, const void* data, std::size_t size, const fs::path& name) {
    const auto* in = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, in, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (enmap::is_no_space_errno(errno)) {
                throw enmap::NoSpaceError("cannot write " + name.string() + ": " + errno_text(),
                                          enmap::k_no_space_hint);
            }
            throw enmap::StoreError("cannot write " + name.string() + ": " + errno_text(),
                                    "check free space and permissions");
        }
        in += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string read_small_file(const fs::path& path) {
    Fd fd = open_read(path);
    std::string out;
    char buffer[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw enmap::InputError("cannot read " + path.string() + ": " + errno_text());
        }
        if (n == 0) {
            break;
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    return out;
}

AtomicFile::AtomicFile(const fs::path& tmp_dir, mode_t mode) {
    make_dir(tmp_dir);
    for (int attempt = 0; attempt < 16; ++attempt) {
        fs::path candidate = tmp_dir / (".tmp-" + random_suffix());
        int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0) {
            ::fchmod(fd, mode);
            m_tmp_path = candidate;
            m_fd = Fd(fd);
            return;
        }
        if (errno != EEXIST) {
            break;
        }
    }
    if (enmap::is_no_space_errno(errno)) {
        throw enmap::NoSpaceError(
            "cannot create a temporary file in " + tmp_dir.string() + ": " + errno_text(),
            enmap::k_no_space_hint);
    }
    throw enmap::StoreError("cannot create a temporary file in " + tmp_dir.string() + ": " + errno_text(),
                            "check free space and permissions");
}

AtomicFile::~AtomicFile() {
    if (!m_committed && !m_tmp_path.empty()) {
        ::unlink(m_tmp_path.c_str());
    }
}

void AtomicFile::write(const void* data, std::size_t size) {
    write_full(m_fd.get(), data, size, m_tmp_path);
    m_size += size;
}

void AtomicFile::start_writeback() {
    if (m_size > m_writeback_started) {
        // Advisory: an error here leaves the work to commit()'s fsync, which reports errors.
        (void)::sync_file_range(m_fd.get(), static_cast<off_t>(m_writeback_started),
                                static_cast<off_t>(m_size - m_writeback_started), SYNC_FILE_RANGE_WRITE);
        m_writeback_started = m_size;
    }
}

void AtomicFile::commit(const fs::path& final_path, bool durable) {
    if (durable && ::fsync(m_fd.get()) != 0) {
        if (enmap::is_no_space_errno(errno)) {
            throw enmap::NoSpaceError("cannot fsync " + m_tmp_path.string() + ": " + errno_text(),
                                      enmap::k_no_space_hint);
        }
        throw enmap::StoreError("cannot fsync " + m_tmp_path.string() + ": " + errno_text());
    }
    m_fd = Fd();
    make_dir(final_path.parent_path());
    if (::rename(m_tmp_path.c_str(), final_path.c_str()) != 0) {
        throw enmap::StoreError("cannot rename " + m_tmp_path.string() + " to " + final_path.string() + ": " +
                                errno_text());
    }
    m_committed = true;
    if (durable) {
        fsync_dir(final_path.parent_path());
    }
}

void write_file_atomic(const fs::path& tmp_dir, const fs::path& final_path, std::string_view data,
                       mode_t mode) {
    AtomicFile file(tmp_dir, mode);
    file.write(data);
    file.commit(final_path);
}

std::vector<std::pair<fs::path, std::uintmax_t>> remove_stale_temp_files(const fs::path& dir) {
    std::vector<std::pair<fs::path, std::uintmax_t>> removed;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        // .tmp-<pid>-<counter>-<random>, as AtomicFile names them: nothing else is ours.
        if (name.rfind(".tmp-", 0) != 0) {
            continue;
        }
        std::string_view rest = std::string_view(name).substr(5);
        int dashes = 0;
        bool digits = !rest.empty();
        for (char c : rest) {
            if (c == '-') {
                ++dashes;
            } else if (c < '0' || c > '9') {
                digits = false;
            }
        }
        std::string_view pid_text = rest.substr(0, rest.find('-'));
        if (!digits || dashes != 2 || pid_text.empty() || pid_text.size() > 9 || pid_text.front() == '-') {
            continue;
        }
        const auto pid = static_cast<pid_t>(std::stol(std::string(pid_text)));
        std::error_code ec2;
        if (pid <= 0 || pid == ::getpid() || !entry.is_regular_file(ec2) ||
            !(::kill(pid, 0) != 0 && errno == ESRCH)) {
            continue;  // ours, running, or not a file: kept
        }
        std::uintmax_t size = entry.file_size(ec2);
        if (::unlink(entry.path().c_str()) == 0) {
            removed.emplace_back(entry.path(), ec2 ? 0 : size);
        }
    }
    if (!removed.empty()) {
        fsync_dir(dir);
    }
    return removed;
}

void remove_durably(const fs::path& path) {
    if (::unlink(path.c_str()) != 0) {
        if (errno == ENOENT) {
            return;
        }
        throw enmap::StoreError("cannot remove " + path.string() + ": " + errno_text());
    }
    fsync_dir(path.parent_path());
}

}  // namespace snapshot
