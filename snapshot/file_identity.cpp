#include "snapshot/file_identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace snapshot {

FileIdentity file_identity(const fs::path& path, bool database) {
    FileIdentity id;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return id;
    }
    if (!database && st.st_size == 0) {
        // An empty -wal holds nothing (SQLite creates one when it opens the database, and a
        // read-only connection leaves it behind): the same as none. A writer that emptied it
        // again changed the database, which is compared too.
        return id;
    }
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    id.size = st.st_size;
    id.mtime = st.st_mtim;
    id.ctime = st.st_ctim;
    if (database) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        unsigned char header[4] = {};
        if (fd >= 0 && ::pread(fd, header, sizeof(header), 24) == static_cast<ssize_t>(sizeof(header))) {
            id.counter = static_cast<std::uint32_t>(header[0]) << 24 |
                         static_cast<std::uint32_t>(header[1]) << 16 |
                         static_cast<std::uint32_t>(header[2]) << 8 | header[3];
        }
        if (fd >= 0) {
            ::close(fd);
        }
    }
    return id;
}

std::string file_identity_change(const FileIdentity& a, const FileIdentity& b, const fs::path& path) {
    std::string name = path.filename().string();
    if (a.exists != b.exists) {
        return name + (b.exists ? " appeared" : " disappeared");
    }
    if (!a.exists) {
        return {};
    }
    if (a.dev != b.dev || a.ino != b.ino) {
        return name + " was replaced (another inode)";
    }
    if (a.size != b.size) {
        return name + " changed size from " + std::to_string(a.size) + " to " + std::to_string(b.size) +
               " bytes";
    }
    if (a.counter != b.counter) {
        return name + "'s change counter went from " + std::to_string(a.counter) + " to " +
               std::to_string(b.counter);
    }
    auto same = [](const timespec& x, const timespec& y) {
        return x.tv_sec == y.tv_sec && x.tv_nsec == y.tv_nsec;
    };
    if (!same(a.mtime, b.mtime)) {  // ctime left out: chown and chmod lose no writes
        return name + " was written to";
    }
    return {};
}

}  // namespace snapshot
