#pragma once
// enmap/ database: opens an Enmap enmap.sqlite without ever modifying it or its -wal/-shm, lists
// its enmap tables, autonum counters and change journals, and streams a table's rows as raw bytes.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "enmap/source.hpp"

namespace SQLite {
class Database;
}

namespace enmap {

/// How Database opened the file; see docs/dump.md for why each is safe.
enum class OpenMode {
    k_read_only,     // rollback-journal file: SQLITE_OPEN_READONLY, only POSIX read locks
    k_immutable,     // WAL-mode file with no -wal/-shm: immutable=1, no locks, no -shm created
    k_private_copy,  // a -wal, -shm or -journal sits beside it: a copy in a private 0700 folder
};

/// "read-only", "immutable", "private-copy".
std::string_view open_mode_name(OpenMode mode);

/// One row of `internal::autonum`: the counter behind enmap.autonum.
struct AutonumCounter {
    std::string enmap;
    std::int64_t lastnum = 0;
};

/// A database file that a registered SQLite VFS serves (replay/store_vfs.hpp serves a snapshot's
/// file straight out of the store): the name the VFS knows it by, and the VFS's name.
struct VfsFile {
    std::string name;
    std::string vfs;
};

/// How one enmap table's rows sit in the file, for reading them straight from its pages
/// (page_summary.hpp): its B-tree's root page and where key and value are in a row's record.
struct TableLayout {
    std::string table;
    std::uint32_t root = 0;
    std::uint32_t key_column = 0;
    std::uint32_t value_column = 0;
};

/// An Enmap database opened for reading only; the original files are never written.
class Database : public Source {
public:
    /// Opens `path`; throws InputError when it is missing, not SQLite, or holds no enmap table.
    explicit Database(const std::filesystem::path& path);
    /// Opens a file a VFS serves, immutable (no locks, no journal, no -wal), without SQLite's
    /// per-call mutex: use it from one thread at a time. Throws InputError when it is not SQLite
    /// or holds no enmap table.
    explicit Database(const VfsFile& file);
    ~Database() override;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// The file as given.
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }
    /// How the file was opened.
    [[nodiscard]] OpenMode open_mode() const { return m_mode; }
    /// The enmap tables (tables with key and value columns, except internal::*), in creation order.
    [[nodiscard]] const std::vector<std::string>& tables() const override { return m_tables; }
    /// The `internal::changes::*` tables (Enmap 5's polling journal), in creation order.
    [[nodiscard]] const std::vector<std::string>& change_tables() const { return m_change_tables; }
    /// The `internal::autonum` counters, ordered by enmap name; empty when the table is absent.
    [[nodiscard]] const std::vector<AutonumCounter>& autonum() const { return m_autonum; }

    [[nodiscard]] std::string describe() const override;
    [[nodiscard]] std::uint64_t row_count(const std::string& table) const override;
    [[nodiscard]] std::unique_ptr<RowCursor> rows(const std::string& table,
                                                  RowOrder order = RowOrder::k_key) const override;
    /// rows(table, RowOrder::k_storage): the order SQLite stores them (rowid order), a sequential
    /// read, far cheaper than key order's index walk. Throws InputError for an unknown table.
    [[nodiscard]] std::unique_ptr<RowCursor> rows_in_storage_order(const std::string& table) const;
    /// Keys that cut the table, in bytewise key order, into ranges of about `rows_per_range` rows
    /// each (of `rows` in all): range i holds the keys k with boundary[i-1] <= k < boundary[i].
    /// Read from the interior pages of the table's key index, about 1% of it (key_boundaries.cpp).
    /// Empty for one range; nullopt when there is no such index to read, or its pages are not
    /// laid out as expected. Throws InputError for an unknown or unreadable table.
    [[nodiscard]] std::optional<std::vector<std::string>> key_boundaries(const std::string& table,
                                                                         std::uint64_t rows,
                                                                         std::uint64_t rows_per_range) const;
    /// Every enmap table's TableLayout, in tables() order; nullopt when one is not an ordinary
    /// rowid table whose key and value columns are stored in its records (a rowid alias, a
    /// generated column, WITHOUT ROWID), or the file is a private copy (its -wal is not read).
    /// Defined in page_summary.cpp.
    [[nodiscard]] std::optional<std::vector<TableLayout>> table_layouts() const;
    /// Like Source::select_tables, and also says when a named table exists but is not an enmap table.
    [[nodiscard]] std::vector<std::string> select_tables(
        const std::vector<std::string>& names) const override;

private:
    void open();
    void list_tables();
    void check_table(const std::string& table) const;

    // The private folder of a copy, removed with everything in it when the Database goes (even
    // when its constructor throws); declared before m_db so the connection closes first.
    struct PrivateFolder {
        std::filesystem::path path;
        PrivateFolder() = default;
        PrivateFolder(const PrivateFolder&) = delete;
        PrivateFolder& operator=(const PrivateFolder&) = delete;
        ~PrivateFolder();
    };

    std::filesystem::path m_path;
    PrivateFolder m_private_dir;  // set when m_mode is k_private_copy
    OpenMode m_mode = OpenMode::k_read_only;
    std::unique_ptr<SQLite::Database> m_db;
    std::vector<std::string> m_tables;
    std::vector<std::string> m_change_tables;
    std::vector<std::string> m_other_tables;  // neither enmap tables nor internal ones
    std::vector<AutonumCounter> m_autonum;
};

/// Quotes an SQLite identifier: "name" with inner quotes doubled.
std::string quote_identifier(const std::string& name);

}  // namespace enmap
