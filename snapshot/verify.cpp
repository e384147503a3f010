// Store::verify: re-reads and re-hashes every pack, chunk, index file and manifest, and says which
// snapshots the damage affects.

#include <functional>
#include <map>
#include <optional>
#include <set>

#include "enmap/error.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace snapshot {

nlohmann::json VerifyReport::to_json() const {
    return {{"ok", ok()},
            {"packs", packs},
            {"chunks", chunks},
            {"indexes", indexes},
            {"snapshots", snapshots},
            {"files", files},
            {"damaged", damaged},
            {"affected_snapshots", affected}};
}

namespace {
struct PackCheck {
    bool present = false;
    std::string problem;                   // empty when the whole pack is sound
    std::set<std::uint32_t> good_offsets;  // entries that decode and match their id
};

// Reads a delta's base chunk through the store's index; std::nullopt when it cannot be read.
using BaseReader = std::function<std::optional<std::string>(const Hash&)>;

PackCheck check_pack(const fs::path& path, const std::string& name, std::uint64_t& chunks,
                     const BaseReader& read_base) {
    PackCheck check;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
        check.problem = "pack " + name + " is missing";
        return check;
    }
    check.present = true;
    std::string bytes = read_small_file(path);
    std::vector<std::string> problems;
    if (to_hex(sha256(bytes)) != name) {
        problems.push_back("its bytes do not match its name (SHA-256)");
    }
    if (bytes.size() < 8 || std::string_view(bytes).substr(0, 8) != k_pack_magic) {
        problems.push_back("it does not start with " + std::string(k_pack_magic));
    } else {
        std::size_t at = 8;
        std::size_t bad = 0;
        while (at < bytes.size()) {
            auto header = EntryHeader::decode(std::string_view(bytes).substr(at));
            if (!header || bytes.size() - at - header->encoded_size() < header->stored_size) {
                problems.push_back("it is cut off or garbled at byte " + std::to_string(at));
                break;
            }
            std::string_view payload =
                std::string_view(bytes).substr(at + header->encoded_size(), header->stored_size);
            try {
                if (header->type == EntryType::k_zstd_block) {
                    // Every member of the block is checked against its SHA-256.
                    chunks += decode_block(*header, payload, "pack " + name, true).members.size();
                } else if (header->type == EntryType::k_zstd_delta) {
                    ++chunks;
                    auto base = read_base(header->base);
                    if (!base) {
                        throw enmap::StoreError("the base of a delta cannot be read");
                    }
                    decode_delta(*header, payload, *base, "pack " + name);
                } else {
                    ++chunks;
                    decode_entry(*header, payload, "pack " + name);
                }
                check.good_offsets.insert(static_cast<std::uint32_t>(at));
            } catch (const enmap::StoreError&) {
                ++chunks;
                ++bad;
            }
            at += header->encoded_size() + header->stored_size;
        }
        if (bad > 0) {
            problems.push_back(std::to_string(bad) + " chunk(s) do not match their SHA-256");
        }
    }
    for (const auto& problem : problems) {
        check.problem += (check.problem.empty() ? "pack " + name + ": " : "; ") + problem;
    }
    return check;
}
}  // namespace

