#pragma once
// enmap/ page summary: the same Summary as summarize(database), computed from the database file's
// pages while something else reads them anyway. `snapshot create` reads every page of
// enmap.sqlite to hash and compress it; reading every row a second time through SQLite (its
// B-tree code, a pread per page, a copy of every row) cost a tenth of its CPU time. Here the
// table B-trees' interior pages (well under 1% of a table) are walked first, to know which pages
// are leaves of which table; then each batch of pages the store reads is handed to add(), which
// decodes the rows of the leaves among them. Anything this reader does not expect (a rowid alias,
// a column that is not text or blob, a page that is not the leaf the walk found, a missing page)
// makes plan() or finish() decline, and the caller summarizes through SQLite instead: never a
// different answer, only a slower one. docs/design.md, "The table summary".

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "enmap/database.hpp"
#include "enmap/summary.hpp"

namespace enmap {

class PageSummary {
public:
    /// Plans the summary of `database` (opened from a file, not a private copy; the caller keeps
    /// writers out until finish()). Returns nullptr when the file is not laid out as this reader
    /// expects. Throws InputError when the file cannot be read.
    static std::unique_ptr<PageSummary> plan(const Database& database);
    ~PageSummary();
    PageSummary(const PageSummary&) = delete;
    PageSummary& operator=(const PageSummary&) = delete;

    /// The database's page size: add() takes whole pages.
    [[nodiscard]] std::uint32_t page_size() const { return m_page_size; }
    /// Decodes the rows on the table leaf pages among `pages`, whole pages that start at byte
    /// `offset` of the file (a multiple of the page size). Every page must be given once, in any
    /// order, from any number of threads at once; each thread keeps its own tallies, so a call
    /// for a few pages (still in the CPU's cache after hashing) costs no more than one for many.
    /// A row that spills to overflow pages has them read from the file. Throws InputError for a
    /// malformed value, as summarize() would.
    void add(std::uint64_t offset, std::string_view pages);
    /// The summary, or nullopt when a page was not as the plan expected or was never given. Call
    /// it once, after every add() has returned.
    std::optional<Summary> finish();
    /// Seconds spent in add(), summed over the threads that called it.
    [[nodiscard]] double seconds_in_add() const;

private:
    struct Table;
    struct Thread;
    PageSummary() = default;
    Thread& this_thread();

    std::filesystem::path m_path;
    std::string m_origin;
    int m_fd = -1;
    std::uint32_t m_page_size = 0;
    std::uint32_t m_usable = 0;
    std::vector<TableLayout> m_tables;
    std::vector<std::uint32_t> m_owner;  // page number -> 1 + index into m_tables, 0: not a leaf
    std::uint64_t m_leaves = 0;
    std::unique_ptr<std::atomic<bool>[]> m_given;  // page number -> a leaf add() has had
    std::vector<AutonumCounter> m_autonum;
    std::vector<std::string> m_change_tables;
    ReadOptions m_options;
    std::mutex m_mutex;
    std::map<std::thread::id, std::unique_ptr<Thread>> m_threads;  // guarded by m_mutex
    std::atomic<std::uint64_t> m_leaves_seen{0};
    std::atomic<bool> m_unexpected{false};
    std::atomic<std::uint64_t> m_add_nanoseconds{0};
};

}  // namespace enmap
