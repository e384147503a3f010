#include "snapshot/pack.hpp"

#include <zstd.h>

#include <cstring>

#include "enmap/error.hpp"

namespace snapshot {

namespace {
void put_u32(std::string& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    }
}

std::uint32_t get_u32(std::string_view bytes, std::size_t at) {
    std::uint32_t value = 0;
    for (int i = 3; i >= 0; --i) {
        value = (value << 8) | static_cast<std::uint8_t>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return value;
}

void put_hash(std::string& out, const Hash& hash) {
    out.append(reinterpret_cast<const char*>(hash.data()), hash.size());
}

Hash get_hash(std::string_view bytes, std::size_t at) {
    Hash hash{};
    std::memcpy(hash.data(), bytes.data() + at, hash.size());
    return hash;
}

struct ZstdContexts {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    std::string compressed;  // a block compresses here, then only its real size is copied out
    ZstdContexts() = default;
    ZstdContexts(const ZstdContexts&) = delete;
    ZstdContexts& operator=(const ZstdContexts&) = delete;
    ~ZstdContexts() {
        ZSTD_freeCCtx(cctx);
        ZSTD_freeDCtx(dctx);
    }
};

ZstdContexts& contexts() {
    thread_local ZstdContexts ctx;
    return ctx;
}
}  // namespace

void EntryHeader::encode(std::string& out) const {
    out.push_back(static_cast<char>(type));
    out.append(3, '\0');
    put_u32(out, plain_size);
    put_u32(out, stored_size);
    put_hash(out, id);
    if (type == EntryType::k_zstd_delta) {
        put_hash(out, base);
    }
}

std::optional<EntryHeader> EntryHeader::decode(std::string_view bytes) {
    if (bytes.size() < k_entry_header_min) {
        return std::nullopt;
    }
    auto type = static_cast<std::uint8_t>(bytes[0]);
    if (type > 2 || bytes[1] != 0 || bytes[2] != 0 || bytes[3] != 0) {
        return std::nullopt;
    }
    EntryHeader header;
    header.type = static_cast<EntryType>(type);
    header.plain_size = get_u32(bytes, 4);
    header.stored_size = get_u32(bytes, 8);
    header.id = get_hash(bytes, 12);
    if (header.type == EntryType::k_zstd_delta) {
        if (bytes.size() < 76) {
            return std::nullopt;
        }
        header.base = get_hash(bytes, 44);
    }
    return header;
}

std::string IndexFile::encode() const {
    std::string out(k_index_magic);
    put_u32(out, static_cast<std::uint32_t>(packs.size()));
    for (const auto& pack : packs) {
        put_hash(out, pack);
    }
    put_u32(out, static_cast<std::uint32_t>(entries.size()));
    for (const auto& entry : entries) {
        EntryHeader header;
        header.type = entry.location.type;
        header.plain_size = entry.location.plain_size;
        header.stored_size = entry.location.stored_size;
        header.id = entry.id;
        header.base = entry.location.base;
        put_u32(out, entry.location.pack);
        put_u32(out, entry.location.offset);
        header.encode(out);
        if (header.type == EntryType::k_zstd_block) {
            put_u32(out, entry.location.inner_offset);
            put_u32(out, entry.location.block_plain);
        }
    }
    return out;
}

IndexFile IndexFile::decode(std::string_view bytes, const std::string& name) {
    auto bad = [&](const std::string& why) {
        return enmap::StoreError("index file " + name + " is damaged: " + why,
                                 "run `enmap-migrate snapshot verify` to see what it affects");
    };
    if (bytes.size() < 16 || bytes.substr(0, 8) != k_index_magic) {
        throw bad("it does not start with " + std::string(k_index_magic));
    }
    IndexFile file;
    std::size_t at = 8;
    std::uint32_t pack_count = get_u32(bytes, at);
    at += 4;
    if (bytes.size() - at < static_cast<std::size_t>(pack_count) * 32 + 4) {
        throw bad("truncated pack list");
    }
    for (std::uint32_t i = 0; i < pack_count; ++i) {
        file.packs.push_back(get_hash(bytes, at));
        at += 32;
    }
    std::uint32_t entry_count = get_u32(bytes, at);
    at += 4;
    file.entries.reserve(entry_count);
    for (std::uint32_t i = 0; i < entry_count; ++i) {
        if (bytes.size() - at < 8 + k_entry_header_min) {
            throw bad("truncated entry " + std::to_string(i));
        }
        Entry entry;
        entry.location.pack = get_u32(bytes, at);
        entry.location.offset = get_u32(bytes, at + 4);
        at += 8;
        auto header = EntryHeader::decode(bytes.substr(at));
        if (!header || entry.location.pack >= pack_count) {
            throw bad("invalid entry " + std::to_string(i));
        }
        at += header->encoded_size();
        if (header->type == EntryType::k_zstd_block) {
            if (bytes.size() - at < 8) {
                throw bad("truncated entry " + std::to_string(i));
            }
            entry.location.inner_offset = get_u32(bytes, at);
            entry.location.block_plain = get_u32(bytes, at + 4);
            at += 8;
            if (static_cast<std::uint64_t>(entry.location.inner_offset) + header->plain_size >
                entry.location.block_plain) {
                throw bad("invalid entry " + std::to_string(i));
            }
        }
        entry.id = header->id;
        entry.location.type = header->type;
        entry.location.plain_size = header->plain_size;
        entry.location.stored_size = header->stored_size;
        entry.location.base = header->base;
        file.entries.push_back(entry);
    }
    if (at != bytes.size()) {
        throw bad("trailing bytes after the last entry");
    }
    return file;
}

std::string compress_chunk(std::string_view plain, int level) {
    std::string out(ZSTD_compressBound(plain.size()), '\0');
    std::size_t size =
        ZSTD_compressCCtx(contexts().cctx, out.data(), out.size(), plain.data(), plain.size(), level);
    if (ZSTD_isError(size) != 0) {
        throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
    }
    out.resize(size);
    return out;
}

void BlockBuilder::add(const Hash& id, std::string_view plain) {
    BlockMember member;
    member.id = id;
    member.size = static_cast<std::uint32_t>(plain.size());
    member.offset = static_cast<std::uint32_t>(m_plain.size());
    m_members.push_back(member);
    m_plain.append(plain);
}

std::pair<EntryHeader, std::string> BlockBuilder::finish(int level) {
    // Payload = member_count:u32, then per member id:32 size:u32, then one zstd frame.
    std::string payload;
    put_u32(payload, static_cast<std::uint32_t>(m_members.size()));
    for (const auto& member : m_members) {
        put_hash(payload, member.id);
        put_u32(payload, member.size);
    }
    EntryHeader header;
    header.type = EntryType::k_zstd_block;
    header.id = sha256(payload);
    header.plain_size = static_cast<std::uint32_t>(m_plain.size());
    // Into the thread's scratch buffer: sizing the payload for the worst case would zero-fill
    // (and often fault in) 64 KiB per block for the ~15 KiB a block of pages compresses to.
    ZstdContexts& zstd = contexts();
    zstd.compressed.resize(ZSTD_compressBound(m_plain.size()));
    std::size_t size = ZSTD_compressCCtx(zstd.cctx, zstd.compressed.data(), zstd.compressed.size(),
                                         m_plain.data(), m_plain.size(), level);
    if (ZSTD_isError(size) != 0) {
        throw std::runtime_error(std::string("zstd compression failed: ") + ZSTD_getErrorName(size));
    }
    payload.append(zstd.compressed.data(), size);
    header.stored_size = static_cast<std::uint32_t>(payload.size());
    m_members.clear();
    m_plain.clear();
    return {header, std::move(payload)};
}

namespace {
enmap::StoreError damaged_block(const EntryHeader& header, const std::string& where, const std::string& why) {
    return enmap::StoreError("block " + to_hex(header.id) + " in " + where + " " + why,
                             "run `enmap-migrate snapshot verify` to see which snapshots it affects");
}
}  // namespace

std::vector<BlockMember> block_members(const EntryHeader& header, std::string_view payload,
                                       const std::string& where) {
    std::vector<BlockMember> members;
    block_members(header, payload, where, members);
    return members;
}

void block_members(const EntryHeader& header, std::string_view payload, const std::string& where,
                   std::vector<BlockMember>& members) {
    if (payload.size() < 4) {
        throw damaged_block(header, where, "is cut off");
    }
    std::uint32_t count = get_u32(payload, 0);
    std::size_t table = 4 + static_cast<std::size_t>(count) * 36;
    if (count == 0 || payload.size() < table) {
        throw damaged_block(header, where, "has a damaged member table");
    }
    if (sha256(payload.substr(0, table)) != header.id) {
        throw damaged_block(header, where, "has a member table that does not match its SHA-256");
    }
    members.resize(count);
    std::uint64_t offset = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        members[i].id = get_hash(payload, 4 + 36 * static_cast<std::size_t>(i));
        members[i].size = get_u32(payload, 4 + 36 * static_cast<std::size_t>(i) + 32);
        members[i].offset = static_cast<std::uint32_t>(offset);
        offset += members[i].size;
    }
    if (offset != header.plain_size) {
        throw damaged_block(header, where, "has members that do not add up to its size");
    }
}

