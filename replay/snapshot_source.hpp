#pragma once
// replay/ a Source that reads a snapshot: it materializes the snapshot's files from the store
// (checking every chunk and file hash) into a private temporary folder, opens them with enmap/
// (an enmap.sqlite with its -wal, or export() files) and decodes them to canonical JSON.

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "enmap/decode.hpp"
#include "replay/source.hpp"

namespace enmap {
class Source;
}

namespace replay {

/// The rows of one snapshot of the store, decoded under the policies given to prepare().
class SnapshotSource : public Source {
public:
    /// Reads snapshot `ref` (id, unique id prefix, label or `latest`) of the store at `store`;
    /// `formats` are --format TABLE=ENCODING overrides. Opens nothing until prepare().
    SnapshotSource(std::filesystem::path store, std::string ref,
                   std::map<std::string, enmap::Encoding> formats = {});
    ~SnapshotSource() override;
    SnapshotSource(const SnapshotSource&) = delete;
    SnapshotSource& operator=(const SnapshotSource&) = delete;

    /// Materializes and decodes the whole snapshot once. Throws StoreError (missing snapshot,
    /// damaged store), InputError (malformed data naming table, key and byte offset).
    void prepare(const enmap::DecodeOptions& options) override;
    /// The full snapshot id (64 hex digits).
    [[nodiscard]] std::string id() const override { return m_id; }
    [[nodiscard]] std::string description() const override { return m_description; }
    [[nodiscard]] const std::vector<SourceTable>& tables() const override { return m_tables; }
    [[nodiscard]] const std::vector<AutonumRow>& autonum() const override { return m_autonum; }
    [[nodiscard]] const std::vector<SourceViolation>& violations() const override { return m_violations; }
    void for_each_row(const std::string& enmap_name, const RowCallback& callback) override;

private:
    std::filesystem::path m_store;
    std::string m_ref;
    std::map<std::string, enmap::Encoding> m_formats;
    enmap::DecodeOptions m_options;
    std::string m_id;
    std::string m_description;
    std::filesystem::path m_dir;  // the materialized files; removed by the destructor
    std::unique_ptr<enmap::Source> m_enmap;
    std::vector<SourceTable> m_tables;
    std::vector<AutonumRow> m_autonum;
    std::vector<SourceViolation> m_violations;
};

}  // namespace replay
