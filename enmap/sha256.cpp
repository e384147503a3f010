#include "enmap/sha256.hpp"

#include <cstdint>
#include <cstring>

#include "enmap/error.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace enmap {

const EVP_MD* sha256_md() {
    static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) {
        throw Error("OpenSSL has no SHA-256 implementation available");
    }
    return md;
}

void sha256_one(const void* data, std::size_t size, unsigned char* digest) {
    // One context per thread, reused: no allocation or algorithm lookup per call.
    struct Context {
        EVP_MD_CTX* ctx = EVP_MD_CTX_new();
        Context() = default;
        Context(const Context&) = delete;
        Context& operator=(const Context&) = delete;
        ~Context() { EVP_MD_CTX_free(ctx); }
    };
    thread_local Context context;
    unsigned int length = 0;
    if (context.ctx == nullptr || EVP_DigestInit_ex2(context.ctx, sha256_md(), nullptr) != 1 ||
        EVP_DigestUpdate(context.ctx, data, size) != 1 ||
        EVP_DigestFinal_ex(context.ctx, digest, &length) != 1) {
        throw Error("OpenSSL could not compute a SHA-256");
    }
}

namespace {

#if defined(__x86_64__)

// FIPS 180-4's round constants.
alignas(16) constexpr std::uint32_t k_round[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// The state of one message, as the SHA instructions want it: words A,B,E,F and C,D,G,H.
struct Lane {
    __m128i abef;
    __m128i cdgh;
};

// A message's blocks: its whole 64-byte blocks in place, then one or two blocks of padding.
struct Blocks {
    const unsigned char* data;
    std::size_t whole;  // whole blocks at `data`
    std::size_t count;  // whole + tail blocks
    alignas(16) unsigned char tail[128];

    Blocks(const void* message, std::size_t size)
        : data(static_cast<const unsigned char*>(message)), whole(size / 64) {
        const std::size_t rest = size % 64;
        const std::size_t tail_bytes = rest + 1 + 8 <= 64 ? 64 : 128;
        if (rest > 0) {
            std::memcpy(tail, data + whole * 64, rest);
        }
        tail[rest] = 0x80;
        std::memset(tail + rest + 1, 0, tail_bytes - rest - 1);
        const std::uint64_t bits = static_cast<std::uint64_t>(size) * 8;
        for (std::size_t i = 0; i < 8; ++i) {
            tail[tail_bytes - 1 - i] = static_cast<unsigned char>(bits >> (8 * i));
        }
        count = whole + tail_bytes / 64;
    }
    [[nodiscard]] const unsigned char* block(std::size_t i) const {
        return i < whole ? data + 64 * i : tail + 64 * (i - whole);
    }
};

__attribute__((target("sha,sse4.1,ssse3"))) Lane initial_lane() {
    alignas(16) constexpr std::uint32_t k_initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                                        0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    __m128i dcba = _mm_shuffle_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(&k_initial[0])), 0xB1);
    __m128i efgh = _mm_shuffle_epi32(_mm_load_si128(reinterpret_cast<const __m128i*>(&k_initial[4])), 0x1B);
    return {_mm_alignr_epi8(dcba, efgh, 8), _mm_blend_epi16(efgh, dcba, 0xF0)};
}

__attribute__((target("sha,sse4.1,ssse3"))) void lane_digest(const Lane& lane, unsigned char* digest) {
    __m128i feba = _mm_shuffle_epi32(lane.abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(lane.cdgh, 0xB1);
    // Words A..D and E..H, each written big-endian.
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(digest),
                     _mm_shuffle_epi8(_mm_blend_epi16(feba, dchg, 0xF0), byte_swap));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(digest + 16),
                     _mm_shuffle_epi8(_mm_alignr_epi8(dchg, feba, 8), byte_swap));
}

