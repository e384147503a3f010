#include "replay/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace replay {

struct Digest::Impl {
    EVP_MD_CTX* ctx = nullptr;
    const EVP_MD* md = nullptr;
};

Digest::Digest(const char* algorithm) : m_impl(std::make_unique<Impl>()) {
    m_impl->md = EVP_get_digestbyname(algorithm);
    m_impl->ctx = EVP_MD_CTX_new();
    if (m_impl->md == nullptr || m_impl->ctx == nullptr ||
        EVP_DigestInit_ex(m_impl->ctx, m_impl->md, nullptr) != 1) {
        EVP_MD_CTX_free(m_impl->ctx);
        throw std::runtime_error(std::string("OpenSSL digest unavailable: ") + algorithm);
    }
}

Digest::~Digest() {
    EVP_MD_CTX_free(m_impl->ctx);
}

void Digest::update(std::string_view bytes) {
    EVP_DigestUpdate(m_impl->ctx, bytes.data(), bytes.size());
}

std::string Digest::hex_final() {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(m_impl->ctx, buf, &len);
    EVP_DigestInit_ex(m_impl->ctx, m_impl->md, nullptr);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(k_hex[buf[i] >> 4]);
        out.push_back(k_hex[buf[i] & 0xF]);
    }
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    Digest d("sha256");
    d.update(bytes);
    return d.hex_final();
}

}  // namespace replay
