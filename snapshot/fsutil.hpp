#pragma once
// Durable file operations for the store: every write goes to a temporary file, is fsynced,
// renamed into place, and the folder is fsynced, so a crash never leaves a half-written object.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace snapshot {

/// Mode of every file the store creates.
inline constexpr mode_t k_file_mode = 0600;
/// Mode of every folder the store creates.
inline constexpr mode_t k_dir_mode = 0700;

/// An owned file descriptor, closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd();
    Fd(Fd&& other) noexcept : m_fd(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    /// The descriptor, or -1.
    [[nodiscard]] int get() const { return m_fd; }
    /// Gives up ownership.
    int release();

private:
    int m_fd = -1;
};

/// Opens a file read-only; throws InputError naming the file when it cannot.
Fd open_read(const std::filesystem::path& path);
/// Creates a folder (and its parents) with mode 0700; throws StoreError naming it.
void make_dir(const std::filesystem::path& path);
/// fsyncs a folder so a rename or unlink in it is durable; throws StoreError naming it.
void fsync_dir(const std::filesystem::path& path);
/// Reads exactly size bytes at offset; returns the bytes read (fewer only at end of file).
std::size_t pread_full(int fd, void* buffer, std::size_t size, std::uint64_t offset);
/// Writes all bytes; throws StoreError naming the file.
void write_full(int fd, const void* data, std::size_t size, const std::filesystem::path& name);
/// Reads a whole (small) file; throws InputError naming it.
std::string read_small_file(const std::filesystem::path& path);

/// A file written under a temporary name in `tmp_dir`, then fsynced and renamed to its final
/// path by commit(). Destroyed without commit(), it removes its temporary file.
class AtomicFile {
public:
    /// Creates the temporary file with `mode`; throws StoreError naming the folder.
    AtomicFile(const std::filesystem::path& tmp_dir, mode_t mode = k_file_mode);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    /// Appends bytes; throws StoreError.
    void write(const void* data, std::size_t size);
    /// Appends bytes; throws StoreError.
    void write(std::string_view data) { write(data.data(), data.size()); }
    /// Bytes written so far.
    [[nodiscard]] std::uint64_t size() const { return m_size; }
    /// The temporary file's descriptor (for pread of what was written).
    [[nodiscard]] int fd() const { return m_fd.get(); }
    /// Asks the kernel to start writing what was written so far to disk, without waiting, so that
    /// the fsync of commit() has less left to wait for.
    void start_writeback();
    /// fsyncs, renames to `final_path` (creating its folder), fsyncs the folders; throws StoreError.
    /// With `durable` false it only renames: for scratch copies that a crash may lose.
    void commit(const std::filesystem::path& final_path, bool durable = true);

private:
    std::filesystem::path m_tmp_path;
    Fd m_fd;
    std::uint64_t m_size = 0;
    std::uint64_t m_writeback_started = 0;
    bool m_committed = false;
};

/// Writes `data` to `final_path` through an AtomicFile in `tmp_dir`.
void write_file_atomic(const std::filesystem::path& tmp_dir, const std::filesystem::path& final_path,
                       std::string_view data, mode_t mode = k_file_mode);

/// Removes the temporary files that an AtomicFile of a process no longer running left in `dir`
/// (`.tmp-<pid>-<n>-<random>`, the process dead on this machine: kill -9, a power cut); returns them
/// with their sizes. Another process's files, and the files of a running one, are left alone.
std::vector<std::pair<std::filesystem::path, std::uintmax_t>> remove_stale_temp_files(
    const std::filesystem::path& dir);

/// Removes a file and fsyncs its folder; a missing file is not an error.
void remove_durably(const std::filesystem::path& path);

}  // namespace snapshot
