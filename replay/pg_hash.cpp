#include "replay/pg_hash.hpp"

namespace replay {

namespace {

constexpr std::uint32_t rot(std::uint32_t x, int k) {
    return (x << k) | (x >> (32 - k));
}

void mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
    a -= c;
    a ^= rot(c, 4);
    c += b;
    b -= a;
    b ^= rot(a, 6);
    a += c;
    c -= b;
    c ^= rot(b, 8);
    b += a;
    a -= c;
    a ^= rot(c, 16);
    c += b;
    b -= a;
    b ^= rot(a, 19);
    a += c;
    c -= b;
    c ^= rot(b, 4);
    b += a;
}

void final_mix(std::uint32_t& a, std::uint32_t& b, std::uint32_t& c) {
    c ^= b;
    c -= rot(b, 14);
    a ^= c;
    a -= rot(c, 11);
    b ^= a;
    b -= rot(a, 25);
    c ^= b;
    c -= rot(b, 16);
    a ^= c;
    a -= rot(c, 4);
    b ^= a;
    b -= rot(a, 14);
    c ^= b;
    c -= rot(b, 24);
}

std::uint32_t word(const unsigned char* k) {
    return static_cast<std::uint32_t>(k[0]) | (static_cast<std::uint32_t>(k[1]) << 8) |
           (static_cast<std::uint32_t>(k[2]) << 16) | (static_cast<std::uint32_t>(k[3]) << 24);
}

}  // namespace

std::uint64_t pg_hash_text_extended(std::string_view bytes, std::uint64_t seed) {
    const auto* k = reinterpret_cast<const unsigned char*>(bytes.data());
    auto len = static_cast<std::uint32_t>(bytes.size());
    std::uint32_t a = 0x9e3779b9U + len + 3923095U;
    std::uint32_t b = a;
    std::uint32_t c = a;
    if (seed != 0) {
        a += static_cast<std::uint32_t>(seed >> 32);
        b += static_cast<std::uint32_t>(seed);
        mix(a, b, c);
    }
    while (len >= 12) {
        a += word(k);
        b += word(k + 4);
        c += word(k + 8);
        mix(a, b, c);
        k += 12;
        len -= 12;
    }
    // The last 11 bytes; the lowest byte of c is left for the length, as in PostgreSQL.
    switch (len) {
        case 11:
            c += static_cast<std::uint32_t>(k[10]) << 24;
            [[fallthrough]];
        case 10:
            c += static_cast<std::uint32_t>(k[9]) << 16;
            [[fallthrough]];
        case 9:
            c += static_cast<std::uint32_t>(k[8]) << 8;
            [[fallthrough]];
        case 8:
            b += static_cast<std::uint32_t>(k[7]) << 24;
            [[fallthrough]];
        case 7:
            b += static_cast<std::uint32_t>(k[6]) << 16;
            [[fallthrough]];
        case 6:
            b += static_cast<std::uint32_t>(k[5]) << 8;
            [[fallthrough]];
        case 5:
            b += k[4];
            [[fallthrough]];
        case 4:
            a += static_cast<std::uint32_t>(k[3]) << 24;
            [[fallthrough]];
        case 3:
            a += static_cast<std::uint32_t>(k[2]) << 16;
            [[fallthrough]];
        case 2:
            a += static_cast<std::uint32_t>(k[1]) << 8;
            [[fallthrough]];
        case 1:
            a += k[0];
            break;
        default:
            break;
    }
    final_mix(a, b, c);
    return (static_cast<std::uint64_t>(b) << 32) | c;
}

}  // namespace replay
