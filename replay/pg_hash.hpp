#pragma once
// replay/ PostgreSQL's hash_bytes_extended (src/common/hashfn.c, Bob Jenkins' lookup3), so the
// client computes exactly what the server's hashtextextended(text, seed) returns.

#include <cstdint>
#include <string_view>

namespace replay {

/// hashtextextended(text, seed) of PostgreSQL 11+ for a deterministic collation, as a bit pattern.
std::uint64_t pg_hash_text_extended(std::string_view bytes, std::uint64_t seed = 0);

}  // namespace replay
