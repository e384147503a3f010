#include "snapshot/chunker.hpp"

#include <cstring>

#include "snapshot/fsutil.hpp"

namespace snapshot {

std::string ChunkLayout::describe() const {
    if (kind == "wal-frames") {
        return kind + ":" + std::to_string(size - 24);
    }
    return kind + ":" + std::to_string(size);
}

std::optional<ChunkLayout> parse_layout(std::string_view description) {
    auto colon = description.find(':');
    if (colon == std::string_view::npos) {
        return std::nullopt;
    }
    std::string_view kind = description.substr(0, colon);
    std::uint64_t number = 0;
    std::string_view digits = description.substr(colon + 1);
    if (digits.empty() || digits.size() > 9) {
        return std::nullopt;
    }
    for (char c : digits) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        number = number * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (number == 0) {
        return std::nullopt;
    }
    ChunkLayout layout;
    layout.kind = std::string(kind);
    if (kind == "sqlite-pages" || kind == "fixed") {
        layout.size = number;
    } else if (kind == "wal-frames") {
        layout.first = 32;
        layout.size = number + 24;
    } else {
        return std::nullopt;
    }
    return layout;
}

std::uint32_t sqlite_page_size(const unsigned char* header, std::size_t size) {
    static constexpr char k_magic[] = "SQLite format 3";
    if (size < 100 || std::memcmp(header, k_magic, sizeof(k_magic)) != 0) {
        return 0;
    }
    std::uint32_t page = (static_cast<std::uint32_t>(header[16]) << 8) | header[17];
    if (page == 1) {
        return 65536;
    }
    if (page < 512 || (page & (page - 1)) != 0) {
        return 0;
    }
    return page;
}

namespace {
std::uint32_t wal_page_size(const unsigned char* header, std::size_t size) {
    if (size < 32) {
        return 0;
    }
    std::uint32_t magic =
        (static_cast<std::uint32_t>(header[0]) << 24) | (header[1] << 16) | (header[2] << 8) | header[3];
    if (magic != 0x377f0682 && magic != 0x377f0683) {
        return 0;
    }
    std::uint32_t page =
        (static_cast<std::uint32_t>(header[8]) << 24) | (header[9] << 16) | (header[10] << 8) | header[11];
    if (page == 1) {
        return 65536;
    }
    if (page < 512 || page > 65536 || (page & (page - 1)) != 0) {
        return 0;
    }
    return page;
}
}  // namespace

ChunkLayout choose_layout(const std::filesystem::path& file) {
    unsigned char header[100] = {};
    Fd fd = open_read(file);
    std::size_t got = pread_full(fd.get(), header, sizeof(header), 0);
    if (std::uint32_t page = sqlite_page_size(header, got); page != 0) {
        return ChunkLayout{"sqlite-pages", 0, page};
    }
    if (std::uint32_t page = wal_page_size(header, got); page != 0) {
        return ChunkLayout{"wal-frames", 32, 24ULL + page};
    }
    return ChunkLayout{"fixed", 0, k_fixed_chunk};
}

}  // namespace snapshot
