#pragma once
// enmap/ export files: Enmap's export() JSON files as an alternative source, one table per file.
// 4.x-5.9 write pretty JSON / serialize-javascript with each value parsed in place; 6.x writes
// better-serialize of the whole object, each value being the stored (better-serialize) string.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "enmap/source.hpp"

namespace enmap {

/// The two layouts of export() files; which one a file has is detected from its content.
enum class ExportKind {
    k_plain,             // Enmap 4.x-5.9: {"name", "version", "exportDate", "keys": [{key, value}]}
    k_better_serialize,  // Enmap 6.x: the same object, better-serialized, values as stored strings
};

/// "plain (Enmap 4.x-5.9)" or "better-serialize (Enmap 6.x)".
std::string_view export_kind_name(ExportKind kind);

/// One export() file, read whole into memory and indexed; a Source with one table, its `name`.
class ExportFile : public Source {
public:
    /// Reads and indexes `path`; throws InputError when it is missing or not an Enmap export.
    explicit ExportFile(const std::filesystem::path& path);

    /// The enmap's name from the file's `name`.
    [[nodiscard]] const std::string& name() const { return m_tables.front(); }
    /// The file's `version`: Enmap's version for 4.x-5.9, the bot's own version for 6.x.
    [[nodiscard]] const std::string& version() const { return m_version; }
    /// The detected layout.
    [[nodiscard]] ExportKind kind() const { return m_kind; }
    /// The file as given.
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

    [[nodiscard]] std::string describe() const override { return m_path.string(); }
    [[nodiscard]] const std::vector<std::string>& tables() const override { return m_tables; }
    [[nodiscard]] std::uint64_t row_count(const std::string& table) const override;
    [[nodiscard]] std::unique_ptr<RowCursor> rows(const std::string& table,
                                                  RowOrder order = RowOrder::k_key) const override;

    /// One entry of `keys`: its key bytes, and where its value sits in the file.
    struct Entry {
        std::string key;
        std::size_t value_offset = 0;  // plain: the parsed value; 6.x: the stored string's literal
        std::size_t value_size = 0;    // plain: the value's extent; 6.x: the literal's extent
        bool missing_value = false;    // plain: JSON.stringify left out an undefined value
    };

private:
    void parse_plain();
    void parse_better_serialize();
    void check_table(const std::string& table) const;

    std::filesystem::path m_path;
    std::string m_text;
    std::vector<std::string> m_tables;
    std::string m_version;
    ExportKind m_kind = ExportKind::k_plain;
    std::vector<Entry> m_entries;  // sorted by key, bytewise; for a repeated key the last one wins
    friend class ExportCursor;
};

/// Several export() files as one source, a table per file in the order given.
class ExportSet : public Source {
public:
    /// Reads every file; throws InputError when one is not an export or two hold the same enmap.
    explicit ExportSet(const std::vector<std::filesystem::path>& paths);

    /// The files, in the order given.
    [[nodiscard]] const std::vector<std::unique_ptr<ExportFile>>& files() const { return m_files; }

    [[nodiscard]] std::string describe() const override;
    [[nodiscard]] std::string origin(const std::string& table) const override {
        return file_of(table).describe();
    }
    [[nodiscard]] const std::vector<std::string>& tables() const override { return m_tables; }
    [[nodiscard]] std::uint64_t row_count(const std::string& table) const override;
    [[nodiscard]] std::unique_ptr<RowCursor> rows(const std::string& table,
                                                  RowOrder order = RowOrder::k_key) const override;

private:
    const ExportFile& file_of(const std::string& table) const;

    std::vector<std::unique_ptr<ExportFile>> m_files;
    std::vector<std::string> m_tables;
};

}  // namespace enmap
