#pragma once
// replay/ the spool: decoded rows kept on disk between preflight and the load, as binary COPY
// tuples (replay/copy.hpp) in a private file. Preflight decodes every row once and writes it
// here; the load streams the bytes into COPY as they are, and validation reads the rows back,
// so no row is decoded twice and memory stays bounded whatever the row count.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "replay/source.hpp"

namespace replay {

/// An append-only file of binary COPY tuples, cut into segments (one per table).
///
/// A segment is either read back in the order it was written, or *sorted*: read back in bytewise
/// key order while written in another (the order the database stores the rows, the cheap one to
/// read). A sorted segment's rows go to buckets by key range (cut at keys the caller chooses,
/// Database::key_boundaries), each bucket written in pieces; reading sorts each bucket in memory
/// (a few MB) before passing it on.
class Spool {
public:
    /// A bucket larger than this is passed on in the order it was written instead (keys with rows
    /// averaging over 4 KiB): correct, only not in key order.
    static constexpr std::uint64_t k_max_bucket_bytes = std::uint64_t{64} << 20;

    /// A piece of a bucket in the file.
    struct Extent {
        std::uint64_t offset = 0;
        std::uint64_t bytes = 0;
    };
    /// The rows of one key range.
    struct Bucket {
        std::vector<Extent> extents;
        std::uint64_t bytes = 0;
        std::uint64_t rows = 0;
    };
    /// Where one segment lies in the file.
    struct Segment {
        std::uint64_t offset = 0;
        std::uint64_t bytes = 0;
        std::uint64_t rows = 0;
        std::vector<Bucket> buckets;  // a sorted segment's, in key order; empty otherwise
    };

    /// Creates `file` (mode 0600; it must not exist). Throws enmap::Error naming it.
    explicit Spool(std::filesystem::path file);
    /// Closes and removes the file.
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    /// Appends one row to the current segment. Throws enmap::InputError for a field over 1 GiB,
    /// enmap::Error when the file cannot be written (a full disk).
    void add(std::string_view key, std::string_view value_json);
    /// Makes the current segment (still empty) sorted, with buckets cut at `boundaries` (in
    /// bytewise order: bucket i holds the keys k with boundaries[i-1] <= k < boundaries[i]).
    void begin_sorted(std::vector<std::string> boundaries);
    /// Ends the current segment (and starts the next); returns where it lies.
    Segment end_segment();
    /// Reads a segment back in pieces of whole tuples (about 1 MiB each, more for a larger row)
    /// with the number of rows in each; a sorted segment in key order unless `in_order` is false.
    /// Safe to call from several threads at once.
    void read(const Segment& segment, const TupleCallback& callback, bool in_order = true) const;
    /// Reads a segment back row by row, in no particular order. Safe to call from several threads
    /// at once.
    void for_each_row(const Segment& segment, const RowCallback& callback) const;

private:
    void flush();
    void write_out(const std::string& bytes);
    void flush_bucket(std::size_t bucket);
    void read_plain(std::uint64_t offset, std::uint64_t bytes, const TupleCallback& callback) const;

    std::filesystem::path m_file;
    int m_fd = -1;
    std::string m_buffer;
    std::uint64_t m_written = 0;  // bytes in the file
    Segment m_current;
    std::vector<std::string> m_boundaries;      // a sorted segment's
    std::vector<std::string> m_bucket_buffers;  // a sorted segment's, one per bucket
    std::size_t m_bucket_piece = 0;             // the size a bucket's buffer is written out at
};

}  // namespace replay
