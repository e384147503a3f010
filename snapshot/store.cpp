#include "snapshot/store.hpp"

#include "snapshot/pack_check.hpp"

#include <sys/stat.h>

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>

#include "enmap/error.hpp"
#include "snapshot/fsutil.hpp"

namespace fs = std::filesystem;

namespace snapshot {

namespace {
constexpr std::string_view k_store_format = "enmap-migrate-store";
constexpr const char* k_verify_hint = "run `enmap-migrate snapshot verify` to see what is damaged";

bool is_hex_name(const std::string& name) {
    return is_hex_digest(name) &&
           std::all_of(name.begin(), name.end(), [](char c) { return !std::isupper(c); });
}
}  // namespace

std::string now_iso8601() {
    auto now = std::chrono::system_clock::now();
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char buffer[64];
    std::size_t n = std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buffer + n, sizeof(buffer) - n, ".%06lldZ", static_cast<long long>(micros % 1000000));
    return buffer;
}

std::int64_t parse_iso8601(std::string_view text) {
    std::tm tm{};
    std::string copy(text.substr(0, 19));
    if (::strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
        throw enmap::InputError("'" + std::string(text) + "' is not an ISO 8601 UTC time");
    }
    return static_cast<std::int64_t>(::timegm(&tm));
}

namespace {

// What a store folder without its config still holds: "3 snapshot(s), 2 pack(s)", or "" when none.
std::string data_without_config(const fs::path& root) {
    std::error_code ec;
    std::size_t snapshots = 0;
    std::size_t packs = 0;
    for (const auto& entry : fs::directory_iterator(root / "snapshots", ec)) {
        snapshots += is_hex_name(entry.path().filename().string()) ? 1 : 0;
    }
    for (const auto& dir : fs::directory_iterator(root / "data", ec)) {
        std::error_code ec2;
        for (const auto& entry : fs::directory_iterator(dir.path(), ec2)) {
            packs += is_hex_name(entry.path().filename().string()) ? 1 : 0;
        }
    }
    if (snapshots == 0 && packs == 0) {
        return {};
    }
    return std::to_string(snapshots) + " snapshot(s) and " + std::to_string(packs) + " pack(s)";
}

}  // namespace

Store::Store(fs::path root, Access access, const std::string& command) : m_root(std::move(root)) {
    bool exists = fs::exists(m_root / "config");
    if (!exists) {
        // Writing a new config over a store that lost its own would make its data look fresh: refuse.
        std::string held = data_without_config(m_root);
        if (!held.empty()) {
            throw enmap::StoreError(
                "the store " + m_root.string() + " has lost its config file, but still holds " + held,
                "nothing was changed; put the config back from a backup, or write it again with `printf "
                "'{\"format\": \"enmap-migrate-store\", \"version\": 1}\\n' > " +
                    (m_root / "config").string() + "`, then run `enmap-migrate snapshot verify`");
        }
        if (access != Access::k_write) {
            throw enmap::StoreError(
                "there is no snapshot store at " + m_root.string(),
                "pass --store (or set ENMAP_MIGRATE_STORE) to the store folder, or create a "
                "snapshot first with `enmap-migrate snapshot create`");
        }
        create_layout();
    } else {
        auto config = nlohmann::json::parse(read_small_file(m_root / "config"), nullptr, false);
        if (config.is_discarded() || config.value("format", "") != k_store_format) {
            throw enmap::StoreError(m_root.string() + "/config is not the config of an enmap-migrate store",
                                    "check --store");
        }
        if (config.value("version", 0) != 1) {
            throw enmap::StoreError("the store " + m_root.string() + " has format version " +
                                        std::to_string(config.value("version", 0)) +
                                        ", this tool reads version 1",
                                    "use the enmap-migrate version that wrote it");
        }
    }
    auto mode = access == Access::k_maintain ? StoreLock::Mode::k_exclusive : StoreLock::Mode::k_shared;
    m_lock = std::make_unique<StoreLock>(m_root, mode, command, access == Access::k_read);
    load_index();
    if (m_lock->read_only()) {
        spdlog::debug("the store {} is read-only here: reading it without cleaning up", m_root.string());
    } else if (m_lock->try_upgrade()) {
        clean_up_leftovers();
        if (access != Access::k_maintain) {
            m_lock->downgrade();
        }
    }
}

