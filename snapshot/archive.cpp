// Store::archive and Store::import_archive: one self-contained, checksummed file holding
// snapshots and every chunk they need.

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstring>
#include <unordered_set>

#include "enmap/error.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/manifest_check.hpp"
#include "snapshot/pack_check.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace snapshot {

namespace {
constexpr std::string_view k_archive_magic = "EMSARCH1";
constexpr std::uint32_t k_max_record = 64U << 20;

void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
}

class ArchiveReader {
public:
    explicit ArchiveReader(const fs::path& path) : m_path(path), m_fd(open_read(path)) {}
    // Reads exactly n bytes into the running digest; throws InputError at the end of the file.
    std::string take(std::size_t n) {
        std::string out(n, '\0');
        if (pread_full(m_fd.get(), out.data(), n, m_offset) != n) {
            throw enmap::InputError(
                "archive " + m_path.string() + " is cut off at byte " + std::to_string(m_offset),
                "copy the archive again from where it was written");
        }
        m_offset += n;
        m_digest.update(out);
        return out;
    }
    std::uint32_t take_u32() {
        std::string bytes = take(4);
        std::uint32_t value = 0;
        for (int i = 3; i >= 0; --i) {
            value = (value << 8) | static_cast<std::uint8_t>(bytes[static_cast<std::size_t>(i)]);
        }
        return value;
    }
    Hash digest() { return m_digest.finish(); }
    std::string raw_rest() {
        std::string out(32, '\0');
        std::size_t got = pread_full(m_fd.get(), out.data(), 33, m_offset);
        out.resize(std::min<std::size_t>(got, 32));
        m_offset += got;
        m_extra = got > 32;
        return out;
    }
    [[nodiscard]] bool extra() const { return m_extra; }
    [[nodiscard]] std::uint64_t offset() const { return m_offset; }
    [[nodiscard]] const fs::path& path() const { return m_path; }

private:
    fs::path m_path;
    Fd m_fd;
    std::uint64_t m_offset = 0;
    Sha256 m_digest;
    bool m_extra = false;
};
}  // namespace

void Store::archive(const std::vector<Hash>& ids, const fs::path& out) const {
    fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
    // A killed archive leaves its temporary file, a copy of the data, beside the output.
    for (const auto& [path, size] : remove_stale_temp_files(dir)) {
        spdlog::warn("removed {} ({} bytes), the unfinished output of an archive that was killed",
                     path.string(), size);
    }
    AtomicFile file(dir);
    Sha256 digest;
    auto emit = [&](std::string_view bytes) {
        file.write(bytes);
        digest.update(bytes);
    };
    emit(k_archive_magic);
    std::vector<Hash> chunks;
    std::unordered_set<Hash, HashHasher> seen;
    for (const auto& id : ids) {
        std::string bytes = read_small_file(m_root / "snapshots" / to_hex(id));
        if (sha256(bytes) != id) {
            throw enmap::StoreError("manifest of snapshot " + to_hex(id) + " does not match its SHA-256",
                                    "run `enmap-migrate snapshot verify`");
        }
        std::string record = "M";
        put_u32(record, static_cast<std::uint32_t>(bytes.size()));
        emit(record);
        emit(bytes);
        for (const auto& chunk : needed_chunks(read_manifest(id), false)) {
            if (seen.insert(chunk).second) {
                chunks.push_back(chunk);
            }
        }
    }
    // Chunks stored alone are copied as they are; block members are gathered, in the order the
    // snapshots need them, into new blocks that hold only what the archive needs.
    BlockBuilder block;
    auto emit_block = [&] {
        auto [header, payload] = block.finish(k_default_compression);
        std::string bytes;
        header.encode(bytes);
        emit("C");
        emit(bytes);
        emit(payload);
    };
    for (const auto& chunk : chunks) {
        auto it = m_chunks.find(chunk);
        if (it != m_chunks.end() && it->second.type == EntryType::k_zstd_block) {
            block.add(chunk, read_chunk(chunk));
            if (block.full()) {
                emit_block();
            }
            continue;
        }
        if (it != m_chunks.end() && it->second.type == EntryType::k_zstd_delta) {
            // An archive holds whole chunks only, so that each record can be checked as it is read.
            std::string plain = read_chunk(chunk);
            std::string payload = compress_chunk(plain, k_default_compression);
            EntryHeader whole;
            whole.plain_size = static_cast<std::uint32_t>(plain.size());
            whole.stored_size = static_cast<std::uint32_t>(payload.size());
            whole.id = chunk;
            std::string bytes;
            whole.encode(bytes);
            emit("C");
            emit(bytes);
            emit(payload);
            continue;
        }
        EntryHeader header;
        std::string bytes = read_entry(chunk, header);
        decode_entry(header, std::string_view(bytes).substr(header.encoded_size()),
                     "pack " + to_hex(m_packs[m_chunks.at(chunk).pack]));
        emit("C");
        emit(bytes);
    }
    if (!block.empty()) {
        emit_block();
    }
    emit("E");
    Hash sum = digest.finish();
    file.write(sum.data(), sum.size());
    file.commit(fs::absolute(out));
}