Block decode_block(const EntryHeader& header, std::string_view payload, const std::string& where,
                   bool check_members) {
    Block block;
    decode_block(header, payload, where, check_members, block);
    return block;
}

void decode_block(const EntryHeader& header, std::string_view payload, const std::string& where,
                  bool check_members, Block& block) {
    block_members(header, payload, where, block.members);
    std::string_view frame = payload.substr(4 + block.members.size() * 36);
    // A reused block of the same size (64 KiB, the usual) is overwritten in place: no allocation,
    // no zero-filling before zstd writes every byte.
    block.plain.resize(header.plain_size);
    std::size_t size = ZSTD_decompressDCtx(contexts().dctx, block.plain.data(), block.plain.size(),
                                           frame.data(), frame.size());
    if (ZSTD_isError(size) != 0 || size != header.plain_size) {
        throw damaged_block(header, where,
                            "does not decompress" +
                                (ZSTD_isError(size) != 0 ? std::string(": ") + ZSTD_getErrorName(size) : ""));
    }
    if (check_members) {
        for (const auto& member : block.members) {
            if (sha256(std::string_view(block.plain).substr(member.offset, member.size)) != member.id) {
                throw enmap::StoreError(
                    "chunk " + to_hex(member.id) + " in " + where + " does not match its SHA-256",
                    "run `enmap-migrate snapshot verify` to see which snapshots it affects");
            }
        }
    }
}

