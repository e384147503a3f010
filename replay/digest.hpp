#pragma once
// replay/ digests: SHA-256 for plan, source and Drizzle file digests.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace replay {

/// An incremental message digest (OpenSSL EVP), printed as lowercase hex.
class Digest {
public:
    /// "sha256" or "md5"; throws std::runtime_error when OpenSSL lacks it.
    explicit Digest(const char* algorithm = "sha256");
    ~Digest();
    Digest(const Digest&) = delete;
    Digest& operator=(const Digest&) = delete;
    /// Adds bytes.
    void update(std::string_view bytes);
    /// The digest of everything added so far, as lowercase hex; starts over afterwards.
    std::string hex_final();

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

/// Lowercase hex SHA-256 of the bytes.
std::string sha256_hex(std::string_view bytes);

}  // namespace replay
