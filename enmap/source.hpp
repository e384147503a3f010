#pragma once
// enmap/ sources: what dump, summarize and the snapshot store read Enmap rows from. An Enmap
// database (enmap::Database) and a set of export() files (enmap::ExportFile) both list tables and
// stream each table's stored rows, as raw bytes, in bytewise key order.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace enmap {

/// One stored row as raw bytes; the views stay valid until the cursor's next call to next().
struct RawRow {
    std::string_view key;
    std::string_view value;
    bool value_is_null = false;  // SQL NULL: Enmap 4-5.7's set(key, undefined)
    bool parsed_value = false;   // an export's parsed value: JSON or serialize-javascript, never 6.x text
};

/// Raw rows copied out of a cursor's buffers (which its next call reuses), to hand to another
/// thread: the bytes of all keys and values in one string.
struct RawRowBatch {
    struct Row {
        std::size_t key_at = 0;
        std::size_t key_size = 0;
        std::size_t value_at = 0;
        std::size_t value_size = 0;
        bool value_is_null = false;
        bool parsed_value = false;
    };
    std::string bytes;
    std::vector<Row> rows;

    void clear() {
        bytes.clear();
        rows.clear();
    }
    void add(const RawRow& raw) {
        Row row;
        row.key_at = bytes.size();
        row.key_size = raw.key.size();
        bytes.append(raw.key);
        row.value_at = bytes.size();
        row.value_size = raw.value.size();
        bytes.append(raw.value);
        row.value_is_null = raw.value_is_null;
        row.parsed_value = raw.parsed_value;
        rows.push_back(row);
    }
    [[nodiscard]] RawRow raw(const Row& row) const {
        RawRow raw;
        raw.key = std::string_view(bytes).substr(row.key_at, row.key_size);
        raw.value = std::string_view(bytes).substr(row.value_at, row.value_size);
        raw.value_is_null = row.value_is_null;
        raw.parsed_value = row.parsed_value;
        return raw;
    }
};

/// The order a RowCursor gives rows in.
enum class RowOrder {
    k_key,      // bytewise key order (what dump prints)
    k_storage,  // the order they are stored in: a sequential read, several times cheaper for a
                // database whose keys were inserted in random order; for order-free work (digests)
};

/// Streams the rows of one table, in bytewise key order unless asked for storage order.
class RowCursor {
public:
    virtual ~RowCursor() = default;
    /// Fetches the next row into `row`; false at the end. Throws InputError on unreadable data.
    virtual bool next(RawRow& row) = 0;
};

/// Something that holds Enmap tables: an enmap.sqlite file, or export() files.
class Source {
public:
    virtual ~Source() = default;
    /// The file(s) the rows come from, for messages.
    [[nodiscard]] virtual std::string describe() const = 0;
    /// The file a table's rows come from, for messages about one of its rows.
    [[nodiscard]] virtual std::string origin(const std::string& /*table*/) const { return describe(); }
    /// The enmap tables, in the order they were created (or the export files were named).
    [[nodiscard]] virtual const std::vector<std::string>& tables() const = 0;
    /// The number of rows of a table (for progress); throws InputError for an unknown table.
    [[nodiscard]] virtual std::uint64_t row_count(const std::string& table) const = 0;
    /// A cursor over a table's rows in bytewise key order, or in storage order (any order, as cheap
    /// as the source can read it); throws InputError for an unknown table.
    [[nodiscard]] virtual std::unique_ptr<RowCursor> rows(const std::string& table,
                                                          RowOrder order = RowOrder::k_key) const = 0;
    /// Keeps the tables named with --table, in the source's order; all of them when `names` is empty.
    /// Throws InputError naming a table the source does not hold, and listing the ones it does.
    [[nodiscard]] virtual std::vector<std::string> select_tables(const std::vector<std::string>& names) const;
};

}  // namespace enmap
