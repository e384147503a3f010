#pragma once
// Test helper: writes small Enmap-shaped SQLite files with SQLiteCpp, row by row.

#include <SQLiteCpp/SQLiteCpp.h>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

/// One row to write: a key and a value text, or no value for SQL NULL.
struct EnmapRow {
    std::string key;
    std::optional<std::string> value;
};

/// Creates `path` (rollback-journal mode) with one Enmap table per entry, in the order given.
inline void write_enmap_db(const std::filesystem::path& path,
                           const std::vector<std::pair<std::string, std::vector<EnmapRow>>>& tables) {
    SQLite::Database db(path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    SQLite::Transaction tx(db);
    for (const auto& [name, rows] : tables) {
        db.exec("CREATE TABLE \"" + name + "\" (key text PRIMARY KEY, value text)");
        // Bytes bound as blobs and cast to text, so NUL and invalid UTF-8 bytes stay as they are.
        SQLite::Statement insert(
            db, "INSERT INTO \"" + name + "\" (key, value) VALUES (CAST(? AS TEXT), CAST(? AS TEXT))");
        for (const auto& row : rows) {
            insert.reset();
            insert.bind(1, row.key.data(), static_cast<int>(row.key.size()));
            if (row.value) {
                insert.bind(2, row.value->data(), static_cast<int>(row.value->size()));
            } else {
                insert.bind(2);
            }
            insert.exec();
        }
    }
    tx.commit();
}

}  // namespace test_support
