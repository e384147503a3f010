#pragma once
// Comparing two snapshots: which files changed and by how many chunks, and which tables' summaries differ.

#include <nlohmann/json.hpp>

#include "snapshot/store.hpp"

namespace snapshot {

/// The differences between snapshots `from` and `to` as JSON: "files" (per name: status
/// added/removed/changed/same, sizes, chunks changed at the same position, chunks not in `from`)
/// and "tables" (per table: status and both summaries). Throws StoreError.
nlohmann::json diff_snapshots(const Store& store, const Hash& from, const Hash& to);

}  // namespace snapshot
