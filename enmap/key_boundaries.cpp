// Database::key_boundaries: keys that cut a table into ranges of about equal row counts, read
// from the interior pages of its key index.
//
// An index B-tree's interior pages hold, between each two leaf pages, a key that all keys of the
// first leaf are below and all of the second above. Walking only those pages (about 1% of the
// index) in key order gives the leaves in key order and a cut between every two; cuts every n
// leaves make ranges of about n leaves' rows. SQLite's own walk of the index (SELECT ... ORDER BY
// key) would read every leaf, in key order: random pages in the file, which out of a snapshot
// store cost a compressed block each. A page layout this does not expect (a key spilling to
// overflow pages, an index over more than the key) gives nullopt: no cuts, not a wrong one.
//
// The page format: https://www.sqlite.org/fileformat2.html#b_tree_pages

#include <sqlite3.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <cstring>
#include <limits>

#include "enmap/database.hpp"
#include "enmap/error.hpp"
#include "enmap/sqlite_page.hpp"

namespace enmap {

namespace {

using sqlite_page::get_u16;
using sqlite_page::get_u32;
using sqlite_page::k_interior_index;
using sqlite_page::k_leaf_index;
using sqlite_page::varint;
using Unexpected = sqlite_page::PageLayoutUnexpected;

constexpr int k_max_depth = 40;

// Pages of one database file, read through its VFS (a snapshot store's or the disk's).
class PageReader {
public:
    PageReader(sqlite3* db, std::uint32_t page_size) : m_page_size(page_size) {
        if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &m_file) != SQLITE_OK ||
            m_file == nullptr || m_file->pMethods == nullptr) {
            throw Unexpected{};
        }
        sqlite3_int64 size = 0;
        if (m_file->pMethods->xFileSize(m_file, &size) != SQLITE_OK || size < 0) {
            throw Unexpected{};
        }
        m_pages = static_cast<std::uint64_t>(size) / page_size;
    }
    // Pages first..first+count-1 (numbered from 1) into `out`.
    void read(std::uint32_t first, std::uint32_t count, std::string& out) const {
        if (first == 0 || first + std::uint64_t{count} - 1 > m_pages) {
            throw Unexpected{};
        }
        out.resize(std::size_t{count} * m_page_size);
        if (m_file->pMethods->xRead(m_file, out.data(), static_cast<int>(out.size()),
                                    static_cast<sqlite3_int64>(first - 1) * m_page_size) != SQLITE_OK) {
            throw Unexpected{};
        }
    }

private:
    sqlite3_file* m_file = nullptr;
    std::uint32_t m_page_size;
    std::uint64_t m_pages = 0;
};

// One index B-tree page: its type, and on an interior page each cell's key and left child, and the
// right-most child.
class IndexPage {
public:
    IndexPage(const unsigned char* page, std::uint32_t usable) : m_page(page), m_usable(usable) {
        m_type = page[0];
        if (m_type != k_interior_index && m_type != k_leaf_index) {
            throw Unexpected{};
        }
        m_cells = get_u16(page + 3);
        m_header = m_type == k_leaf_index ? 8 : 12;
        if (m_header + 2 * m_cells > usable) {
            throw Unexpected{};
        }
        // The largest payload an index page keeps on the page itself.
        m_max_local = (usable - 12) * 64 / 255 - 23;
    }
    [[nodiscard]] bool leaf() const { return m_type == k_leaf_index; }
    [[nodiscard]] std::uint32_t cells() const { return m_cells; }
    [[nodiscard]] std::uint32_t right_child() const { return get_u32(m_page + 8); }
    [[nodiscard]] std::uint32_t left_child(std::uint32_t cell) const {
        return get_u32(m_page + offset(cell));
    }
    // The key of interior cell `cell`: an index on (key) stores records (key, rowid).
    [[nodiscard]] std::string_view key(std::uint32_t cell) const {
        const unsigned char* p = m_page + offset(cell) + (leaf() ? 0 : 4);
        const unsigned char* end = m_page + m_usable;
        std::uint64_t payload = varint(p, end);
        if (payload > m_max_local || payload > static_cast<std::uint64_t>(end - p)) {
            throw Unexpected{};  // spills to overflow pages
        }
        const unsigned char* record = p;
        const unsigned char* record_end = p + payload;
        std::uint64_t header_size = varint(p, record_end);
        if (header_size > payload) {
            throw Unexpected{};
        }
        const unsigned char* header_end = record + header_size;
        std::uint64_t key_type = varint(p, header_end);
        varint(p, header_end);  // the rowid's type
        if (p != header_end || key_type < 13 || key_type % 2 == 0 ||
            (key_type - 13) / 2 > static_cast<std::uint64_t>(record_end - header_end)) {
            throw Unexpected{};  // not exactly (text key, rowid)
        }
        return {reinterpret_cast<const char*>(header_end), static_cast<std::size_t>((key_type - 13) / 2)};
    }

private:
    [[nodiscard]] std::uint32_t offset(std::uint32_t cell) const {
        std::uint32_t at = get_u16(m_page + m_header + 2 * cell);
        if (at < m_header + 2 * m_cells || at + 4 > m_usable) {
            throw Unexpected{};
        }
        return at;
    }

    const unsigned char* m_page;
    std::uint32_t m_usable;
    unsigned char m_type = 0;
    std::uint32_t m_cells = 0;
    std::uint32_t m_header = 0;
    std::uint32_t m_max_local = 0;
};

