#pragma once
// snapshot/: the content-addressed snapshot store. Chunks, packs, indexes and manifests are all
// named by the SHA-256 of their bytes; this header holds the hash type and the streaming hasher.

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

namespace snapshot {

/// A SHA-256 digest: the name of every object in the store.
using Hash = std::array<std::uint8_t, 32>;

/// Lowercase hex of a digest (64 characters).
std::string to_hex(const Hash& hash);
/// Parses 64 hex characters; throws InputError naming the text when it is not a digest.
Hash from_hex(std::string_view hex);
/// True when text is exactly 64 lowercase or uppercase hex digits.
bool is_hex_digest(std::string_view text);

/// Incremental SHA-256 over OpenSSL EVP.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    /// Adds bytes to the digest.
    void update(const void* data, std::size_t size);
    /// Adds bytes to the digest.
    void update(std::string_view data) { update(data.data(), data.size()); }
    /// Finishes and returns the digest; the object then starts over.
    Hash finish();

private:
    EVP_MD_CTX* m_ctx;
};

/// SHA-256 of one buffer.
Hash sha256(const void* data, std::size_t size);
/// SHA-256 of one buffer.
inline Hash sha256(std::string_view data) {
    return sha256(data.data(), data.size());
}

/// The SHA-256 of each of `count` buffers into `out`, two at a time (enmap::sha256_two: with the
/// CPU's SHA extensions ~1.65x as fast as one after the other).
void sha256_each(const std::string_view* pieces, std::size_t count, Hash* out);

/// Hash functor so digests can key unordered containers (the digest is already uniform).
struct HashHasher {
    std::size_t operator()(const Hash& hash) const noexcept {
        std::size_t value = 0;
        std::memcpy(&value, hash.data(), sizeof(value));
        return value;
    }
};

}  // namespace snapshot
