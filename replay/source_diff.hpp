#pragma once
// replay/ row by row comparison of two sources (two snapshots, say): per enmap, how many keys were
// added, removed and changed, for `snapshot diff`.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "replay/source.hpp"

namespace replay {

/// One enmap's row changes between two sources.
struct TableRowDiff {
    std::string enmap;
    std::uint64_t rows_from = 0;
    std::uint64_t rows_to = 0;
    std::uint64_t added = 0;
    std::uint64_t removed = 0;
    std::uint64_t changed = 0;
    bool in_from = true;
    bool in_to = true;
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
};

/// Compares two prepared sources key by key (the canonical JSON of each value), one enmap at a
/// time; memory is one enmap's keys and value hashes. Enmaps whose row count and digest are equal
/// are counted as unchanged without reading them. Throws what the sources throw.
std::vector<TableRowDiff> diff_sources(Source& from, Source& to);

}  // namespace replay
