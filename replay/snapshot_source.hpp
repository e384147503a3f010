#pragma once
// replay/ a Source that reads a snapshot: it materializes the snapshot's files from the store
// (checking every chunk and file hash) into a private temporary folder, opens them with enmap/
// (an enmap.sqlite with its -wal, or export() files), decodes every row to canonical JSON once,
// and keeps the decoded rows in a spool (replay/spool.hpp) that the load and validation read.

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "enmap/decode.hpp"
#include "replay/source.hpp"
#include "replay/spool.hpp"

namespace enmap {
class Source;
class Database;
}  // namespace enmap

namespace replay {

/// What SnapshotSource::prepare spent its time on, in seconds.
struct SnapshotTimings {
    double materialize = 0;  // files out of the store and checked, or (VFS) the database's page list
    double decode = 0;       // reading, decoding and spooling every row
};

/// A new private (0700) folder for a replay's temporary files, under $TMPDIR, named
/// enmap-migrate-replay-PID-...; removes such folders of replays whose process is gone.
std::filesystem::path private_temp_dir();

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

    /// Reads and decodes the whole snapshot once, into the spool; a second call with the same
    /// options keeps what the first one read. Throws StoreError
    /// (missing snapshot, damaged store, a table that does not match its manifest), InputError
    /// (malformed data naming table, key and byte offset), Error (no room for the spool).
    void prepare(const enmap::DecodeOptions& options) override;
    /// The full snapshot id (64 hex digits).
    [[nodiscard]] std::string id() const override { return m_id; }
    [[nodiscard]] std::string description() const override { return m_description; }
    [[nodiscard]] const std::vector<SourceTable>& tables() const override { return m_tables; }
    [[nodiscard]] const std::vector<AutonumRow>& autonum() const override { return m_autonum; }
    [[nodiscard]] std::optional<SourceOrigin> origin() const override { return m_origin; }
    [[nodiscard]] const std::vector<SourceViolation>& violations() const override { return m_violations; }
    /// Reads the spool; safe to call from several threads at once.
    void for_each_row(const std::string& enmap_name, const RowCallback& callback) override;
    /// Reads the spool's bytes as they are; safe to call from several threads at once.
    void for_each_tuple_chunk(const std::string& enmap_name, const TupleCallback& callback) override;
    /// Where prepare() spent its time.
    [[nodiscard]] const SnapshotTimings& timings() const { return m_timings; }
    /// The tables whose digest came from the manifest instead of being computed, for tests.
    [[nodiscard]] const std::vector<std::string>& digests_from_manifest() const { return m_from_manifest; }

private:
    void decode_all(const nlohmann::json& manifest, const enmap::Database* database);
    const Spool::Segment& segment(const std::string& enmap_name) const;
    void check_replaced_keys(const std::string& table, const Spool::Segment& rows,
                             const std::map<std::string, std::vector<std::string>>& replaced) const;

    std::filesystem::path m_store;
    std::string m_ref;
    std::map<std::string, enmap::Encoding> m_formats;
    enmap::DecodeOptions m_options;
    std::string m_id;
    std::string m_description;
    std::filesystem::path m_dir;  // materialized files and the spool; removed by the destructor
    std::unique_ptr<enmap::Source> m_enmap;
    std::unique_ptr<Spool> m_spool;
    std::map<std::string, Spool::Segment> m_segments;
    std::vector<SourceTable> m_tables;
    std::vector<AutonumRow> m_autonum;
    std::optional<SourceOrigin> m_origin;
    std::vector<SourceViolation> m_violations;
    std::vector<std::string> m_from_manifest;
    SnapshotTimings m_timings;
    bool m_prepared = false;  // prepare() finished: the spool holds every row
};

}  // namespace replay
