#pragma once
// JavaScript's Number#toString for finite doubles, as JSON.stringify writes numbers.

#include <string>

namespace enmap {

/// Appends `value` formatted exactly as JavaScript's Number#toString does (shortest round-trip
/// digits, exponent form below 1e-6 and from 1e21 on). The value must be finite; -0 prints "0".
void append_js_number(double value, std::string& out);

/// Room format_js_number may need.
inline constexpr std::size_t k_js_number_max = 32;
/// Writes append_js_number's text into `buffer` (at least k_js_number_max bytes); returns its length.
std::size_t format_js_number(double value, char* buffer);

}  // namespace enmap