Store::~Store() {
    for (auto& [pack, fd] : m_pack_fds) {
        ::close(fd);
    }
}

void Store::create_layout() {
    make_dir(m_root);
    for (const char* dir : {"data", "index", "snapshots", "locks", "tmp"}) {
        make_dir(m_root / dir);
    }
    nlohmann::json config = {{"format", k_store_format}, {"version", 1}, {"created", now_iso8601()}};
    write_file_atomic(m_root / "tmp", m_root / "config", config.dump(2) + "\n");
    fsync_dir(m_root);
}

fs::path Store::pack_path(const Hash& pack) const {
    std::string hex = to_hex(pack);
    return m_root / "data" / hex.substr(0, 2) / hex;
}

void Store::add_index(const IndexFile& file, const Hash& index_id) {
    m_index_files.push_back(index_id);
    std::vector<std::uint32_t> numbers;
    numbers.reserve(file.packs.size());
    for (const auto& pack : file.packs) {
        auto [it, inserted] = m_pack_numbers.emplace(pack, static_cast<std::uint32_t>(m_packs.size()));
        if (inserted) {
            m_packs.push_back(pack);
        }
        numbers.push_back(it->second);
    }
    m_chunks.reserve(m_chunks.size() + file.entries.size());
    for (const auto& entry : file.entries) {
        Location location = entry.location;
        location.pack = numbers[entry.location.pack];
        auto [it, inserted] = m_chunks.emplace(entry.id, location);
        if (!inserted && it->second.pack != location.pack) {
            // A chunk stored again (its first pack was lost): keep the copy whose pack is there.
            if (!location_present(*this, it->second) && location_present(*this, location)) {
                it->second = location;
            }
        }
    }
}

void Store::load_index() {
    {
        std::lock_guard<std::mutex> lock(m_fd_mutex);
        for (auto& [pack, fd] : m_pack_fds) {
            ::close(fd);
        }
        m_pack_fds.clear();
    }
    m_packs.clear();
    m_pack_numbers.clear();
    m_chunks.clear();
    m_index_files.clear();
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(m_root / "index", ec)) {
        if (is_hex_name(entry.path().filename().string())) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<std::pair<IndexFile, Hash>> decoded;
    std::size_t entries = 0;
    for (const auto& path : files) {
        std::string bytes = read_small_file(path);
        std::string name = path.filename().string();
        if (to_hex(sha256(bytes)) != name) {
            // verify names it; the chunks it lists are treated as absent until then.
            continue;
        }
        try {
            decoded.emplace_back(IndexFile::decode(bytes, name), from_hex(name));
            entries += decoded.back().first.entries.size();
        } catch (const enmap::StoreError&) {
            continue;
        }
    }
    m_chunks.reserve(entries);  // once: each index file reserving in turn rehashed all before it
    for (const auto& [file, id] : decoded) {
        add_index(file, id);
    }
}

void Store::clean_up_leftovers() {
    std::error_code ec;
    m_lock->remove_stale_holder_files();
    for (const auto& entry : fs::directory_iterator(m_root / "tmp", ec)) {
        fs::remove_all(entry.path(), ec);
    }
    // Packs no index lists: written by a create, import or prune that was interrupted.
    bool removed = false;
    for (const auto& dir : fs::directory_iterator(m_root / "data", ec)) {
        std::error_code ec2;
        for (const auto& entry : fs::directory_iterator(dir.path(), ec2)) {
            std::string name = entry.path().filename().string();
            bool referenced = is_hex_name(name) && m_pack_numbers.count(from_hex(name)) != 0;
            if (!referenced) {
                fs::remove(entry.path(), ec2);
                removed = true;
            }
        }
    }
    for (const auto& entry : fs::directory_iterator(m_root / "snapshots", ec)) {
        if (!is_hex_name(entry.path().filename().string())) {
            fs::remove(entry.path(), ec);
        }
    }
    if (removed) {
        fsync_dir(m_root / "data");
    }
}