std::vector<Hash> Store::import_archive(const fs::path& path) {
    ArchiveReader in(path);
    std::string name = path.string();
    if (in.take(k_archive_magic.size()) != k_archive_magic) {
        throw enmap::InputError(name + " is not an enmap-migrate snapshot archive",
                                "pass a file written by `enmap-migrate snapshot archive`");
    }
    // Chunks of lost packs are imported again: with any pack missing or cut short, the writer
    // stores every chunk of the archive instead of skipping those the index knows.
    bool packs_sound = PackCheck(*this).unsound_packs().empty();
    PackWriter writer(*this, packs_sound);
    std::vector<std::string> manifests;
    bool chunks_seen = false;
    for (;;) {
        std::uint64_t at = in.offset();
        char kind = in.take(1)[0];
        if (kind == 'M') {
            std::uint32_t size = in.take_u32();
            if (size > k_max_record) {
                throw enmap::InputError("archive " + name + " is damaged at byte " + std::to_string(at));
            }
            if (chunks_seen) {
                throw enmap::InputError(
                    "archive " + name + " has a manifest after its chunks at byte " + std::to_string(at),
                    "the archive is damaged; use another copy of it");
            }
            manifests.push_back(in.take(size));
            // Every manifest is checked before anything is written to the store.
            auto manifest = nlohmann::json::parse(manifests.back(), nullptr, false);
            if (manifest.is_discarded()) {
                throw enmap::InputError(
                    "archive " + name + ": manifest " + std::to_string(manifests.size()) + " is not JSON",
                    "the archive is damaged; use another copy of it");
            }
            check_manifest(manifest, "archive " + name + ": manifest " + std::to_string(manifests.size()));
        } else if (kind == 'C') {
            if (manifests.empty()) {
                throw enmap::InputError("archive " + name + " holds a chunk before any manifest",
                                        "the archive is damaged; use another copy of it");
            }
            chunks_seen = true;
            std::string bytes = in.take(k_entry_header_min);
            if (bytes[0] == static_cast<char>(EntryType::k_zstd_delta)) {
                bytes += in.take(32);
            }
            auto header = EntryHeader::decode(bytes);
            if (!header || header->stored_size > k_max_record || header->plain_size > k_max_record) {
                throw enmap::InputError("archive " + name + " has a damaged chunk header at byte " +
                                        std::to_string(at));
            }
            std::string payload = in.take(header->stored_size);
            try {
                decode_entry(*header, payload, "archive " + name);
            } catch (const enmap::StoreError& e) {
                throw enmap::InputError(std::string(e.what()) + " (at byte " + std::to_string(at) + ")",
                                        "the archive is damaged; use another copy of it");
            }
            writer.add(*header, payload);
        } else if (kind == 'E') {
            Hash sum = in.digest();
            std::string recorded = in.raw_rest();
            if (recorded.size() != 32 || std::memcmp(recorded.data(), sum.data(), 32) != 0 || in.extra()) {
                throw enmap::InputError("archive " + name + " does not match its checksum",
                                        "the archive is damaged; use another copy of it");
            }
            break;
        } else {
            throw enmap::InputError("archive " + name + " is damaged at byte " + std::to_string(at),
                                    "the archive is damaged; use another copy of it");
        }
    }
    writer.finish();
    std::vector<Hash> ids;
    for (const auto& bytes : manifests) {
        auto manifest = nlohmann::json::parse(bytes, nullptr, false);
        if (manifest.is_discarded() || manifest.value("format", "") != k_manifest_format) {
            throw enmap::InputError("archive " + name + " holds a manifest that is not a snapshot manifest");
        }
        for (const auto& chunk : needed_chunks(manifest)) {
            auto it = m_chunks.find(chunk);
            if (it == m_chunks.end() || !location_present(*this, it->second)) {
                throw enmap::InputError(
                    "archive " + name + " lacks chunk " + to_hex(chunk) + " of a snapshot it holds",
                    "write the archive again with `enmap-migrate snapshot archive`");
            }
        }
    }
    ids.reserve(manifests.size());
    for (const auto& bytes : manifests) {
        ids.push_back(write_manifest_bytes(bytes));
    }
    return ids;
}

}  // namespace snapshot