// Walks the interior pages from `page` down to the leaves' parents, appending, in key order, the
// key between each two leaves; `leaves` counts the leaves passed.
void walk(const PageReader& reader, std::uint32_t usable, std::uint32_t page, int depth, int leaf_depth,
          std::vector<std::string>& cuts, std::uint64_t& leaves, std::string& buffer) {
    if (depth == leaf_depth) {
        ++leaves;
        return;
    }
    if (depth > k_max_depth || leaves > (std::uint64_t{1} << 32)) {
        throw Unexpected{};
    }
    reader.read(page, 1, buffer);
    std::string bytes = buffer;  // the recursion reuses the buffer
    IndexPage interior(reinterpret_cast<const unsigned char*>(bytes.data()), usable);
    if (interior.leaf()) {
        throw Unexpected{};  // the leaves are not all at one depth
    }
    for (std::uint32_t cell = 0; cell < interior.cells(); ++cell) {
        walk(reader, usable, interior.left_child(cell), depth + 1, leaf_depth, cuts, leaves, buffer);
        cuts.emplace_back(interior.key(cell));
    }
    walk(reader, usable, interior.right_child(), depth + 1, leaf_depth, cuts, leaves, buffer);
}

// The key between each two leaves of the index B-tree rooted at `root`, in key order.
std::vector<std::string> leaf_cuts(sqlite3* db, std::uint32_t root, std::uint32_t page_size,
                                   std::uint32_t usable) {
    PageReader reader(db, page_size);
    std::string buffer;
    // The leaves' depth, down the left-most path.
    int leaf_depth = 0;
    for (std::uint32_t page = root;; ++leaf_depth) {
        if (leaf_depth > k_max_depth) {
            throw Unexpected{};
        }
        reader.read(page, 1, buffer);
        IndexPage p(reinterpret_cast<const unsigned char*>(buffer.data()), usable);
        if (p.leaf()) {
            break;
        }
        page = p.cells() > 0 ? p.left_child(0) : p.right_child();
    }
    std::vector<std::string> cuts;
    std::uint64_t leaves = 0;
    walk(reader, usable, root, 0, leaf_depth, cuts, leaves, buffer);
    if (leaves != cuts.size() + 1) {
        throw Unexpected{};
    }
    for (std::size_t i = 1; i < cuts.size(); ++i) {
        if (!(cuts[i - 1] < cuts[i])) {
            throw Unexpected{};  // not in key order
        }
    }
    return cuts;
}

}  // namespace

std::optional<std::vector<std::string>> Database::key_boundaries(const std::string& table, std::uint64_t rows,
                                                                 std::uint64_t rows_per_range) const {
    check_table(table);
    if (rows_per_range == 0 || rows <= rows_per_range) {
        return std::vector<std::string>{};  // one range
    }
    const std::string query = "SELECT key FROM " + quote_identifier(table) + " ORDER BY key COLLATE BINARY";
    try {
        // The index SQLite would walk for bytewise key order, if it holds the key alone.
        SQLite::Statement plan(*m_db, "EXPLAIN QUERY PLAN " + query);
        std::string index;
        while (plan.executeStep()) {
            std::string step = plan.getColumn(3).getString();
            if (step.find("TEMP B-TREE") != std::string::npos) {
                return std::nullopt;
            }
            const std::string marker = "USING COVERING INDEX ";
            if (auto at = step.find(marker); at != std::string::npos) {
                index = step.substr(at + marker.size());
            }
        }
        // A private copy's -wal may hold newer versions of the pages, which only SQLite reads.
        if (index.empty() || m_mode == OpenMode::k_private_copy) {
            return std::nullopt;
        }
        SQLite::Statement root_of(*m_db,
                                  "SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND name = ?");
        root_of.bind(1, index);
        std::int64_t root = root_of.executeStep() ? root_of.getColumn(0).getInt64() : 0;
        std::int64_t page_size = m_db->execAndGet("PRAGMA page_size").getInt64();
        if (root <= 1 || root > std::numeric_limits<std::uint32_t>::max() || page_size < 512 ||
            page_size > 65536) {
            return std::nullopt;
        }
        std::vector<std::string> cuts;
        try {
            SQLite::Transaction read(*m_db);  // holds a read lock: no writer changes pages under us
            SQLite::Statement hold(*m_db, "SELECT count(*) FROM sqlite_schema");
            hold.executeStep();
            PageReader reader(m_db->getHandle(), static_cast<std::uint32_t>(page_size));
            std::string header;
            reader.read(1, 1, header);
            // The bytes reserved at the end of each page: byte 20 of the file's header.
            auto usable = static_cast<std::uint32_t>(page_size - static_cast<unsigned char>(header[20]));
            if (usable < 480) {
                return std::nullopt;
            }
            cuts = leaf_cuts(m_db->getHandle(), static_cast<std::uint32_t>(root),
                             static_cast<std::uint32_t>(page_size), usable);
        } catch (const Unexpected&) {
            return std::nullopt;
        }
        // Every n-th cut, for ranges of about rows_per_range rows (leaves hold about alike), and
        // at most one range per leaf.
        const std::uint64_t leaves = cuts.size() + 1;
        const std::uint64_t ranges = std::min(leaves, (rows + rows_per_range - 1) / rows_per_range);
        std::vector<std::string> boundaries;
        for (std::uint64_t r = 1; r < ranges; ++r) {
            boundaries.push_back(std::move(cuts[r * leaves / ranges - 1]));  // before range r's first leaf
        }
        return boundaries;
    } catch (const SQLite::Exception& e) {
        throw InputError(
            m_path.string() + ": table '" + table + "': cannot read its key index: " + e.what(),
            "the file may be damaged; check it with sqlite3 FILE 'PRAGMA integrity_check' on a copy");
    }
}

}  // namespace enmap