VerifyReport Store::verify(const std::optional<Hash>& only) const {
    VerifyReport report;
    std::error_code ec;

    // Manifests first: with `only`, they say which packs to read.
    std::vector<Hash> snapshot_ids;
    if (only) {
        snapshot_ids.push_back(*only);
    } else {
        for (const auto& entry : fs::directory_iterator(m_root / "snapshots", ec)) {
            std::string name = entry.path().filename().string();
            if (is_hex_digest(name)) {
                snapshot_ids.push_back(from_hex(name));
            }
        }
        std::sort(snapshot_ids.begin(), snapshot_ids.end());
    }

    // Index files: each must match its name and decode.
    for (const auto& entry : fs::directory_iterator(m_root / "index", ec)) {
        std::string name = entry.path().filename().string();
        ++report.indexes;
        std::string bytes = read_small_file(entry.path());
        if (to_hex(sha256(bytes)) != name) {
            report.damaged.push_back("index file " + name + ": its bytes do not match its name (SHA-256)");
            continue;
        }
        try {
            (void)IndexFile::decode(bytes, name);
        } catch (const enmap::StoreError& e) {
            report.damaged.push_back(e.what());
        }
    }

    // Which packs to read.
    std::set<std::uint32_t> wanted;
    std::map<Hash, std::vector<Hash>> needs;  // snapshot -> chunk ids (those whose lists were readable)
    std::map<Hash, std::string> manifest_problems;
    for (const auto& id : snapshot_ids) {
        ++report.snapshots;
        try {
            auto manifest = read_manifest(id);
            needs[id] = {};
            for (const auto& file : manifest.at("files")) {
                for (const auto& list_id : file.at("content")) {
                    needs[id].push_back(from_hex(list_id.get<std::string>()));
                }
                try {
                    auto ids = file_chunks(file);
                    needs[id].insert(needs[id].end(), ids.begin(), ids.end());
                } catch (const enmap::StoreError& e) {
                    manifest_problems[id] = "snapshot " + to_hex(id) + ": the chunk list of " +
                                            file.value("name", "?") + " cannot be read: " + e.what();
                }
            }
        } catch (const std::exception& e) {
            report.damaged.push_back(e.what());
            report.affected.push_back(to_hex(id));
        }
    }
    if (only) {
        for (const auto& id : needs[*only]) {
            auto it = m_chunks.find(id);
            if (it != m_chunks.end()) {
                wanted.insert(it->second.pack);
            }
        }
    } else {
        for (std::uint32_t i = 0; i < m_packs.size(); ++i) {
            wanted.insert(i);
        }
    }

    // Packs: re-read and re-hash each, and every chunk in it.
    std::map<std::uint32_t, PackCheck> checks;
    for (auto number : wanted) {
        ++report.packs;
        checks[number] = check_pack(pack_path(m_packs[number]), to_hex(m_packs[number]), report.chunks,
                                    [this](const Hash& base) -> std::optional<std::string> {
                                        try {
                                            return read_chunk(base);
                                        } catch (const enmap::StoreError&) {
                                            return std::nullopt;
                                        }
                                    });
    }

    // Snapshots: every chunk they need must sit, intact, where the index says.
    std::map<std::uint32_t, std::set<std::string>> affected_by_pack;
    std::set<std::string> affected(report.affected.begin(), report.affected.end());
    for (const auto& [id, chunk_ids] : needs) {
        std::uint64_t missing = 0;
        for (const auto& chunk : chunk_ids) {
            auto it = m_chunks.find(chunk);
            bool ok = false;
            if (it != m_chunks.end()) {
                auto check = checks.find(it->second.pack);
                ok = check != checks.end() && check->second.good_offsets.count(it->second.offset) != 0;
                if (!ok) {
                    affected_by_pack[it->second.pack].insert(to_hex(id));
                }
            }
            if (!ok) {
                ++missing;
            }
        }
        if (auto problem = manifest_problems.find(id); problem != manifest_problems.end()) {
            report.damaged.push_back(problem->second);
            affected.insert(to_hex(id));
        }
        if (missing > 0) {
            affected.insert(to_hex(id));
            report.damaged.push_back("snapshot " + to_hex(id) + ": " + std::to_string(missing) +
                                     " chunk(s) it needs are missing or damaged");
        }
    }
    for (const auto& [number, check] : checks) {
        if (check.problem.empty()) {
            continue;
        }
        std::string line = check.problem;
        auto it = affected_by_pack.find(number);
        if (it != affected_by_pack.end() && !it->second.empty()) {
            line += " (affects snapshot";
            line += it->second.size() > 1 ? "s " : " ";
            bool first = true;
            for (const auto& id : it->second) {
                line += (first ? "" : ", ") + id;
                first = false;
            }
            line += ")";
        } else {
            line += " (no snapshot needs its damaged chunks)";
        }
        report.damaged.push_back(line);
    }

    // With one snapshot named: re-assemble its files and check their SHA-256.
    if (only && affected.empty()) {
        auto manifest = read_manifest(*only);
        for (const auto& file : manifest.at("files")) {
            ++report.files;
            Sha256 whole;
            std::uint64_t size = 0;
            for (const auto& chunk : file_chunks(file)) {
                std::string bytes = read_chunk(chunk);
                size += bytes.size();
                whole.update(bytes);
            }
            if (size != file.at("size").get<std::uint64_t>() ||
                to_hex(whole.finish()) != file.at("sha256").get<std::string>()) {
                report.damaged.push_back("snapshot " + to_hex(*only) + ": file " + file.value("name", "?") +
                                         " does not match its recorded size and SHA-256");
                affected.insert(to_hex(*only));
            }
        }
    }
    report.affected.assign(affected.begin(), affected.end());
    return report;
}

}  // namespace snapshot
