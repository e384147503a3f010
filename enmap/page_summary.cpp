// PageSummary: an Enmap database's Summary from its pages (page_summary.hpp), and
// Database::table_layouts, which tells it where each table's rows are.
//
// A table B-tree (https://www.sqlite.org/fileformat2.html#b_tree_pages) keeps its rows in leaf
// pages (type 0x0D) under interior pages (0x05) that hold only child page numbers. A leaf cell is
// the payload's size, the rowid, and the payload (the row's record) or its first part followed by
// the number of the first overflow page holding the rest. Free pages may still hold the bytes of
// old leaves, which is why the leaves are found by walking down from each table's root instead of
// by their type byte.

#include "enmap/page_summary.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <limits>

#include "enmap/error.hpp"
#include "enmap/sqlite_page.hpp"

namespace enmap {

using sqlite_page::get_u16;
using sqlite_page::get_u32;
using sqlite_page::varint;
using Unexpected = sqlite_page::PageLayoutUnexpected;

namespace {

constexpr int k_max_depth = 40;
constexpr std::uint32_t k_interior = std::numeric_limits<std::uint32_t>::max();  // in m_owner

std::string upper(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

// Reads `size` bytes at `offset`; false when the file ends before.
bool pread_all(int fd, unsigned char* out, std::size_t size, std::uint64_t offset) {
    while (size > 0) {
        ssize_t got = ::pread(fd, out, size, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        out += got;
        size -= static_cast<std::size_t>(got);
        offset += static_cast<std::uint64_t>(got);
    }
    return true;
}

// The bytes a record's column of serial type `type` takes; throws Unexpected for the reserved types.
std::uint64_t serial_size(std::uint64_t type) {
    static constexpr std::uint8_t k_sizes[12] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0, 0, 0};
    if (type == 10 || type == 11) {
        throw Unexpected{};
    }
    return type < 12 ? k_sizes[type] : (type - 12) / 2;
}

}  // namespace

std::optional<std::vector<TableLayout>> Database::table_layouts() const {
    if (m_mode == OpenMode::k_private_copy) {
        return std::nullopt;
    }
    std::vector<TableLayout> layouts;
    try {
        SQLite::Statement root_of(
            *m_db, "SELECT rootpage, sql FROM sqlite_schema WHERE type = 'table' AND name = ?");
        SQLite::Statement columns(*m_db, "SELECT cid, name, type, pk, hidden FROM pragma_table_xinfo(?)");
        for (const auto& table : m_tables) {
            root_of.reset();
            root_of.bind(1, table);
            if (!root_of.executeStep()) {
                return std::nullopt;
            }
            std::int64_t root = root_of.getColumn(0).getInt64();
            if (root <= 1 || root > std::numeric_limits<std::uint32_t>::max() ||
                upper(root_of.getColumn(1).getString()).find("WITHOUT") != std::string::npos) {
                return std::nullopt;
            }
            TableLayout layout;
            layout.table = table;
            layout.root = static_cast<std::uint32_t>(root);
            int primary_keys = 0;
            bool integer_key = false;
            bool key = false;
            bool value = false;
            columns.reset();
            columns.bind(1, table);
            while (columns.executeStep()) {
                if (columns.getColumn(4).getInt() != 0) {
                    return std::nullopt;  // a generated column: records skip it
                }
                auto cid = static_cast<std::uint32_t>(columns.getColumn(0).getInt());
                std::string name = columns.getColumn(1).getString();
                bool primary = columns.getColumn(3).getInt() != 0;
                primary_keys += primary ? 1 : 0;
                if (name == "key" || name == "value") {
                    integer_key =
                        integer_key || (primary && upper(columns.getColumn(2).getString()) == "INTEGER");
                    (name == "key" ? layout.key_column : layout.value_column) = cid;
                    (name == "key" ? key : value) = true;
                }
            }
            // An INTEGER PRIMARY KEY column is the rowid: its record holds NULL.
            if (!key || !value || (integer_key && primary_keys == 1)) {
                return std::nullopt;
            }
            layouts.push_back(std::move(layout));
        }
    } catch (const SQLite::Exception& e) {
        throw InputError(
            m_path.string() + ": cannot read its schema: " + e.what(),
            "the file may be damaged; check it with sqlite3 FILE 'PRAGMA integrity_check' on a copy");
    }
    return layouts;
}

// What one thread has read of one table.
struct PageSummary::Table {
    ViolationLog log;  // the summary's policies (replace, source) never refuse a row
    TableDecoder decoder;
    ContentDigest digest;
    Table(const std::string& origin, const std::string& table, const ReadOptions& options)
        : decoder(origin, table, options, log) {}
};

// One thread's tallies per table, and its buffers.
struct PageSummary::Thread {
    std::vector<std::unique_ptr<Table>> tables;
    DecodedRow decoded;
    std::string spilled;   // a payload gathered from its overflow pages
    std::string overflow;  // one overflow page
};

PageSummary::~PageSummary() {
    if (m_fd >= 0) {
        ::close(m_fd);
    }
}

std::unique_ptr<PageSummary> PageSummary::plan(const Database& database) {
    auto layouts = database.table_layouts();
    if (!layouts) {
        return nullptr;
    }
    std::unique_ptr<PageSummary> summary(new PageSummary());
    summary->m_path = database.path();
    summary->m_origin = database.describe();
    summary->m_fd = ::open(summary->m_path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (summary->m_fd < 0 || ::fstat(summary->m_fd, &st) != 0) {
        throw InputError(summary->m_path.string() + ": cannot open it for reading: " + std::strerror(errno),
                         "check the file's permissions");
    }
    unsigned char header[100];
    if (!pread_all(summary->m_fd, header, sizeof(header), 0)) {
        return nullptr;
    }
    std::uint32_t page_size = get_u16(header + 16);
    page_size = page_size == 1 ? 65536 : page_size;
    if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0 ||
        page_size <= header[20] || page_size - header[20] < 480) {
        return nullptr;
    }
    summary->m_page_size = page_size;
    summary->m_usable = page_size - header[20];
    const std::uint64_t pages = static_cast<std::uint64_t>(st.st_size) / page_size;
    if (pages >= k_interior) {
        return nullptr;
    }
    summary->m_owner.assign(pages + 1, 0);
    summary->m_tables = std::move(*layouts);
    std::string page(page_size, '\0');
    try {
        // Down from each root through the interior pages only: every leaf of a B-tree is at the same
        // depth, found down the left-most path, so the pages one level above the leaves name the
        // leaves without their being read here (add() checks that each is a leaf when it comes).
        // A page met twice means a damaged file.
        auto* bytes = reinterpret_cast<unsigned char*>(page.data());
        auto read_page = [&](std::uint32_t number) {
            if (number < 2 || number > pages ||
                !pread_all(summary->m_fd, bytes, page_size, std::uint64_t{number - 1} * page_size)) {
                throw Unexpected{};
            }
        };
        struct Step {
            std::uint32_t page;
            int depth;
        };
        for (std::size_t t = 0; t < summary->m_tables.size(); ++t) {
            int leaf_depth = 0;
            for (std::uint32_t number = summary->m_tables[t].root;; ++leaf_depth) {
                read_page(number);
                if (bytes[0] == sqlite_page::k_leaf_table || leaf_depth > k_max_depth) {
                    break;
                }
                if (bytes[0] != sqlite_page::k_interior_table) {
                    return nullptr;
                }
                const std::uint32_t first_cell = get_u16(bytes + 12);
                if (get_u16(bytes + 3) > 0 && first_cell + 4 > summary->m_usable) {
                    return nullptr;
                }
                number = get_u16(bytes + 3) > 0 ? get_u32(bytes + first_cell) : get_u32(bytes + 8);
            }
            if (leaf_depth > k_max_depth) {
                return nullptr;
            }
            std::vector<Step> todo{{summary->m_tables[t].root, 0}};
            while (!todo.empty()) {
                Step step = todo.back();
                todo.pop_back();
                if (step.page < 2 || step.page > pages || summary->m_owner[step.page] != 0) {
                    return nullptr;
                }
                if (step.depth == leaf_depth) {
                    summary->m_owner[step.page] = static_cast<std::uint32_t>(t + 1);
                    ++summary->m_leaves;
                    continue;
                }
                read_page(step.page);
                if (bytes[0] != sqlite_page::k_interior_table) {
                    return nullptr;
                }
                summary->m_owner[step.page] = k_interior;
                std::uint32_t cells = get_u16(bytes + 3);
                if (12 + 2 * cells > summary->m_usable) {
                    return nullptr;
                }
                todo.push_back({get_u32(bytes + 8), step.depth + 1});
                for (std::uint32_t c = 0; c < cells; ++c) {
                    std::uint32_t at = get_u16(bytes + 12 + 2 * c);
                    if (at < 12 + 2 * cells || at + 4 > summary->m_usable) {
                        return nullptr;
                    }
                    todo.push_back({get_u32(bytes + at), step.depth + 1});
                }
            }
        }
    } catch (const Unexpected&) {
        return nullptr;
    }
    summary->m_given = std::make_unique<std::atomic<bool>[]>(pages + 1);
    summary->m_autonum = database.autonum();
    summary->m_change_tables = database.change_tables();
    summary->m_options.decode.invalid_text = InvalidTextPolicy::k_replace;
    summary->m_options.decode.functions = FunctionPolicy::k_source;
    return summary;
}

void PageSummary::add(std::uint64_t offset, std::string_view pages) {
    auto started = std::chrono::steady_clock::now();
    Thread& thread = this_thread();
    std::uint64_t leaves = 0;
    const std::uint32_t usable = m_usable;
    const std::uint32_t max_local = usable - 35;
    const std::uint32_t min_local = (usable - 12) * 32 / 255 - 23;
    try {
        if (offset % m_page_size != 0) {
            throw Unexpected{};
        }
        const std::uint64_t first = offset / m_page_size + 1;
        const std::size_t count = pages.size() / m_page_size;
        for (std::size_t i = 0; i < count; ++i) {
            const std::uint64_t number = first + i;
            if (number >= m_owner.size()) {
                break;  // past the file's whole pages as planned: never a leaf
            }
            const std::uint32_t owner = m_owner[number];
            if (owner == 0 || owner == k_interior) {
                continue;
            }
            const auto* page = reinterpret_cast<const unsigned char*>(pages.data()) + i * m_page_size;
            const unsigned char* end = page + usable;
            if (page[0] != sqlite_page::k_leaf_table || m_given[number].exchange(true)) {
                throw Unexpected{};  // not the leaf the walk found, or given twice
            }
            const std::uint32_t cells = get_u16(page + 3);
            if (8 + 2 * cells > usable) {
                throw Unexpected{};
            }
            auto& table = thread.tables[owner - 1];
            if (!table) {
                table = std::make_unique<Table>(m_origin, m_tables[owner - 1].table, m_options);
            }
            const TableLayout& layout = m_tables[owner - 1];
            for (std::uint32_t c = 0; c < cells; ++c) {
                std::uint32_t at = get_u16(page + 8 + 2 * c);
                if (at < 8 + 2 * cells || at >= usable) {
                    throw Unexpected{};
                }
                const unsigned char* p = page + at;
                const std::uint64_t payload = varint(p, end);
                varint(p, end);  // the rowid
                const unsigned char* record = p;
                if (payload <= max_local) {
                    if (payload > static_cast<std::uint64_t>(end - p)) {
                        throw Unexpected{};
                    }
                } else {
                    // The first part here, the rest on a chain of overflow pages (a 4-byte link, then
                    // usable - 4 bytes of payload each).
                    std::uint64_t here = min_local + (payload - min_local) % (usable - 4);
                    here = here <= max_local ? here : min_local;
                    if (here + 4 > static_cast<std::uint64_t>(end - p) ||
                        payload > (std::uint64_t{1} << 31)) {
                        throw Unexpected{};
                    }
                    std::string& spilled = thread.spilled;
                    spilled.assign(reinterpret_cast<const char*>(p), here);
                    std::uint32_t next = get_u32(p + here);
                    std::uint64_t hops = 0;
                    while (spilled.size() < payload) {
                        if (next < 2 || next >= m_owner.size() || ++hops > m_owner.size()) {
                            throw Unexpected{};
                        }
                        std::string& overflow = thread.overflow;
                        overflow.resize(m_page_size);
                        auto* bytes = reinterpret_cast<unsigned char*>(overflow.data());
                        if (!pread_all(m_fd, bytes, m_page_size, std::uint64_t{next - 1} * m_page_size)) {
                            throw Unexpected{};
                        }
                        std::size_t take = std::min<std::uint64_t>(usable - 4, payload - spilled.size());
                        spilled.append(overflow.data() + 4, take);
                        next = get_u32(bytes);
                    }
                    record = reinterpret_cast<const unsigned char*>(thread.spilled.data());
                }
                const unsigned char* record_end = record + payload;
                // The record: a header of serial types, then the columns' bytes in that order.
                const unsigned char* h = record;
                const std::uint64_t header_size = varint(h, record_end);
                if (header_size > payload || record + header_size < h) {
                    throw Unexpected{};
                }
                const unsigned char* header_end = record + header_size;
                std::uint64_t body = header_size;
                std::uint64_t key_type = 0;
                std::uint64_t key_at = 0;
                std::uint64_t value_type = 0;
                std::uint64_t value_at = 0;
                std::uint32_t column = 0;
                const std::uint32_t needed = std::max(layout.key_column, layout.value_column) + 1;
                for (; column < needed && h < header_end; ++column) {
                    std::uint64_t type = varint(h, header_end);
                    if (column == layout.key_column) {
                        key_type = type;
                        key_at = body;
                    } else if (column == layout.value_column) {
                        value_type = type;
                        value_at = body;
                    }
                    body += serial_size(type);
                    if (body > payload) {
                        throw Unexpected{};  // checked at each column: two huge sizes must not wrap
                    }
                }
                // A short record (a column added later: its default) or a key that is not text
                // or blob, or a number as value: SQLite's own reading decides.
                if (column < needed || key_type < 12 || (value_type != 0 && value_type < 12)) {
                    throw Unexpected{};
                }
                RawRow row;
                row.key =
                    std::string_view(reinterpret_cast<const char*>(record + key_at), serial_size(key_type));
                row.value_is_null = value_type == 0;
                if (!row.value_is_null) {
                    row.value = std::string_view(reinterpret_cast<const char*>(record + value_at),
                                                 serial_size(value_type));
                }
                table->decoder.decode(row, thread.decoded);
                table->digest.add(thread.decoded.key, thread.decoded.value);
            }
            ++leaves;
        }
    } catch (const Unexpected&) {
        m_unexpected = true;
        return;
    }
    m_leaves_seen += leaves;
    m_add_nanoseconds += static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started)
            .count());
}

std::optional<Summary> PageSummary::finish() {
    if (m_unexpected || m_leaves_seen != m_leaves) {
        return std::nullopt;
    }
    Summary summary;
    summary.autonum = m_autonum;
    summary.change_tables = m_change_tables;
    std::lock_guard<std::mutex> lock(m_mutex);
    for (std::size_t t = 0; t < m_tables.size(); ++t) {
        TableStats stats;
        ContentDigest digest;
        for (const auto& [id, thread] : m_threads) {
            if (const auto& table = thread->tables[t]) {
                add_table_stats(stats, table->decoder.stats());
                digest.merge(table->digest);
            }
        }
        summary.tables.push_back(table_summary(m_tables[t].table, stats, digest));
    }
    return summary;
}

PageSummary::Thread& PageSummary::this_thread() {
    std::lock_guard<std::mutex> lock(m_mutex);
    auto& thread = m_threads[std::this_thread::get_id()];
    if (!thread) {
        thread = std::make_unique<Thread>();
        thread->tables.resize(m_tables.size());
    }
    return *thread;
}

double PageSummary::seconds_in_add() const {
    return static_cast<double>(m_add_nanoseconds.load()) / 1e9;
}

}  // namespace enmap
