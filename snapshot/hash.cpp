#include "snapshot/hash.hpp"

#include <stdexcept>

#include "enmap/error.hpp"
#include "enmap/sha256.hpp"

namespace snapshot {

std::string to_hex(const Hash& hash) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out(hash.size() * 2, '0');
    for (std::size_t i = 0; i < hash.size(); ++i) {
        out[2 * i] = k_digits[hash[i] >> 4];
        out[2 * i + 1] = k_digits[hash[i] & 0xf];
    }
    return out;
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}
}  // namespace

bool is_hex_digest(std::string_view text) {
    if (text.size() != 64) {
        return false;
    }
    for (char c : text) {
        if (hex_value(c) < 0) {
            return false;
        }
    }
    return true;
}

Hash from_hex(std::string_view hex) {
    if (!is_hex_digest(hex)) {
        throw enmap::InputError("'" + std::string(hex) + "' is not a SHA-256 digest (64 hex digits)");
    }
    Hash hash{};
    for (std::size_t i = 0; i < hash.size(); ++i) {
        hash[i] = static_cast<std::uint8_t>(hex_value(hex[2 * i]) * 16 + hex_value(hex[2 * i + 1]));
    }
    return hash;
}

Sha256::Sha256() : m_ctx(EVP_MD_CTX_new()) {
    if (m_ctx == nullptr || EVP_DigestInit_ex2(m_ctx, enmap::sha256_md(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL could not set up SHA-256");
    }
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(m_ctx);
}

void Sha256::update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(m_ctx, data, size) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 update failed");
    }
}

Hash Sha256::finish() {
    Hash hash{};
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(m_ctx, hash.data(), &size) != 1 || size != hash.size() ||
        EVP_DigestInit_ex2(m_ctx, enmap::sha256_md(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 finish failed");
    }
    return hash;
}

Hash sha256(const void* data, std::size_t size) {
    Hash hash{};
    enmap::sha256_one(data, size, hash.data());
    return hash;
}

void sha256_each(const std::string_view* pieces, std::size_t count, Hash* out) {
    std::size_t i = 0;
    for (; i + 1 < count; i += 2) {
        enmap::sha256_two(pieces[i].data(), pieces[i].size(), pieces[i + 1].data(), pieces[i + 1].size(),
                          out[i].data(), out[i + 1].data());
    }
    if (i < count) {
        out[i] = sha256(pieces[i]);
    }
}

}  // namespace snapshot