int Store::pack_fd(std::uint32_t pack) const {
    std::lock_guard<std::mutex> lock(m_fd_mutex);
    auto it = m_pack_fds.find(pack);
    if (it != m_pack_fds.end()) {
        return it->second;
    }
    if (m_pack_fds.size() >= 256) {
        for (auto& [number, fd] : m_pack_fds) {
            ::close(fd);
        }
        m_pack_fds.clear();
    }
    fs::path path = pack_path(m_packs[pack]);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw enmap::StoreError("pack " + to_hex(m_packs[pack]) + " is missing (" + path.string() + ")",
                                k_verify_hint);
    }
    m_pack_fds.emplace(pack, fd);
    return fd;
}

namespace {
// The last blocks a thread decompressed, keyed by their pack's id and offset (content-addressed,
// so valid across stores). Reading a file in order after a change alternates between the blocks of
// the first snapshot (unchanged pages) and the blocks of the new pages, so a few are kept, the
// least recently used making room. A block of changed pages spans a few hundred pages of the file,
// so it must outlive the dozen blocks of unchanged pages read in between.
struct CachedBlock {
    Hash pack{};
    std::uint32_t offset = 0;
    std::uint64_t used = 0;
    Block block;
};
struct BlockCache {
    static constexpr std::size_t k_blocks = 32;  // 2 MiB: a new block spans ~200 pages of the file
    std::vector<CachedBlock> blocks;
    std::uint64_t clock = 0;
    std::string read_buffer;  // the compressed entry being read
};
// The offset of a slot that holds no block (a pack's offsets are below 4 GiB - 1).
constexpr std::uint32_t k_no_block = 0xFFFFFFFF;
thread_local BlockCache t_block_cache;
}  // namespace

const Block& Store::read_block(const Hash& id, const Location& loc) const {
    const Hash& pack_id = m_packs[loc.pack];
    BlockCache& cache = t_block_cache;
    ++cache.clock;
    for (auto& cached : cache.blocks) {
        if (cached.offset == loc.offset && cached.pack == pack_id) {
            cached.used = cache.clock;
            return cached.block;
        }
    }
    // The entry is read into this thread's buffer and decompressed into the least recently used
    // slot's: both keep their storage, so a block read costs no allocation and no zero-filling.
    std::string& bytes = cache.read_buffer;
    bytes.resize(entry_header_size(EntryType::k_zstd_block) + loc.stored_size);
    if (pread_full(pack_fd(loc.pack), bytes.data(), bytes.size(), loc.offset) != bytes.size()) {
        throw enmap::StoreError(
            "chunk " + to_hex(id) + " is cut off: pack " + to_hex(pack_id) + " is truncated", k_verify_hint);
    }
    auto header = EntryHeader::decode(bytes);
    if (!header || header->type != EntryType::k_zstd_block || header->stored_size != loc.stored_size ||
        header->plain_size != loc.block_plain) {
        throw enmap::StoreError("chunk " + to_hex(id) + ": pack " + to_hex(pack_id) +
                                    " holds a damaged entry at offset " + std::to_string(loc.offset),
                                k_verify_hint);
    }
    CachedBlock* slot = nullptr;
    if (cache.blocks.size() < BlockCache::k_blocks) {
        slot = &cache.blocks.emplace_back();
    } else {
        slot = &*std::min_element(cache.blocks.begin(), cache.blocks.end(),
                                  [](const CachedBlock& a, const CachedBlock& b) { return a.used < b.used; });
    }
    slot->used = 0;  // holds no block until it is decoded: a throw leaves it free, not stale
    slot->pack = Hash{};
    slot->offset = k_no_block;
    decode_block(*header, std::string_view(bytes).substr(header->encoded_size()), "pack " + to_hex(pack_id),
                 false, slot->block);
    slot->pack = pack_id;
    slot->offset = loc.offset;
    slot->used = cache.clock;
    return slot->block;
}

