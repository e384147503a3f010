#pragma once
// JavaScript's Number#toString for finite doubles, as JSON.stringify writes numbers.

#include <string>

namespace enmap {

/// Appends `value` formatted exactly as JavaScript's Number#toString does (shortest round-trip
/// digits, exponent form below 1e-6 and from 1e21 on). The value must be finite; -0 prints "0".
void append_js_number(double value, std::string& out);

}  // namespace enmap
