#pragma once
// replay/ the spool: decoded rows kept on disk between preflight and the load, as binary COPY
// tuples (replay/copy.hpp) in a private file. Preflight decodes every row once and writes it
// here; the load streams the bytes into COPY as they are, and validation reads the rows back,
// so no row is decoded twice and memory stays bounded whatever the row count.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "replay/source.hpp"

namespace replay {

/// An append-only file of binary COPY tuples, cut into segments (one per table).
class Spool {
public:
    /// Where one segment lies in the file.
    struct Segment {
        std::uint64_t offset = 0;
        std::uint64_t bytes = 0;
        std::uint64_t rows = 0;
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
    /// Ends the current segment (and starts the next); returns where it lies.
    Segment end_segment();
    /// Reads a segment back in pieces of whole tuples (about 1 MiB each, more for a larger row)
    /// with the number of rows in each. Safe to call from several threads at once.
    void read(const Segment& segment, const TupleCallback& callback) const;
    /// Reads a segment back row by row. Safe to call from several threads at once.
    void for_each_row(const Segment& segment, const RowCallback& callback) const;

private:
    void flush();

    std::filesystem::path m_file;
    int m_fd = -1;
    std::string m_buffer;
    std::uint64_t m_written = 0;  // bytes in the file
    Segment m_current;
};

}  // namespace replay
