#pragma once
// SHA-256 for the hot paths. OpenSSL's SHA-256, fetched once: OpenSSL 3 looks an algorithm up
// (under a lock) every time EVP_sha256() is passed to an init call; with a fetched EVP_MD it does
// not, which makes hashing many small inputs (4 KiB pages, 400-byte rows) up to twice as fast on
// this machine. And two messages hashed at once: with the CPU's SHA extensions, one message's
// rounds wait on each other's results (latency, not throughput, bounds them), so two independent
// messages interleaved go ~1.65x as fast as one after the other (4 KiB pages: 2.87 GB/s against
// OpenSSL's 1.73 GB/s on this machine's AMD EPYC; docs/BENCHMARKS.md).

#include <openssl/evp.h>

#include <cstddef>

namespace enmap {

/// The SHA-256 implementation, fetched on first use; never freed. Throws Error when unavailable.
const EVP_MD* sha256_md();

/// The SHA-256 of `size` bytes at `data` into `digest` (32 bytes), with OpenSSL and a context
/// kept per thread. Throws Error when OpenSSL fails.
void sha256_one(const void* data, std::size_t size, unsigned char* digest);

/// The SHA-256 of `a` (`a_size` bytes) into `a_digest` and of `b` into `b_digest` (32 bytes each).
/// Uses the CPU's SHA extensions on two messages at once when it has them, else OpenSSL for each.
void sha256_two(const void* a, std::size_t a_size, const void* b, std::size_t b_size, unsigned char* a_digest,
                unsigned char* b_digest);

/// True when sha256_two uses the CPU's SHA extensions (x86-64 with SHA-NI).
bool sha256_two_accelerated();

/// For tests: sha256_two's way, forced to the CPU's SHA extensions (`accelerated`, only where
/// sha256_two_accelerated()) or to OpenSSL.
void sha256_two_with(bool accelerated, const void* a, std::size_t a_size, const void* b, std::size_t b_size,
                     unsigned char* a_digest, unsigned char* b_digest);

}  // namespace enmap