// One 64-byte block into each of `lanes` lanes (1 or 2), interleaved so that each lane's rounds
// run while the other's wait. Rounds go four at a time: W[t] for t >= 16 is
// sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16], which msg1 (the sigma0 part), an alignr
// (W[t-7..t-4]) and msg2 (the sigma1 part) build from the previous four groups of words.
template <int lanes>
__attribute__((target("sha,sse4.1,ssse3"))) void compress(Lane* state, const unsigned char* const* blocks) {
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef[lanes];
    __m128i cdgh[lanes];
    __m128i words[lanes][4];
    for (int l = 0; l < lanes; ++l) {
        abef[l] = state[l].abef;
        cdgh[l] = state[l].cdgh;
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; ++g) {
        const __m128i constants = _mm_load_si128(reinterpret_cast<const __m128i*>(&k_round[4 * g]));
#pragma GCC unroll 2
        for (int l = 0; l < lanes; ++l) {
            __m128i w;
            if (g < 4) {
                w = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blocks[l] + 16 * g)),
                                     byte_swap);
            } else {
                w = _mm_sha256msg1_epu32(words[l][g % 4], words[l][(g + 1) % 4]);
                w = _mm_add_epi32(w, _mm_alignr_epi8(words[l][(g + 3) % 4], words[l][(g + 2) % 4], 4));
                w = _mm_sha256msg2_epu32(w, words[l][(g + 3) % 4]);
            }
            words[l][g % 4] = w;
            __m128i k = _mm_add_epi32(w, constants);
            cdgh[l] = _mm_sha256rnds2_epu32(cdgh[l], abef[l], k);
            abef[l] = _mm_sha256rnds2_epu32(abef[l], cdgh[l], _mm_shuffle_epi32(k, 0x0E));
        }
    }
    for (int l = 0; l < lanes; ++l) {
        state[l].abef = _mm_add_epi32(state[l].abef, abef[l]);
        state[l].cdgh = _mm_add_epi32(state[l].cdgh, cdgh[l]);
    }
}

void accelerated_two(const void* a, std::size_t a_size, const void* b, std::size_t b_size,
                     unsigned char* a_digest, unsigned char* b_digest) {
    Blocks first(a, a_size);
    Blocks second(b, b_size);
    Lane lanes[2] = {initial_lane(), initial_lane()};
    const std::size_t both = first.count < second.count ? first.count : second.count;
    for (std::size_t i = 0; i < both; ++i) {
        const unsigned char* blocks[2] = {first.block(i), second.block(i)};
        compress<2>(lanes, blocks);
    }
    // The longer message's last blocks alone.
    const Blocks& longer = first.count > both ? first : second;
    Lane& lane = first.count > both ? lanes[0] : lanes[1];
    for (std::size_t i = both; i < longer.count; ++i) {
        const unsigned char* block = longer.block(i);
        compress<1>(&lane, &block);
    }
    lane_digest(lanes[0], a_digest);
    lane_digest(lanes[1], b_digest);
}

bool cpu_has_sha() {
    unsigned eax = 0;
    unsigned ebx = 0;
    unsigned ecx = 0;
    unsigned edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) {
        return false;
    }
    const bool ssse3 = (ecx & (1U << 9)) != 0;
    const bool sse41 = (ecx & (1U << 19)) != 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) {
        return false;
    }
    return ssse3 && sse41 && (ebx & (1U << 29)) != 0;
}

#endif

}  // namespace

bool sha256_two_accelerated() {
#if defined(__x86_64__)
    static const bool has_sha = cpu_has_sha();
    return has_sha;
#else
    return false;
#endif
}

void sha256_two_with(bool accelerated, const void* a, std::size_t a_size, const void* b, std::size_t b_size,
                     unsigned char* a_digest, unsigned char* b_digest) {
#if defined(__x86_64__)
    if (accelerated && sha256_two_accelerated()) {
        accelerated_two(a, a_size, b, b_size, a_digest, b_digest);
        return;
    }
#else
    (void)accelerated;
#endif
    sha256_one(a, a_size, a_digest);
    sha256_one(b, b_size, b_digest);
}

void sha256_two(const void* a, std::size_t a_size, const void* b, std::size_t b_size, unsigned char* a_digest,
                unsigned char* b_digest) {
    sha256_two_with(true, a, a_size, b, b_size, a_digest, b_digest);
}

}  // namespace enmap
