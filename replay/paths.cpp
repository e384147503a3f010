#include "replay/paths.hpp"

#include <algorithm>

namespace fs = std::filesystem;

namespace replay {

bool inside_folder(const fs::path& folder, const fs::path& path) {
    std::error_code ec;
    fs::path base = fs::weakly_canonical(fs::absolute(folder), ec);
    if (ec) {
        return false;
    }
    fs::path target = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec) {
        return false;
    }
    auto b = base.begin();
    auto t = target.begin();
    for (; b != base.end(); ++b, ++t) {
        if (t == target.end() || *b != *t) {
            return false;
        }
    }
    return true;
}

}  // namespace replay
