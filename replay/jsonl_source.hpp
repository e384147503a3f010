#pragma once
// replay/ a Source that reads `enmap-migrate dump` output: one {"table","key","value"} JSON object
// per line. Lines of the table "internal::autonum" carry the autonum counters (key = enmap,
// value = lastnum). "invalid_text": true / "has_function": true mark rows the default policies refuse.

#include <filesystem>
#include <map>

#include "replay/source.hpp"

namespace replay {

/// Reads a JSON-lines dump with bounded memory: prepare() scans it once, for_each_row() re-reads
/// only the byte ranges of one table.
class JsonlSource : public Source {
public:
    /// Opens nothing yet; prepare() reads the file.
    explicit JsonlSource(std::filesystem::path path);
    void prepare(const enmap::DecodeOptions& options) override;
    [[nodiscard]] std::string id() const override { return m_id; }
    [[nodiscard]] std::string description() const override { return m_path.string(); }
    [[nodiscard]] const std::vector<SourceTable>& tables() const override { return m_tables; }
    [[nodiscard]] const std::vector<AutonumRow>& autonum() const override { return m_autonum; }
    [[nodiscard]] const std::vector<SourceViolation>& violations() const override { return m_violations; }
    void for_each_row(const std::string& enmap_name, const RowCallback& callback) override;

private:
    struct Segment {
        std::uint64_t begin = 0;
        std::uint64_t end = 0;
        std::uint64_t first_line = 0;
        bool simple = true;  // every line ends with a clean "value": for_each_row need not rescan it
    };
    std::filesystem::path m_path;
    enmap::DecodeOptions m_options;
    std::string m_id;
    std::vector<SourceTable> m_tables;
    std::vector<AutonumRow> m_autonum;
    std::vector<SourceViolation> m_violations;
    std::map<std::string, std::vector<Segment>> m_segments;
    bool m_prepared = false;
};

}  // namespace replay