std::size_t Store::append_members(const Hash* ids, std::size_t count, const Location& loc,
                                  std::string& out) const {
    const Block& block = read_block(ids[0], loc);
    auto member =
        std::lower_bound(block.members.begin(), block.members.end(), loc.inner_offset,
                         [](const BlockMember& m, std::uint32_t offset) { return m.offset < offset; });
    // The block's own member table names the chunks that follow, so a run of chunks stored together
    // needs one index lookup, not one per chunk. Each is checked against its SHA-256 all the same,
    // two at a time (sha256_each).
    const auto run = member;
    std::size_t taken = 0;
    while (taken < count && member != block.members.end() && member->id == ids[taken] &&
           (taken > 0 || (member->offset == loc.inner_offset && member->size == loc.plain_size))) {
        ++taken;
        ++member;
    }
    constexpr std::size_t k_checked_at_once = 16;
    std::string_view plains[k_checked_at_once];
    Hash hashes[k_checked_at_once];
    for (std::size_t first = 0; first < taken; first += k_checked_at_once) {
        const std::size_t n = std::min(k_checked_at_once, taken - first);
        for (std::size_t i = 0; i < n; ++i) {
            const auto& member_i = run[static_cast<std::ptrdiff_t>(first + i)];
            plains[i] = std::string_view(block.plain).substr(member_i.offset, member_i.size);
        }
        sha256_each(plains, n, hashes);
        for (std::size_t i = 0; i < n; ++i) {
            if (hashes[i] != ids[first + i]) {
                throw enmap::StoreError("chunk " + to_hex(ids[first + i]) + " in pack " +
                                            to_hex(m_packs[loc.pack]) + " does not match its SHA-256",
                                        k_verify_hint);
            }
            out.append(plains[i]);
        }
    }
    if (taken == 0) {
        throw enmap::StoreError("chunk " + to_hex(ids[0]) + ": pack " + to_hex(m_packs[loc.pack]) +
                                    " holds a block at offset " + std::to_string(loc.offset) +
                                    " that does not list it where the index says",
                                k_verify_hint);
    }
    return taken;
}

std::string Store::read_chunk(const Hash& id) const {
    auto it = m_chunks.find(id);
    if (it != m_chunks.end() && it->second.type == EntryType::k_zstd_block) {
        std::string out;
        append_members(&id, 1, it->second, out);
        return out;
    }
    EntryHeader header;
    std::string bytes = read_entry(id, header);
    std::string where = "pack " + to_hex(m_packs[m_chunks.at(id).pack]);
    std::string_view payload = std::string_view(bytes).substr(header.encoded_size());
    if (header.type == EntryType::k_zstd_delta) {
        if (delta_depth(id) > k_max_delta_depth) {
            throw enmap::StoreError("chunk " + to_hex(id) + " is a delta more than " +
                                        std::to_string(k_max_delta_depth) + " bases deep, or in a cycle",
                                    k_verify_hint);
        }
        return decode_delta(header, payload, read_chunk(header.base), where);
    }
    return decode_entry(header, payload, where);
}

std::size_t Store::delta_depth(const Hash& id) const {
    std::size_t depth = 0;
    const Hash* at = &id;
    for (;;) {
        auto it = m_chunks.find(*at);
        if (it == m_chunks.end() || it->second.type != EntryType::k_zstd_delta) {
            return depth;
        }
        if (++depth > k_max_delta_depth) {
            return depth;
        }
        at = &it->second.base;
    }
}

std::string Store::read_chunks(const Hash* ids, std::size_t count) const {
    std::string out;
    read_chunks(ids, count, out);
    return out;
}

