#pragma once
// Shared helpers of the decoder tests: run one decode and keep everything it produced.

#include <string>
#include <string_view>
#include <vector>

#include "enmap/decode.hpp"

namespace decode_test {

/// Everything one decode_value call produced.
struct Decoded {
    std::string json;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
};

/// Options under the given policies.
inline enmap::DecodeOptions policies(enmap::InvalidTextPolicy text, enmap::FunctionPolicy functions) {
    enmap::DecodeOptions options;
    options.invalid_text = text;
    options.functions = functions;
    return options;
}

/// Decodes under `options`; throws what decode_value throws.
inline Decoded decode(std::string_view text, enmap::Encoding encoding, const enmap::DecodeOptions& options) {
    Decoded d;
    enmap::decode_value(text, encoding, options, d.json, d.violations, d.counts);
    return d;
}

/// Decodes under --invalid-text=replace --functions=drop (the fixtures' policies).
inline Decoded decode_lenient(std::string_view text, enmap::Encoding encoding) {
    return decode(text, encoding,
                  policies(enmap::InvalidTextPolicy::k_replace, enmap::FunctionPolicy::k_drop));
}

/// The canonical JSON under the lenient policies.
inline std::string canon(std::string_view text, enmap::Encoding encoding) {
    return decode_lenient(text, encoding).json;
}

}  // namespace decode_test
