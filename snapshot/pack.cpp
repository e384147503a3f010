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
    if (type > 1 || bytes[1] != 0 || bytes[2] != 0 || bytes[3] != 0) {
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

std::string decode_entry(const EntryHeader& header, std::string_view payload, const std::string& where) {
    std::string chunk = to_hex(header.id);
    if (header.type != EntryType::k_zstd) {
        throw enmap::StoreError(
            "chunk " + chunk + " in " + where + " is stored as a delta, which this version cannot read",
            "use a newer enmap-migrate");
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
    if (sha256(plain) != header.id) {
        throw enmap::StoreError("chunk " + chunk + " in " + where + " does not match its SHA-256",
                                "run `enmap-migrate snapshot verify` to see which snapshots it affects");
    }
    return plain;
}

}  // namespace snapshot
