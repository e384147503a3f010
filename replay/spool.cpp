#include "replay/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "enmap/error.hpp"
#include "replay/copy.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

constexpr std::size_t k_block = 1 << 20;

std::string errno_text() {
    return std::strerror(errno);
}

std::uint32_t get_u32(const char* p) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

// The size of the whole tuple starting at `p`, or 0 when `available` bytes do not show it yet.
std::size_t tuple_size(const char* p, std::size_t available) {
    if (available < 6) {
        return 0;
    }
    std::size_t key = get_u32(p + 2);
    if (available < 10 + key) {
        return 0;
    }
    return 10 + key + get_u32(p + 6 + key);
}

}  // namespace

Spool::Spool(fs::path file) : m_file(std::move(file)) {
    m_fd = ::open(m_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (m_fd < 0) {
        throw enmap::Error("cannot create the spool file " + m_file.string() + ": " + errno_text(),
                           "set TMPDIR to a writable folder with room for the decoded rows");
    }
    m_buffer.reserve(k_block + (k_block >> 2));
}

Spool::~Spool() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
    std::error_code ec;
    fs::remove(m_file, ec);
}

void Spool::flush() {
    const char* data = m_buffer.data();
    std::size_t left = m_buffer.size();
    while (left > 0) {
        ssize_t n = ::write(m_fd, data, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw enmap::Error("cannot write the spool file " + m_file.string() + ": " + errno_text(),
                               "set TMPDIR to a folder with room for the decoded rows (about the size of "
                               "the database)");
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    m_written += m_buffer.size();
    m_buffer.clear();
}

void Spool::add(std::string_view key, std::string_view value_json) {
    std::size_t before = m_buffer.size();
    append_copy_tuple(m_buffer, key, value_json);
    m_current.bytes += m_buffer.size() - before;
    ++m_current.rows;
    if (m_buffer.size() >= k_block) {
        flush();
    }
}

Spool::Segment Spool::end_segment() {
    flush();
    Segment done = m_current;
    m_current = Segment{m_written, 0, 0};
    return done;
}

void Spool::read(const Segment& segment, const TupleCallback& callback) const {
    int fd = ::open(m_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw enmap::Error("cannot read the spool file " + m_file.string() + ": " + errno_text());
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    std::string buffer;
    buffer.resize(k_block);
    std::size_t held = 0;  // bytes of buffer holding data not yet passed on
    std::uint64_t offset = segment.offset;
    std::uint64_t end = segment.offset + segment.bytes;
    while (offset < end || held > 0) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size() - held, end - offset));
        if (want > 0) {
            ssize_t n = ::pread(fd, buffer.data() + held, want, static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                throw enmap::Error("cannot read the spool file " + m_file.string() + ": " +
                                   (n == 0 ? std::string("it ended early") : errno_text()));
            }
            held += static_cast<std::size_t>(n);
            offset += static_cast<std::uint64_t>(n);
        }
        // Pass on the whole tuples; keep a partial one for the next read.
        std::size_t whole = 0;
        std::uint64_t rows = 0;
        while (std::size_t size = tuple_size(buffer.data() + whole, held - whole)) {
            if (size > held - whole) {
                break;
            }
            whole += size;
            ++rows;
        }
        if (whole == 0) {
            if (offset >= end) {
                throw enmap::Error("the spool file " + m_file.string() + " ends inside a row");
            }
            std::size_t size = tuple_size(buffer.data(), held);
            buffer.resize(std::max(buffer.size() * 2, size));  // a row larger than the buffer
            continue;
        }
        callback(std::string_view(buffer.data(), whole), rows);
        std::memmove(buffer.data(), buffer.data() + whole, held - whole);
        held -= whole;
    }
}

void Spool::for_each_row(const Segment& segment, const RowCallback& callback) const {
    read(segment, [&](std::string_view tuples, std::uint64_t) { parse_copy_tuples(tuples, callback); });
}

}  // namespace replay