void Store::read_chunks(const Hash* ids, std::size_t count, std::string& out) const {
    static constexpr std::size_t k_max_span = 8U << 20;
    std::size_t i = 0;
    while (i < count) {
        auto it = m_chunks.find(ids[i]);
        if (it == m_chunks.end()) {
            out += read_chunk(ids[i]);  // throws, naming the chunk
            ++i;
            continue;
        }
        if (it->second.type == EntryType::k_zstd_block) {
            if (out.empty()) {
                out.reserve(count * it->second.plain_size);
            }
            i += append_members(ids + i, count - i, it->second, out);
            continue;
        }
        if (it->second.type == EntryType::k_zstd_delta) {
            out += read_chunk(ids[i]);
            ++i;
            continue;
        }
        // A run of entries that follow each other in one pack.
        std::vector<const Location*> run = {&it->second};
        std::uint64_t start = it->second.offset;
        std::uint64_t end = start + entry_header_size(it->second.type) + it->second.stored_size;
        std::size_t j = i + 1;
        for (; j < count && end - start < k_max_span; ++j) {
            auto next = m_chunks.find(ids[j]);
            if (next == m_chunks.end() || next->second.pack != it->second.pack ||
                next->second.offset != end || next->second.type != EntryType::k_zstd) {
                break;
            }
            run.push_back(&next->second);
            end += entry_header_size(next->second.type) + next->second.stored_size;
        }
        std::string pack = "pack " + to_hex(m_packs[it->second.pack]);
        std::string bytes(end - start, '\0');
        if (pread_full(pack_fd(it->second.pack), bytes.data(), bytes.size(), start) != bytes.size()) {
            throw enmap::StoreError("chunk " + to_hex(ids[i]) + " is cut off: " + pack + " is truncated",
                                    k_verify_hint);
        }
        std::size_t at = 0;
        for (std::size_t k = 0; k < run.size(); ++k) {
            auto header = EntryHeader::decode(std::string_view(bytes).substr(at));
            if (!header || header->id != ids[i + k] || header->stored_size != run[k]->stored_size) {
                throw enmap::StoreError("chunk " + to_hex(ids[i + k]) + ": " + pack +
                                            " holds a damaged entry at offset " +
                                            std::to_string(run[k]->offset),
                                        k_verify_hint);
            }
            out += decode_entry(
                *header, std::string_view(bytes).substr(at + header->encoded_size(), header->stored_size),
                pack);
            at += header->encoded_size() + header->stored_size;
        }
        i = j;
    }
}

std::string Store::read_entry(const Hash& id, EntryHeader& out) const {
    auto it = m_chunks.find(id);
    if (it == m_chunks.end()) {
        throw enmap::StoreError("chunk " + to_hex(id) + " is not in the store's index", k_verify_hint);
    }
    const Location& loc = it->second;
    std::string pack = "pack " + to_hex(m_packs[loc.pack]);
    std::size_t header_size = entry_header_size(loc.type);
    std::string bytes(header_size + loc.stored_size, '\0');
    if (pread_full(pack_fd(loc.pack), bytes.data(), bytes.size(), loc.offset) != bytes.size()) {
        throw enmap::StoreError("chunk " + to_hex(id) + " is cut off: " + pack + " is truncated",
                                k_verify_hint);
    }
    auto header = EntryHeader::decode(bytes);
    bool matches =
        header && header->stored_size == loc.stored_size &&
        (loc.type == EntryType::k_zstd_block ? header->type == EntryType::k_zstd_block : header->id == id);
    if (!matches) {
        throw enmap::StoreError("chunk " + to_hex(id) + ": " + pack + " holds a damaged entry at offset " +
                                    std::to_string(loc.offset),
                                k_verify_hint);
    }
    out = *header;
    return bytes;
}

