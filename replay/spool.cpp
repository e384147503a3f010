#include "replay/spool.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
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

struct FdCloser {
    int fd;
    explicit FdCloser(int descriptor) : fd(descriptor) {}
    FdCloser(const FdCloser&) = delete;
    FdCloser& operator=(const FdCloser&) = delete;
    ~FdCloser() { ::close(fd); }
};

int open_for_reading(const fs::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw enmap::Error("cannot read the spool file " + file.string() + ": " + errno_text());
    }
    return fd;
}

// Reads `bytes` at `offset` into `out`.
void read_exactly(int fd, const fs::path& file, std::uint64_t offset, std::uint64_t bytes, char* out) {
    std::size_t got = 0;
    while (got < bytes) {
        ssize_t n = ::pread(fd, out + got, bytes - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw enmap::Error("cannot read the spool file " + file.string() + ": " +
                               (n == 0 ? std::string("it ended early") : errno_text()));
        }
        got += static_cast<std::size_t>(n);
    }
}

// Calls back with each tuple's key and whole bytes in `data` (whole tuples); returns how many.
template <typename Callback>
std::uint64_t for_each_tuple(std::string_view data, const fs::path& file, Callback&& callback) {
    std::size_t at = 0;
    std::uint64_t rows = 0;
    while (at < data.size()) {
        std::size_t size = tuple_size(data.data() + at, data.size() - at);
        if (size == 0 || size > data.size() - at) {
            throw enmap::Error("the spool file " + file.string() + " is damaged (a row is cut)");
        }
        callback(data.substr(at + 6, get_u32(data.data() + at + 2)), data.substr(at, size));
        at += size;
        ++rows;
    }
    return rows;
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

void Spool::write_out(const std::string& bytes) {
    const char* data = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
        ssize_t n = ::write(m_fd, data, left);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && enmap::is_no_space_errno(errno)) {
            throw enmap::NoSpaceError(
                "cannot write the spool file " + m_file.string() + ": " + errno_text(),
                std::string("TMPDIR needs room for the decoded rows (about the size of the "
                            "database); ") +
                    enmap::k_no_space_hint);
        }
        if (n <= 0) {
            throw enmap::Error("cannot write the spool file " + m_file.string() + ": " + errno_text(),
                               "set TMPDIR to a folder with room for the decoded rows (about the size of "
                               "the database)");
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    m_written += bytes.size();
}

void Spool::flush() {
    write_out(m_buffer);
    m_buffer.clear();
}

void Spool::flush_bucket(std::size_t bucket) {
    std::string& buffer = m_bucket_buffers[bucket];
    if (buffer.empty()) {
        return;
    }
    m_current.buckets[bucket].extents.push_back({m_written, buffer.size()});
    write_out(buffer);
    buffer.clear();
}

void Spool::add(std::string_view key, std::string_view value_json) {
    std::string* buffer = &m_buffer;
    std::size_t bucket = 0;
    if (!m_current.buckets.empty()) {
        // The first boundary above the key: bytewise, as std::string_view compares.
        bucket = static_cast<std::size_t>(std::upper_bound(m_boundaries.begin(), m_boundaries.end(), key,
                                                           [](std::string_view k, const std::string& b) {
                                                               return k < std::string_view(b);
                                                           }) -
                                          m_boundaries.begin());
        buffer = &m_bucket_buffers[bucket];
    }
    std::size_t before = buffer->size();
    append_copy_tuple(*buffer, key, value_json);
    std::size_t added = buffer->size() - before;
    m_current.bytes += added;
    ++m_current.rows;
    if (m_current.buckets.empty()) {
        if (m_buffer.size() >= k_block) {
            flush();
        }
        return;
    }
    Bucket& b = m_current.buckets[bucket];
    b.bytes += added;
    ++b.rows;
    if (buffer->size() >= m_bucket_piece) {
        flush_bucket(bucket);
    }
}

void Spool::begin_sorted(std::vector<std::string> boundaries) {
    if (m_current.rows != 0) {
        throw enmap::Error("replay: a spool segment made sorted after its first row");
    }
    m_boundaries = std::move(boundaries);
    m_current.buckets.assign(m_boundaries.size() + 1, Bucket{});
    m_bucket_buffers.assign(m_current.buckets.size(), std::string());
    // Written out in pieces of 32 KiB, smaller past 512 buckets: 16 MiB of buffers at most.
    m_bucket_piece = std::clamp<std::size_t>((std::size_t{16} << 20) / m_bucket_buffers.size(), 4096,
                                             std::size_t{32} << 10);
}

Spool::Segment Spool::end_segment() {
    flush();
    for (std::size_t i = 0; i < m_bucket_buffers.size(); ++i) {
        flush_bucket(i);
    }
    m_bucket_buffers.clear();
    m_bucket_buffers.shrink_to_fit();
    m_boundaries.clear();
    Segment done = std::move(m_current);
    m_current = Segment{m_written, 0, 0, {}};
    return done;
}

void Spool::read(const Segment& segment, const TupleCallback& callback, bool in_order) const {
    if (segment.buckets.empty()) {
        read_plain(segment.offset, segment.bytes, callback);
        return;
    }
    int fd = open_for_reading(m_file);
    FdCloser closer{fd};
    std::string out;
    std::uint64_t out_rows = 0;
    auto pass_on = [&](std::string_view tuple) {
        out.append(tuple);
        ++out_rows;
        if (out.size() >= k_block) {
            callback(out, out_rows);
            out.clear();
            out_rows = 0;
        }
    };
    std::string data;
    struct Row {
        std::string_view key;
        std::string_view tuple;
    };
    std::vector<Row> rows;
    for (const Bucket& bucket : segment.buckets) {
        if (!in_order || bucket.bytes > k_max_bucket_bytes) {
            // Piece by piece, in the order written.
            for (const Extent& extent : bucket.extents) {
                data.resize(extent.bytes);
                read_exactly(fd, m_file, extent.offset, extent.bytes, data.data());
                callback(data, for_each_tuple(data, m_file, [](std::string_view, std::string_view) {}));
            }
            continue;
        }
        data.resize(bucket.bytes);
        std::size_t filled = 0;
        for (const Extent& extent : bucket.extents) {
            if (extent.bytes > data.size() - filled) {
                throw enmap::Error("the spool file " + m_file.string() +
                                   " is damaged (a bucket outgrew itself)");
            }
            read_exactly(fd, m_file, extent.offset, extent.bytes, data.data() + filled);
            filled += extent.bytes;
        }
        rows.clear();
        for_each_tuple(data, m_file, [&](std::string_view key, std::string_view tuple) {
            rows.push_back({key, tuple});
        });
        // Bytewise: std::string_view compares as unsigned chars, as SQLite's BINARY and C do.
        std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
        for (const Row& row : rows) {
            pass_on(row.tuple);
        }
    }
    if (!out.empty()) {
        callback(out, out_rows);
    }
}

void Spool::read_plain(std::uint64_t offset, std::uint64_t bytes, const TupleCallback& callback) const {
    int fd = open_for_reading(m_file);
    FdCloser closer{fd};
    std::string buffer;
    buffer.resize(k_block);
    std::size_t held = 0;  // bytes of buffer holding data not yet passed on
    std::uint64_t end = offset + bytes;
    while (offset < end || held > 0) {
        std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size() - held, end - offset));
        if (want > 0) {
            read_exactly(fd, m_file, offset, want, buffer.data() + held);
            held += want;
            offset += want;
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
    read(
        segment, [&](std::string_view tuples, std::uint64_t) { parse_copy_tuples(tuples, callback); },
        /*in_order=*/false);
}

}  // namespace replay
