// Store::prune: forgets snapshots no rule keeps, then removes the data only they used.

#include <algorithm>
#include <chrono>
#include <set>
#include <tuple>
#include <unordered_set>

#include "enmap/error.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace snapshot {

nlohmann::json PruneReport::to_json() const {
    return {{"kept", kept},
            {"removed", removed},
            {"packs_removed", packs_removed},
            {"packs_repacked", packs_repacked},
            {"chunks_removed", chunks_removed},
            {"bytes_freed", bytes_freed}};
}

PruneReport Store::prune(const PrunePolicy& policy) {
    if (!policy.keep_last && !policy.keep_within_seconds && policy.keep_labels.empty() &&
        policy.remove_ids.empty()) {
        throw enmap::UsageError("prune needs at least one rule saying what to keep",
                                "pass --keep-last N, --keep-within DURATION or --keep-label NAME");
    }
    if (m_lock->mode() != StoreLock::Mode::k_exclusive) {
        throw enmap::RefusedError("prune needs the store's exclusive lock");
    }
    PruneReport report;
    auto all = list();
    std::int64_t now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    std::vector<SnapshotInfo> kept;
    std::vector<SnapshotInfo> removed;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& info = all[i];
        bool keep = false;
        if (policy.keep_last && all.size() - i <= *policy.keep_last) {
            keep = true;
        }
        if (policy.keep_within_seconds && now - parse_iso8601(info.time) <= *policy.keep_within_seconds) {
            keep = true;
        }
        for (const auto& label : policy.keep_labels) {
            if (!info.label.empty() && info.label == label) {
                keep = true;
            }
        }
        if (!policy.remove_ids.empty()) {
            keep = std::find(policy.remove_ids.begin(), policy.remove_ids.end(), info.id) ==
                   policy.remove_ids.end();
        }
        (keep ? kept : removed).push_back(info);
        (keep ? report.kept : report.removed).push_back(to_hex(info.id));
    }

    // What the kept snapshots need; a kept snapshot that cannot be read stops prune before it deletes.
    std::unordered_set<Hash, HashHasher> needed;
    for (const auto& info : kept) {
        for (const auto& id : needed_chunks(read_manifest(info.id))) {
            needed.insert(id);
        }
    }
    if (policy.dry_run) {
        return report;
    }
    for (const auto& info : removed) {
        remove_durably(m_root / "snapshots" / to_hex(info.id));
    }

    // Sort the packs: fully used ones stay, unused ones go, partly used ones are repacked.
    std::vector<std::uint64_t> used(m_packs.size(), 0);
    std::vector<std::uint64_t> total(m_packs.size(), 0);
    for (const auto& [id, location] : m_chunks) {
        ++total[location.pack];
        if (needed.count(id) != 0) {
            ++used[location.pack];
        }
    }
    PackWriter writer(*this, false);
    std::vector<std::uint32_t> doomed;
    for (std::uint32_t pack = 0; pack < m_packs.size(); ++pack) {
        if (used[pack] == total[pack]) {
            continue;
        }
        doomed.push_back(pack);
        report.chunks_removed += total[pack] - used[pack];
        if (used[pack] > 0) {
            ++report.packs_repacked;
        } else {
            ++report.packs_removed;
        }
    }
    std::set<std::uint32_t> doomed_set(doomed.begin(), doomed.end());
    // The chunks to keep from packs that go, in the order they are stored, so that the members of
    // one block are read with one decompression.
    std::vector<std::pair<Hash, Location>> moving;
    for (const auto& [id, location] : m_chunks) {
        if (doomed_set.count(location.pack) != 0 && needed.count(id) != 0) {
            moving.emplace_back(id, location);
        }
    }
    std::sort(moving.begin(), moving.end(), [](const auto& a, const auto& b) {
        return std::tie(a.second.pack, a.second.offset, a.second.inner_offset) <
               std::tie(b.second.pack, b.second.offset, b.second.inner_offset);
    });
    for (const auto& [id, location] : moving) {
        if (location.type == EntryType::k_zstd_block) {
            // Only the members still needed go into new blocks: the rest of the block is freed.
            writer.add_chunk(id, read_chunk(id), k_default_compression);
            continue;
        }
        EntryHeader header;
        std::string bytes = read_entry(id, header);
        std::string_view payload = std::string_view(bytes).substr(header.encoded_size());
        if (header.type == EntryType::k_zstd_delta) {
            (void)read_chunk(id);  // checks it against its base; the base is needed too, so it stays
        } else {
            decode_entry(header, payload, "pack " + to_hex(m_packs[location.pack]));
        }
        writer.add(header, payload);
    }
    IndexFile fresh = writer.flush();
    std::uint64_t new_bytes = 0;
    for (const auto& pack : fresh.packs) {
        new_bytes += fs::file_size(pack_path(pack));
    }
    // One index for everything that stays: the untouched packs and the new ones.
    std::unordered_map<std::uint32_t, std::uint32_t> renumber;
    IndexFile kept_index = std::move(fresh);
    for (const auto& [id, location] : m_chunks) {
        if (doomed_set.count(location.pack) != 0 || needed.count(id) == 0) {
            continue;
        }
        auto [it, inserted] =
            renumber.emplace(location.pack, static_cast<std::uint32_t>(kept_index.packs.size()));
        if (inserted) {
            kept_index.packs.push_back(m_packs[location.pack]);
        }
        IndexFile::Entry entry;
        entry.id = id;
        entry.location = location;
        entry.location.pack = it->second;
        kept_index.entries.push_back(entry);
    }
    fsync_dir(m_root / "data");
    std::string bytes = kept_index.encode();
    Hash index_id = sha256(bytes);
    std::string index_name = to_hex(index_id);
    write_file_atomic(tmp_dir(), m_root / "index" / index_name, bytes);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(m_root / "index", ec)) {
        if (entry.path().filename() != index_name) {
            remove_durably(entry.path());
        }
    }
    std::uint64_t old_bytes = 0;
    for (auto pack : doomed) {
        fs::path path = pack_path(m_packs[pack]);
        old_bytes += fs::file_size(path, ec);
        remove_durably(path);
    }
    report.bytes_freed = old_bytes > new_bytes ? old_bytes - new_bytes : 0;
    load_index();
    return report;
}

}  // namespace snapshot