std::vector<SnapshotInfo> Store::list(std::vector<std::string>* damaged) const {
    std::vector<SnapshotInfo> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(m_root / "snapshots", ec)) {
        std::string name = entry.path().filename().string();
        if (!is_hex_name(name)) {
            continue;
        }
        std::string bytes = read_small_file(entry.path());
        // A manifest is named by its SHA-256: one whose bytes changed is not the snapshot it names.
        std::string problem;
        auto manifest = nlohmann::json::parse(bytes, nullptr, false);
        if (to_hex(sha256(bytes)) != name) {
            problem = "manifest " + name + " does not match its SHA-256 (changed since it was written)";
        } else if (manifest.is_discarded() || !manifest.is_object()) {
            problem = "manifest " + name + " is not valid JSON";
        }
        if (!problem.empty()) {
            if (damaged == nullptr) {
                throw enmap::StoreError(problem, k_verify_hint);
            }
            damaged->push_back(problem);
            continue;
        }
        SnapshotInfo info;
        info.id = from_hex(name);
        try {
            info.time = manifest.value("time", "");
            info.label = manifest["label"].is_string() ? manifest["label"].get<std::string>() : "";
            info.kind = manifest.value("kind", "");
            info.source = manifest["source"].is_string() ? manifest["source"].get<std::string>()
                                                         : manifest["source"].dump();
            info.bytes_in = manifest.value("bytes_in", std::uint64_t{0});
        } catch (const nlohmann::json::exception& e) {
            problem = "manifest " + name + " is not a snapshot manifest (" + e.what() + ")";
            if (damaged == nullptr) {
                throw enmap::StoreError(problem, k_verify_hint);
            }
            damaged->push_back(problem);
            continue;
        }
        info.manifest = std::move(manifest);
        out.push_back(std::move(info));
    }
    std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
        return a.time != b.time ? a.time < b.time : a.id < b.id;
    });
    return out;
}

Hash Store::resolve(std::string_view ref) const {
    std::vector<std::string> damaged;
    auto all = list(&damaged);
    std::string hint = "run `enmap-migrate snapshot list` to see the snapshots in " + m_root.string();
    if (all.empty() && damaged.empty()) {
        throw enmap::StoreError("there are no snapshots in " + m_root.string(),
                                "create one with `enmap-migrate snapshot create`");
    }
    if (ref == "latest") {
        if (!damaged.empty()) {
            // The newest snapshot may be the damaged one: never pick an older one silently.
            throw enmap::StoreError("cannot tell which snapshot is the latest: " + damaged.front(),
                                    k_verify_hint);
        }
        return all.back().id;
    }
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (!it->label.empty() && it->label == ref) {
            return it->id;
        }
    }
    std::string lower(ref);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::vector<Hash> matches;
    for (const auto& info : all) {
        if (!lower.empty() && to_hex(info.id).rfind(lower, 0) == 0) {
            matches.push_back(info.id);
        }
    }
    if (matches.size() == 1) {
        return matches.front();
    }
    if (matches.size() > 1) {
        std::string names;
        for (const auto& id : matches) {
            names += (names.empty() ? "" : ", ") + to_hex(id).substr(0, 16);
        }
        throw enmap::UsageError(
            "snapshot reference '" + std::string(ref) + "' is ambiguous: it matches " + names,
            "give more digits of the id");
    }
    if (!damaged.empty()) {
        throw enmap::StoreError("no sound snapshot matches '" + std::string(ref) + "', and the store holds " +
                                    std::to_string(damaged.size()) +
                                    " damaged manifest(s): " + damaged.front(),
                                k_verify_hint);
    }
    throw enmap::StoreError(
        "no snapshot matches '" + std::string(ref) + "' (not an id, id prefix, label or latest)", hint);
}

nlohmann::json Store::read_manifest(const Hash& id) const {
    fs::path path = m_root / "snapshots" / to_hex(id);
    if (!fs::exists(path)) {
        throw enmap::StoreError("snapshot " + to_hex(id) + " is missing from " + m_root.string(),
                                "run `enmap-migrate snapshot list` to see the snapshots");
    }
    std::string bytes = read_small_file(path);
    if (sha256(bytes) != id) {
        throw enmap::StoreError("manifest of snapshot " + to_hex(id) + " does not match its SHA-256",
                                k_verify_hint);
    }
    auto manifest = nlohmann::json::parse(bytes, nullptr, false);
    if (manifest.is_discarded() || manifest.value("format", "") != k_manifest_format) {
        throw enmap::StoreError("manifest of snapshot " + to_hex(id) + " is not a " +
                                    std::string(k_manifest_format) + " manifest",
                                k_verify_hint);
    }
    return manifest;
}

