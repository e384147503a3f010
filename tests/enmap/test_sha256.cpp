// enmap::sha256_two: two messages hashed at once with the CPU's SHA extensions (or OpenSSL), checked
// against OpenSSL's one-at-a-time SHA-256 on every length around the block and padding boundaries.

#include "enmap/sha256.hpp"

#include <doctest/doctest.h>
#include <openssl/sha.h>

#include <random>
#include <string>

namespace {

std::string hex(const unsigned char* digest) {
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 32; ++i) {
        out += k_hex[digest[i] >> 4];
        out += k_hex[digest[i] & 0xF];
    }
    return out;
}

std::string openssl_hex(const std::string& message) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest);
    return hex(digest);
}

std::string random_bytes(std::mt19937_64& random, std::size_t size) {
    std::string out(size, '\0');
    for (auto& c : out) {
        c = static_cast<char>(random());
    }
    return out;
}

// Both ways of sha256_two give OpenSSL's digests of a and b.
void check_pair(const std::string& a, const std::string& b) {
    for (bool accelerated : {true, false}) {
        CAPTURE(accelerated);
        unsigned char da[32];
        unsigned char db[32];
        enmap::sha256_two_with(accelerated, a.data(), a.size(), b.data(), b.size(), da, db);
        CHECK(hex(da) == openssl_hex(a));
        CHECK(hex(db) == openssl_hex(b));
    }
}

}  // namespace

TEST_CASE("sha256_two: the FIPS 180-4 example and the empty message") {
    unsigned char da[32];
    unsigned char db[32];
    enmap::sha256_two("abc", 3, "", 0, da, db);
    CHECK(hex(da) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(hex(db) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    MESSAGE("the CPU's SHA extensions are " << (enmap::sha256_two_accelerated() ? "used" : "not available"));
}

TEST_CASE("sha256_two: equal and unequal lengths across the block and padding boundaries") {
    std::mt19937_64 random(20261124);
    for (std::size_t size = 0; size <= 300; ++size) {
        CAPTURE(size);
        check_pair(random_bytes(random, size), random_bytes(random, size));        // in lockstep to the end
        check_pair(random_bytes(random, size), random_bytes(random, 300 - size));  // one goes on alone
    }
    for (int i = 0; i < 200; ++i) {
        std::size_t a = random() % 10000;
        std::size_t b = random() % 10000;
        CAPTURE(a);
        CAPTURE(b);
        check_pair(random_bytes(random, a), random_bytes(random, b));
    }
    check_pair(random_bytes(random, 4096), random_bytes(random, 4096));  // two pages
    check_pair(random_bytes(random, 1 << 20), random_bytes(random, 65536));
}
