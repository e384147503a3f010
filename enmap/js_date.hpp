#pragma once
// JavaScript Date strings: parsing the ECMAScript date-time string format and writing
// Date#toISOString, for the Dates of serialize-javascript and better-serialize.

#include <cstdint>
#include <string>
#include <string_view>

namespace enmap {

/// Largest absolute time value of a JavaScript Date, in milliseconds since the epoch.
inline constexpr std::int64_t k_max_date_ms = 8640000000000000;

/// Parses the ECMAScript date-time string format (`YYYY[-MM[-DD]][THH:mm[:ss[.sss]]][Z|+HH:mm]`,
/// extended years `+YYYYYY`). A form without an offset is read as UTC. Returns false when the
/// text is not a valid date in range (JavaScript's Invalid Date).
bool parse_js_date(std::string_view text, std::int64_t& ms);

/// Appends Date#toISOString of `ms` (which must be within +-k_max_date_ms), e.g. 2024-02-29T23:59:59.999Z.
void append_iso_date(std::int64_t ms, std::string& out);

/// Room format_iso_date may need.
inline constexpr std::size_t k_iso_date_max = 32;
/// Writes append_iso_date's text into `buffer` (at least k_iso_date_max bytes); returns its length.
std::size_t format_iso_date(std::int64_t ms, char* buffer);

/// True when `text` is already exactly what toISOString writes (a fast path for the common case).
bool is_canonical_iso_date(std::string_view text);

}  // namespace enmap
