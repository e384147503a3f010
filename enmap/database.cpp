#include "enmap/database.hpp"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <algorithm>
#include <array>
#include <cstring>
#include <fstream>
#include <system_error>

#include "enmap/error.hpp"

namespace fs = std::filesystem;

namespace enmap {

namespace {

constexpr std::string_view k_internal_prefix = "internal::";
constexpr std::string_view k_changes_prefix = "internal::changes::";
constexpr std::string_view k_autonum_table = "internal::autonum";
constexpr std::array<std::string_view, 3> k_sidecars = {"-wal", "-shm", "-journal"};

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

// A file: URI for sqlite3_open_v2 with every byte outside [A-Za-z0-9/._~-] percent-encoded.
std::string file_uri(const fs::path& path, std::string_view query) {
    static constexpr char k_hex[] = "0123456789ABCDEF";
    std::string uri = "file:";
    for (unsigned char c : fs::absolute(path).string()) {
        if (std::isalnum(c) != 0 || c == '/' || c == '.' || c == '_' || c == '~' || c == '-') {
            uri += static_cast<char>(c);
        } else {
            uri += '%';
            uri += k_hex[c >> 4];
            uri += k_hex[c & 0xF];
        }
    }
    uri += '?';
    uri += query;
    return uri;
}

struct Header {
    bool sqlite = false;
    bool wal = false;
    bool empty = false;
};

Header read_header(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw InputError(path.string() + ": cannot open it for reading: " + std::strerror(errno),
                         "check the file's permissions");
    }
    std::array<char, 100> bytes{};
    in.read(bytes.data(), bytes.size());
    Header header;
    header.empty = in.gcount() == 0;
    header.sqlite = in.gcount() == static_cast<std::streamsize>(bytes.size()) &&
                    std::memcmp(bytes.data(), "SQLite format 3", 16) == 0;
    header.wal = header.sqlite && bytes[18] == 2 && bytes[19] == 2;
    return header;
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        out += (out.empty() ? "" : ", ") + name;
    }
    return out.empty() ? "(none)" : out;
}

class DatabaseCursor : public RowCursor {
public:
    DatabaseCursor(const SQLite::Database& db, std::string file, std::string table, RowOrder order)
        : m_statement(db, "SELECT key, value FROM " + quote_identifier(table) +
                              (order == RowOrder::k_key ? " ORDER BY key COLLATE BINARY" : "")),
          m_file(std::move(file)),
          m_table(std::move(table)) {}

    bool next(RawRow& row) override {
        try {
            if (!m_statement.executeStep()) {
                return false;
            }
            SQLite::Column key = m_statement.getColumn(0);
            if (key.isNull()) {
                throw InputError(
                    m_file + ": table '" + m_table + "' has a row whose key is NULL",
                    "Enmap never writes one; delete the row from a copy of the file, or leave the "
                    "table out with --table");
            }
            const void* key_bytes = key.getBlob();
            row.key = std::string_view(static_cast<const char*>(key_bytes),
                                       static_cast<std::size_t>(key.getBytes()));
            SQLite::Column value = m_statement.getColumn(1);
            row.value_is_null = value.isNull();
            row.parsed_value = false;
            if (row.value_is_null) {
                row.value = {};
            } else {
                const void* value_bytes = value.getBlob();
                row.value = std::string_view(static_cast<const char*>(value_bytes),
                                             static_cast<std::size_t>(value.getBytes()));
            }
            return true;
        } catch (const SQLite::Exception& e) {
            throw InputError(
                m_file + ": table '" + m_table + "': cannot read its rows: " + e.what(),
                "the file may be damaged; check it with sqlite3 FILE 'PRAGMA integrity_check' on a copy");
        }
    }

private:
    SQLite::Statement m_statement;
    std::string m_file;
    std::string m_table;
};

}  // namespace

std::string_view open_mode_name(OpenMode mode) {
    switch (mode) {
        case OpenMode::k_read_only:
            return "read-only";
        case OpenMode::k_immutable:
            return "immutable";
        case OpenMode::k_private_copy:
            return "private-copy";
    }
    return "unknown";
}

std::string quote_identifier(const std::string& name) {
    std::string quoted = "\"";
    for (char c : name) {
        quoted += c;
        if (c == '"') {
            quoted += '"';
        }
    }
    quoted += '"';
    return quoted;
}

