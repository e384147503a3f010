#pragma once
// replay/ JSON text helpers: a validating scanner for the JSON lines replay reads, and the exact
// text PostgreSQL prints for a jsonb value, so validation compares canonical forms byte for byte.

#include <cstddef>
#include <string>
#include <string_view>

namespace replay {

/// What a scan of one JSON value found that jsonb would reject (docs/contract.md, text policy).
struct JsonTextIssues {
    bool nul = false;                 // a \u0000 escape
    bool unpaired_surrogate = false;  // a \ud800-\udfff escape without its pair
};

/// Scans one JSON value starting at `pos` (leading whitespace allowed), validating its syntax and
/// UTF-8, and returns the offset just past it. Throws enmap::InputError naming the byte offset.
std::size_t scan_json_value(std::string_view text, std::size_t pos, JsonTextIssues& issues);

/// Decodes the JSON string token at `pos` (which must be '"') into UTF-8 and returns the offset
/// past it. NUL and unpaired surrogates become U+FFFD and are flagged. Throws enmap::InputError.
std::size_t decode_json_string(std::string_view text, std::size_t pos, std::string& out,
                               JsonTextIssues& issues);

/// The text PostgreSQL's jsonb output gives for this JSON: object keys sorted by length then
/// bytes, the last of duplicate keys kept, ", " and ": " separators, numbers as numeric prints
/// them (1e21 -> 1000000000000000000000, 1.50 stays 1.50). Throws enmap::InputError.
std::string jsonb_text(std::string_view json);

/// jsonb_text appended to `out`. Throws enmap::InputError.
void append_jsonb_text(std::string& out, std::string_view json);

}  // namespace replay
