#include "enmap/source.hpp"

#include <algorithm>

#include "enmap/error.hpp"

namespace enmap {

std::vector<std::string> Source::select_tables(const std::vector<std::string>& names) const {
    const auto& all = tables();
    if (names.empty()) {
        return all;
    }
    for (const auto& name : names) {
        if (std::find(all.begin(), all.end(), name) == all.end()) {
            std::string available;
            for (const auto& table : all) {
                available += (available.empty() ? "" : ", ") + table;
            }
            throw InputError(describe() + ": no enmap table '" + name + "'",
                             "the tables it holds are: " + available);
        }
    }
    std::vector<std::string> selected;
    for (const auto& table : all) {
        if (std::find(names.begin(), names.end(), table) != names.end()) {
            selected.push_back(table);
        }
    }
    return selected;
}

}  // namespace enmap