Database::Database(const VfsFile& file) : m_path(file.name) {
    m_mode = OpenMode::k_immutable;
    try {
        m_db = std::make_unique<SQLite::Database>(
            file_uri(m_path, "immutable=1"), SQLite::OPEN_READONLY | SQLite::OPEN_URI | SQLite::OPEN_NOMUTEX,
            0, file.vfs);
        list_tables();
    } catch (const SQLite::Exception& e) {
        std::string detail = e.getErrorCode() == SQLITE_NOTADB ? "it is not an SQLite database" : e.what();
        throw InputError(m_path.string() + ": cannot read it: " + detail,
                         "the snapshot does not hold an SQLite database; check it with `enmap-migrate "
                         "snapshot verify`");
    }
}

Database::Database(const fs::path& path) : m_path(path) {
    open();
    try {
        list_tables();
    } catch (const SQLite::Exception& e) {
        std::string detail = e.getErrorCode() == SQLITE_NOTADB ? "it is not an SQLite database" : e.what();
        throw InputError(
            m_path.string() + ": cannot read it: " + detail,
            "give the path of the bot's enmap.sqlite (Enmap keeps it in <dataDir>/enmap.sqlite)");
    }
}

Database::~Database() = default;

Database::PrivateFolder::~PrivateFolder() {
    if (!path.empty()) {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
}

std::string Database::describe() const {
    return m_path.string();
}

void Database::open() {
    std::error_code ec;
    auto status = fs::status(m_path, ec);
    if (!fs::exists(status)) {
        throw InputError(
            m_path.string() + ": no such file",
            "give the path of the bot's enmap.sqlite (Enmap keeps it in <dataDir>/enmap.sqlite)");
    }
    if (fs::is_directory(status)) {
        throw InputError(
            m_path.string() + ": is a folder, not an SQLite file",
            "give the path of enmap.sqlite inside it, e.g. " + (m_path / "enmap.sqlite").string());
    }
    Header header = read_header(m_path);
    if (header.empty) {
        throw InputError(
            m_path.string() + ": the file is empty, so it holds no Enmap tables",
            "give the path of the bot's enmap.sqlite (Enmap keeps it in <dataDir>/enmap.sqlite)");
    }
    if (!header.sqlite) {
        throw InputError(
            m_path.string() + ": it is not an SQLite database (no SQLite header)",
            "give the path of the bot's enmap.sqlite, or use --export for an export() JSON file");
    }

    bool sidecar = false;
    for (auto suffix : k_sidecars) {
        sidecar = sidecar || fs::exists(fs::path(m_path.string() + std::string(suffix)), ec);
    }
    try {
        if (sidecar) {
            // A -wal may hold committed data not yet checkpointed, and any open would write the
            // -shm: read a private copy of the file and its -wal/-journal instead.
            std::string pattern = (fs::temp_directory_path() / "enmap-migrate-db-XXXXXX").string();
            if (::mkdtemp(pattern.data()) == nullptr) {
                throw InputError(std::string("cannot create a private folder in ") +
                                     fs::temp_directory_path().string() + ": " + std::strerror(errno),
                                 "set TMPDIR to a writable folder with room for a copy of the database");
            }
            m_private_dir.path = pattern;
            fs::path copy = m_private_dir.path / "enmap.sqlite";
            auto copy_one = [&](const fs::path& from, const fs::path& to) {
                std::error_code copy_ec;
                fs::copy_file(from, to, copy_ec);
                if (copy_ec) {
                    throw InputError(
                        from.string() + ": cannot copy it to " + to.string() + ": " + copy_ec.message(),
                        "set TMPDIR to a writable folder with room for a copy of the database");
                }
                ::chmod(to.c_str(), 0600);
            };
            copy_one(m_path, copy);
            for (auto suffix : {std::string_view("-wal"), std::string_view("-journal")}) {
                fs::path side(m_path.string() + std::string(suffix));
                if (fs::exists(side, ec)) {
                    copy_one(side, fs::path(copy.string() + std::string(suffix)));
                }
            }
            m_mode = OpenMode::k_private_copy;
            m_db = std::make_unique<SQLite::Database>(copy.string(), SQLite::OPEN_READWRITE);
            sqlite3_db_config(m_db->getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        } else if (header.wal) {
            // A read-only open of a WAL-mode file creates -wal and -shm beside it; immutable=1 does not.
            m_mode = OpenMode::k_immutable;
            m_db = std::make_unique<SQLite::Database>(file_uri(m_path, "immutable=1"),
                                                      SQLite::OPEN_READONLY | SQLite::OPEN_URI);
        } else {
            m_mode = OpenMode::k_read_only;
            m_db = std::make_unique<SQLite::Database>(file_uri(m_path, "mode=ro"),
                                                      SQLite::OPEN_READONLY | SQLite::OPEN_URI);
        }
    } catch (const SQLite::Exception& e) {
        throw InputError(m_path.string() + ": cannot open it: " + e.what(), "check the file's permissions");
    }
}

void Database::list_tables() {
    {
        SQLite::Statement encoding(*m_db, "PRAGMA encoding");
        if (encoding.executeStep() && encoding.getColumn(0).getString() != "UTF-8") {
            throw InputError(m_path.string() + ": its text encoding is " + encoding.getColumn(0).getString() +
                                 ", but Enmap writes UTF-8",
                             "this is not a file Enmap wrote; give the path of the bot's enmap.sqlite");
        }
    }
    SQLite::Statement list(*m_db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid");
    SQLite::Statement columns(*m_db, "SELECT name FROM pragma_table_info(?)");
    bool has_autonum = false;
    while (list.executeStep()) {
        std::string name = list.getColumn(0).getString();
        if (starts_with(name, "sqlite_")) {
            continue;
        }
        if (starts_with(name, k_changes_prefix)) {
            m_change_tables.push_back(name);
            continue;
        }
        if (name == k_autonum_table) {
            has_autonum = true;
            continue;
        }
        if (starts_with(name, k_internal_prefix)) {
            m_other_tables.push_back(name);
            continue;
        }
        bool has_key = false;
        bool has_value = false;
        columns.reset();
        columns.bind(1, name);
        while (columns.executeStep()) {
            std::string column = columns.getColumn(0).getString();
            has_key = has_key || column == "key";
            has_value = has_value || column == "value";
        }
        (has_key && has_value ? m_tables : m_other_tables).push_back(name);
    }
    if (m_tables.empty()) {
        throw InputError(
            m_path.string() + ": holds no Enmap tables (no table with key and value columns; tables: " +
                join(m_other_tables) + ")",
            "give the path of the bot's enmap.sqlite (Enmap keeps it in <dataDir>/enmap.sqlite)");
    }
    if (has_autonum) {
        try {
            SQLite::Statement counters(*m_db,
                                       "SELECT enmap, lastnum FROM \"internal::autonum\" ORDER BY enmap");
            while (counters.executeStep()) {
                m_autonum.push_back({counters.getColumn(0).getString(), counters.getColumn(1).getInt64()});
            }
        } catch (const SQLite::Exception& e) {
            throw InputError(m_path.string() + ": table 'internal::autonum' is unreadable: " + e.what(),
                             "Enmap's autonum table has the columns enmap and lastnum; check the file");
        }
    }
}

void Database::check_table(const std::string& table) const {
    if (std::find(m_tables.begin(), m_tables.end(), table) != m_tables.end()) {
        return;
    }
    bool internal = table == k_autonum_table ||
                    std::find(m_change_tables.begin(), m_change_tables.end(), table) != m_change_tables.end();
    if (internal || std::find(m_other_tables.begin(), m_other_tables.end(), table) != m_other_tables.end()) {
        throw InputError(
            m_path.string() + ": table '" + table + "' is not an enmap table" +
                (internal ? " (it is Enmap's own bookkeeping)" : " (it has no key and value columns)"),
            "the enmap tables are: " + join(m_tables));
    }
    throw InputError(m_path.string() + ": has no table '" + table + "'",
                     "the enmap tables are: " + join(m_tables));
}

std::vector<std::string> Database::select_tables(const std::vector<std::string>& names) const {
    for (const auto& name : names) {
        check_table(name);
    }
    return Source::select_tables(names);
}

std::uint64_t Database::row_count(const std::string& table) const {
    check_table(table);
    try {
        SQLite::Statement count(*m_db, "SELECT count(*) FROM " + quote_identifier(table));
        count.executeStep();
        return static_cast<std::uint64_t>(count.getColumn(0).getInt64());
    } catch (const SQLite::Exception& e) {
        throw InputError(
            m_path.string() + ": table '" + table + "': cannot count its rows: " + e.what(),
            "the file may be damaged; check it with sqlite3 FILE 'PRAGMA integrity_check' on a copy");
    }
}

std::unique_ptr<RowCursor> Database::rows(const std::string& table, RowOrder order) const {
    check_table(table);
    try {
        return std::make_unique<DatabaseCursor>(*m_db, m_path.string(), table, order);
    } catch (const SQLite::Exception& e) {
        throw InputError(
            m_path.string() + ": table '" + table + "': cannot read it: " + e.what(),
            "the file may be damaged; check it with sqlite3 FILE 'PRAGMA integrity_check' on a copy");
    }
}

std::unique_ptr<RowCursor> Database::rows_in_storage_order(const std::string& table) const {
    return rows(table, RowOrder::k_storage);
}

}  // namespace enmap