Hash Store::write_manifest(const nlohmann::json& manifest) {
    return write_manifest_bytes(manifest.dump(1) + "\n");
}

Hash Store::write_manifest_bytes(std::string_view bytes) {
    Hash id = sha256(bytes);
    write_file_atomic(tmp_dir(), m_root / "snapshots" / to_hex(id), bytes);
    return id;
}

std::vector<Hash> Store::file_chunks(const nlohmann::json& file) const {
    std::vector<Hash> ids;
    for (const auto& list_id : file.at("content")) {
        std::string blob = read_chunk(from_hex(list_id.get<std::string>()));
        if (blob.size() % 32 != 0) {
            throw enmap::StoreError(
                "chunk list " + list_id.get<std::string>() + " has a size that is not a multiple of 32",
                k_verify_hint);
        }
        for (std::size_t at = 0; at < blob.size(); at += 32) {
            Hash id{};
            std::memcpy(id.data(), blob.data() + at, 32);
            ids.push_back(id);
        }
    }
    return ids;
}

std::vector<Hash> Store::needed_chunks(const nlohmann::json& manifest, bool bases) const {
    std::vector<Hash> out;
    for (const auto& file : manifest.at("files")) {
        for (const auto& list_id : file.at("content")) {
            Hash id = from_hex(list_id.get<std::string>());
            out.push_back(id);
            // A chunk list stored as a delta needs its bases too.
            for (std::size_t depth = 0; bases && depth <= k_max_delta_depth; ++depth) {
                auto it = m_chunks.find(id);
                if (it == m_chunks.end() || it->second.type != EntryType::k_zstd_delta) {
                    break;
                }
                id = it->second.base;
                out.push_back(id);
            }
        }
        auto ids = file_chunks(file);
        out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
}

// ---- PackWriter ----

struct PackWriter::OpenPack {
    AtomicFile file;
    Sha256 hash;
    std::vector<IndexFile::Entry> entries;
    explicit OpenPack(const fs::path& tmp) : file(tmp) {}
};

PackWriter::PackWriter(Store& store, bool skip_known, std::uint64_t pack_target)
    : m_store(store), m_skip_known(skip_known), m_pack_target(pack_target) {}

void PackWriter::reserve(std::size_t chunks) {
    m_added.reserve(m_added.size() + chunks);
    m_done.entries.reserve(m_done.entries.size() + chunks);
}

bool PackWriter::contains(const Hash& id) const {
    return (m_skip_known && m_store.has_chunk(id)) || m_added.count(id) != 0;
}

bool PackWriter::add(const EntryHeader& header, std::string_view payload) {
    if (header.type == EntryType::k_zstd_block) {
        std::vector<BlockMember> fresh;
        for (const auto& member : block_members(header, payload, "a new block")) {
            if (!contains(member.id)) {
                fresh.push_back(member);
            }
        }
        if (fresh.empty()) {
            return false;
        }
        write_entry(header, payload, fresh);
        return true;
    }
    if (contains(header.id)) {
        return false;
    }
    write_entry(header, payload, {});
    return true;
}

bool PackWriter::add_delta(std::string_view plain, const Hash& base, std::string_view base_plain, int level) {
    Hash id = sha256(plain);
    if (contains(id)) {
        return false;
    }
    std::string payload = compress_delta(plain, base_plain, level);
    EntryHeader header;
    header.type = EntryType::k_zstd_delta;
    header.plain_size = static_cast<std::uint32_t>(plain.size());
    header.stored_size = static_cast<std::uint32_t>(payload.size());
    header.id = id;
    header.base = base;
    write_entry(header, payload, {});
    return true;
}

void PackWriter::add_chunk(const Hash& id, std::string_view plain, int level) {
    if (contains(id)) {
        return;
    }
    m_pending.add(id, plain);
    m_pending_level = level;
    m_added.emplace(id, true);
    if (m_pending.full()) {
        flush_pending(level);
    }
}

void PackWriter::flush_pending(int level) {
    if (m_pending.empty()) {
        return;
    }
    auto [header, payload] = m_pending.finish(level);
    write_entry(header, payload, block_members(header, payload, "a new block"));
}

void PackWriter::write_entry(const EntryHeader& header, std::string_view payload,
                             const std::vector<BlockMember>& members) {
    if (!m_open) {
        m_open = std::make_unique<OpenPack>(m_store.tmp_dir());
        m_open->file.write(k_pack_magic);
        m_open->hash.update(k_pack_magic);
    }
    std::string bytes;
    bytes.reserve(header.encoded_size() + payload.size());
    header.encode(bytes);
    IndexFile::Entry entry;
    entry.id = header.id;
    entry.location.offset = static_cast<std::uint32_t>(m_open->file.size());
    entry.location.stored_size = header.stored_size;
    entry.location.plain_size = header.plain_size;
    entry.location.type = header.type;
    entry.location.base = header.base;
    bytes.append(payload);
    m_open->file.write(bytes);
    m_open->hash.update(bytes);
    if (header.type == EntryType::k_zstd_block) {
        entry.location.block_plain = header.plain_size;
        for (const auto& member : members) {
            entry.id = member.id;
            entry.location.plain_size = member.size;
            entry.location.inner_offset = member.offset;
            m_open->entries.push_back(entry);
            m_added.emplace(member.id, true);
        }
        m_chunks_added += members.size();
    } else {
        m_open->entries.push_back(entry);
        m_added.emplace(header.id, true);
        ++m_chunks_added;
    }
    m_bytes_stored += bytes.size();
    if (m_open->file.size() >= m_pack_target) {
        close_pack();
    }
}

bool PackWriter::add_plain(std::string_view plain, int level) {
    Hash id = sha256(plain);
    if (contains(id)) {
        return false;
    }
    std::string payload = compress_chunk(plain, level);
    EntryHeader header;
    header.plain_size = static_cast<std::uint32_t>(plain.size());
    header.stored_size = static_cast<std::uint32_t>(payload.size());
    header.id = id;
    return add(header, payload);
}

void PackWriter::close_pack() {
    if (!m_open) {
        return;
    }
    Hash pack = m_open->hash.finish();
    // fsync and rename on another thread, so the disk works while the next pack is compressed.
    wait_for_commits(1);
    auto number = static_cast<std::uint32_t>(m_done.packs.size());
    m_done.packs.push_back(pack);
    for (auto& entry : m_open->entries) {
        entry.location.pack = number;
        m_done.entries.push_back(entry);
    }
    std::shared_ptr<OpenPack> open(std::move(m_open));
    fs::path final_path = m_store.pack_path(pack);
    m_commits.push_back(
        std::async(std::launch::async, [open, final_path] { open->file.commit(final_path); }));
}

void PackWriter::wait_for_commits(std::size_t keep) {
    while (m_commits.size() > keep) {
        auto commit = std::move(m_commits.front());
        m_commits.pop_front();
        commit.get();
    }
}

PackWriter::~PackWriter() {
    for (auto& commit : m_commits) {
        if (commit.valid()) {
            commit.wait();
        }
    }
}

IndexFile PackWriter::flush() {
    flush_pending(m_pending_level);
    close_pack();
    wait_for_commits(0);
    return m_done;
}

void PackWriter::finish() {
    flush_pending(m_pending_level);
    close_pack();
    wait_for_commits(0);
    if (m_done.entries.empty()) {
        return;
    }
    fsync_dir(m_store.m_root / "data");
    std::string bytes = m_done.encode();
    Hash id = sha256(bytes);
    write_file_atomic(m_store.tmp_dir(), m_store.m_root / "index" / to_hex(id), bytes);
    m_store.add_index(m_done, id);
    m_done = IndexFile{};
}

}  // namespace snapshot
