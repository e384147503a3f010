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