namespace {
// The last check of every decoded chunk: its SHA-256 is its id.
void check_plain(const EntryHeader& header, std::string_view plain, const std::string& where) {
    if (sha256(plain) != header.id) {
        throw enmap::StoreError("chunk " + to_hex(header.id) + " in " + where + " does not match its SHA-256",
                                "run `enmap-migrate snapshot verify` to see which snapshots it affects");
    }
}
}  // namespace

std::string compress_delta(std::string_view plain, std::string_view base, int level) {
    ZSTD_CCtx* cctx = contexts().cctx;
    std::string out(ZSTD_compressBound(plain.size()), '\0');
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    std::size_t size = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(size) == 0) {
        // The window must reach back over the whole base.
        int window_log = 10;
        while ((std::size_t{1} << window_log) < plain.size() + base.size() && window_log < 27) {
            ++window_log;
        }
        size = ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
    }
    if (ZSTD_isError(size) == 0) {
        size = ZSTD_CCtx_refPrefix(cctx, base.data(), base.size());
    }
    if (ZSTD_isError(size) == 0) {
        size = ZSTD_compress2(cctx, out.data(), out.size(), plain.data(), plain.size());
    }
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(size) != 0) {
        throw std::runtime_error(std::string("zstd delta compression failed: ") + ZSTD_getErrorName(size));
    }
    out.resize(size);
    return out;
}

std::string decode_delta(const EntryHeader& header, std::string_view payload, std::string_view base,
                         const std::string& where) {
    std::string chunk = to_hex(header.id);
    ZSTD_DCtx* dctx = contexts().dctx;
    std::string plain(header.plain_size, '\0');
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
    std::size_t size = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
    if (ZSTD_isError(size) == 0) {
        size = ZSTD_DCtx_refPrefix(dctx, base.data(), base.size());
    }
    if (ZSTD_isError(size) == 0) {
        size = ZSTD_decompressDCtx(dctx, plain.data(), plain.size(), payload.data(), payload.size());
    }
    ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(size) != 0 || size != header.plain_size) {
        throw enmap::StoreError(
            "chunk " + chunk + " in " + where + " does not decompress against its base " +
                to_hex(header.base) +
                (ZSTD_isError(size) != 0 ? std::string(": ") + ZSTD_getErrorName(size) : ""),
            "run `enmap-migrate snapshot verify` to see which snapshots it affects");
    }
    check_plain(header, plain, where);
    return plain;
}

std::string decode_entry(const EntryHeader& header, std::string_view payload, const std::string& where) {
    std::string chunk = to_hex(header.id);
    if (header.type == EntryType::k_zstd_block) {
        return decode_block(header, payload, where, true).plain;
    }
    if (header.type != EntryType::k_zstd) {
        throw enmap::StoreError(
            "chunk " + chunk + " in " + where + " is a delta, which is read through the store with its base",
            "this is a bug in enmap-migrate; please report it");
    }
    std::string plain(header.plain_size, '\0');
    std::size_t size =
        ZSTD_decompressDCtx(contexts().dctx, plain.data(), plain.size(), payload.data(), payload.size());
    if (ZSTD_isError(size) != 0 || size != header.plain_size) {
        throw enmap::StoreError(
            "chunk " + chunk + " in " + where + " does not decompress" +
                (ZSTD_isError(size) != 0 ? std::string(": ") + ZSTD_getErrorName(size) : ""),
            "run `enmap-migrate snapshot verify` to see which snapshots it affects");
    }
    check_plain(header, plain, where);
    return plain;
}

}  // namespace snapshot
