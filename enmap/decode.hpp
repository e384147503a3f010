#pragma once
// enmap/ decoding: turns one stored Enmap value text, in any of its three encodings, into the
// canonical JSON text of docs/contract.md section 2. A hand-written streaming transcoder:
// it never evaluates JavaScript and builds no DOM on the hot path.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "enmap/error.hpp"

namespace enmap {

/// The three value encodings of Enmap's generations.
enum class Encoding {
    k_json,                  // Enmap 4.0-5.7: JSON.stringify
    k_serialize_javascript,  // Enmap 5.8-5.9: serialize-javascript (JSON plus JS constructors)
    k_better_serialize,      // Enmap 6.x: {"t":T,"v":V} type-tagged JSON
};

/// "json", "serialize-javascript", "better-serialize".
std::string_view encoding_name(Encoding encoding);
/// Parses an encoding name as encoding_name() prints it; throws UsageError naming the choices.
Encoding parse_encoding(std::string_view name);

/// --invalid-text: NUL, unpaired surrogates and invalid UTF-8, in values and keys.
enum class InvalidTextPolicy { k_error, k_replace };
/// --functions: JavaScript function source inside a 5.8-5.9 value.
enum class FunctionPolicy { k_error, k_drop, k_source };

struct DecodeOptions {
    InvalidTextPolicy invalid_text = InvalidTextPolicy::k_error;
    FunctionPolicy functions = FunctionPolicy::k_error;
    std::size_t max_depth = 10000;                         // deeper nesting is malformed input, not a crash
    std::size_t max_sparse_length = std::size_t{1} << 24;  // longest serialize-javascript sparse array
};

/// Lossy-but-standard conversions, counted per table and reported.
struct LossyCounts {
    std::uint64_t non_finite = 0;         // NaN, Infinity, -Infinity -> null
    std::uint64_t negative_zero = 0;      // -0 -> 0
    std::uint64_t undefined_dropped = 0;  // undefined members omitted, undefined elements -> null
    std::uint64_t sparse_holes = 0;       // holes of sparse arrays -> null
    std::uint64_t invalid_dates = 0;      // new Date(NaN) -> null
    std::uint64_t text_replaced = 0;      // code units replaced by U+FFFD under --invalid-text=replace
    std::uint64_t functions_dropped = 0;  // functions omitted under --functions=drop
    std::uint64_t functions_kept = 0;     // functions kept as source text under --functions=source
    LossyCounts& operator+=(const LossyCounts& other);
    [[nodiscard]] bool any() const;
};

/// A policy violation found while decoding, at a JSON path such as `$.tags[2]`.
struct Violation {
    enum class Kind { k_invalid_text, k_function };
    Kind kind;
    std::string path;    // JSON path inside the value; "$" for the whole value
    std::string detail;  // e.g. "NUL byte in string", "unpaired surrogate \\ud83d"
};

/// Malformed value text: carries the byte offset into the value where decoding failed.
class DecodeError : public InputError {
public:
    DecodeError(const std::string& message, std::size_t offset)
        : InputError(message + " at byte " + std::to_string(offset)), m_offset(offset) {}
    [[nodiscard]] std::size_t offset() const { return m_offset; }

private:
    std::size_t m_offset;
};

/// Detects the encoding of one value text. A 6.x envelope is recognised only when every level is
/// correctly tagged; plain JSON detects as k_json; JS constructors as k_serialize_javascript.
Encoding detect_encoding(std::string_view text);

/// Detects the encoding of one value text and decodes it in the same pass (at most two passes for
/// text that starts like a 6.x envelope but is not one). Returns the detected encoding; throws
/// DecodeError when the text is malformed in every encoding.
Encoding decode_value_detect(std::string_view text, const DecodeOptions& options, std::string& out,
                             std::vector<Violation>& violations, LossyCounts& counts);

/// Decodes one value text in the given encoding and appends its canonical JSON to `out`.
/// Policy violations are appended to `violations` (decoding goes on, so every one is gathered);
/// lossy conversions are added to `counts`. Throws DecodeError on malformed text.
void decode_value(std::string_view text, Encoding encoding, const DecodeOptions& options, std::string& out,
                  std::vector<Violation>& violations, LossyCounts& counts);

/// Like decode_value, but the value may be followed by more text (as inside an export() file):
/// decodes the one value at the start of `text` and returns the number of bytes it took.
std::size_t decode_value_prefix(std::string_view text, Encoding encoding, const DecodeOptions& options,
                                std::string& out, std::vector<Violation>& violations, LossyCounts& counts);

/// Applies the text policy to a key (keys are strings): appends the valid UTF-8 key to `out`.
/// Records a violation at path "key" under k_error.
void decode_key(std::string_view key, const DecodeOptions& options, std::string& out,
                std::vector<Violation>& violations, LossyCounts& counts);

}  // namespace enmap
