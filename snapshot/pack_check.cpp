#include "snapshot/pack_check.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

namespace snapshot {

namespace {
std::int64_t file_size_or_missing(const std::filesystem::path& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_size) : -1;
}

std::int64_t needed(const Location& loc) {
    return static_cast<std::int64_t>(loc.offset) + static_cast<std::int64_t>(entry_header_size(loc.type)) +
           static_cast<std::int64_t>(loc.stored_size);
}
}  // namespace

bool location_present(const Store& store, const Location& loc) {
    if (loc.pack >= store.packs().size()) {
        return false;
    }
    return file_size_or_missing(store.pack_path(store.packs()[loc.pack])) >= needed(loc);
}

PackCheck::PackCheck(const Store& store) : m_store(store) {
    const auto& packs = store.packs();
    m_sizes.reserve(packs.size());
    for (const auto& pack : packs) {
        m_sizes.push_back(file_size_or_missing(store.pack_path(pack)));
    }
    std::vector<bool> bad(packs.size(), false);
    for (const auto& entry : store.chunks()) {
        const Location& loc = entry.second;
        if (loc.pack < m_sizes.size() && m_sizes[loc.pack] < needed(loc)) {
            bad[loc.pack] = true;
        }
    }
    std::string list;
    for (std::size_t i = 0; i < packs.size(); ++i) {
        if (bad[i]) {
            m_unsound.push_back(to_hex(packs[i]));
            list += (list.empty() ? "" : ", ") + m_unsound.back().substr(0, 12);
        }
    }
    if (!m_unsound.empty()) {
        spdlog::warn(
            "{} pack(s) of the store are missing or cut short ({}): their chunks are stored again; "
            "run `enmap-migrate snapshot verify` to see which snapshots they damage",
            m_unsound.size(), list);
    }
}

bool PackCheck::sound(const Hash& id) const {
    const auto& chunks = m_store.chunks();
    auto it = chunks.find(id);
    if (it == chunks.end()) {
        return false;
    }
    const Location& loc = it->second;
    return loc.pack >= m_sizes.size() || m_sizes[loc.pack] >= needed(loc);
}

}  // namespace snapshot
