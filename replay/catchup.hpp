#pragma once
// replay/ the catch-up diff: what changed, key by key, between the snapshot a committed run
// replayed (BASE) and a later one (NEW), for `replay --snapshot NEW --since BASE`. Both sources are
// read back from their spools in bytewise key order, each on a thread of its own, and merged, so
// memory stays bounded whatever the row count; the rows to upsert and the keys to delete go to a
// spool of their own, which the catch-up run COPYs into temporary tables (docs/replay.md).

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "replay/source.hpp"
#include "replay/spool.hpp"

namespace replay {

/// One enmap's changes from BASE to NEW.
struct EnmapDelta {
    std::string enmap;
    std::uint64_t rows_base = 0;
    std::uint64_t rows_new = 0;
    std::uint64_t added = 0;
    std::uint64_t changed = 0;
    std::uint64_t removed = 0;
    bool read = false;        // false: equal row count and digest, so not read at all
    bool merged = false;      // read in key order and merged; false: compared through a hash table
    Spool::Segment upserts;   // added and changed rows (key, NEW's value)
    Spool::Segment removals;  // removed keys (value `null`)
    [[nodiscard]] bool empty() const { return added == 0 && changed == 0 && removed == 0; }
    /// As JSON for the report.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// The changes between two prepared sources of the same enmaps, with the rows to apply.
class CatchupDiff {
public:
    /// Compares `base` with `target` (both prepared, holding the same enmaps) table by table. A table
    /// whose row count and digest are equal is not read. Throws what the sources throw.
    CatchupDiff(Source& base, Source& target);
    ~CatchupDiff();
    CatchupDiff(const CatchupDiff&) = delete;
    CatchupDiff& operator=(const CatchupDiff&) = delete;

    /// The changes of `enmap`. Throws std::out_of_range for an enmap neither source holds.
    [[nodiscard]] const EnmapDelta& delta(const std::string& enmap) const { return m_deltas.at(enmap); }
    /// Every enmap's changes.
    [[nodiscard]] const std::map<std::string, EnmapDelta>& deltas() const { return m_deltas; }
    /// Streams the rows to upsert into `enmap`'s raw_ table as binary COPY tuples.
    void read_upserts(const std::string& enmap, const TupleCallback& callback) const;
    /// Streams the keys to delete from `enmap`'s raw_ table as binary COPY tuples (value `null`).
    void read_removals(const std::string& enmap, const TupleCallback& callback) const;
    /// The seconds the diff took.
    [[nodiscard]] double seconds() const { return m_seconds; }
    /// The per-enmap counts as JSON: {"seconds", "tables": [...]}.
    [[nodiscard]] nlohmann::json to_json() const;

private:
    void diff_table(Source& base, Source& target, EnmapDelta& delta);
    bool merge(Source& base, Source& target, EnmapDelta& delta);
    void hash_join(Source& base, Source& target, EnmapDelta& delta);

    std::filesystem::path m_dir;
    std::unique_ptr<Spool> m_upserts;
    std::unique_ptr<Spool> m_removals;
    std::map<std::string, EnmapDelta> m_deltas;
    double m_seconds = 0;
};

}  // namespace replay
