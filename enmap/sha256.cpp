#include "enmap/sha256.hpp"

#include "enmap/error.hpp"

namespace enmap {

const EVP_MD* sha256_md() {
    static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (md == nullptr) {
        throw Error("OpenSSL has no SHA-256 implementation available");
    }
    return md;
}

}  // namespace enmap
