#pragma once
// snapshot/ which packs of a store are there: before create or import relies on a chunk the index
// knows, it checks, as restic does, that the chunk's pack file is present and long enough.

#include <cstdint>
#include <string>
#include <vector>

#include "snapshot/store.hpp"

namespace snapshot {

/// One stat of every pack file the store's index names, taken at construction.
class PackCheck {
public:
    /// Looks at every pack; warns (naming them) when some are missing or cut short.
    explicit PackCheck(const Store& store);
    /// True when the index knows the chunk and its pack file is present and long enough to hold
    /// it; chunks of packs written after the check count as sound.
    [[nodiscard]] bool sound(const Hash& id) const;
    /// The packs found missing or cut short, as hex ids.
    [[nodiscard]] const std::vector<std::string>& unsound_packs() const { return m_unsound; }

private:
    const Store& m_store;
    std::vector<std::int64_t> m_sizes;  // per pack number: the file's size, -1 when missing
    std::vector<std::string> m_unsound;
};

/// True when the pack file holding `loc` (pack number in `store`) is present and long enough.
bool location_present(const Store& store, const Location& loc);

}  // namespace snapshot
