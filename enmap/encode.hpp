#pragma once
// A small model of JavaScript values and of how each Enmap generation writes them: the encoders
// (JSON.stringify, serialize-javascript, better-serialize) and the canonical JSON the contract
// expects, computed from the model alone. Tests check the decoder against it; the benchmark and
// the sample-data generator build their values with it.

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "enmap/decode.hpp"

namespace enmap {

/// A JavaScript value. Strings are UTF-16 (so NUL and lone surrogates can be modelled).
struct JsValue {
    struct Member;  // an object member: name and value
    struct Entry;   // a Map entry: key and value
    enum class Type {
        k_undefined,
        k_null,
        k_bool,
        k_number,
        k_string,
        k_bigint,
        k_date,
        k_regexp,
        k_url,
        k_array,
        k_object,
        k_map,
        k_set,
        k_function,
        k_hole,  // a missing element of a sparse array (only inside k_array)
    };
    Type type = Type::k_undefined;
    bool boolean = false;
    double number = 0;    // k_number; k_date: milliseconds since the epoch, NaN for an invalid Date
    std::u16string text;  // k_string; k_regexp: the source
    std::string ascii;  // k_bigint: decimal digits; k_regexp: flags; k_url: href; k_function: source (UTF-8)
    std::vector<JsValue> items;   // k_array, k_set
    std::vector<Member> members;  // k_object, in insertion order
    std::vector<Entry> entries;   // k_map

    static JsValue undefined();
    static JsValue null();
    static JsValue boolean_value(bool value);
    static JsValue num(double value);
    static JsValue str(std::u16string value);
    /// A string from UTF-8 text.
    static JsValue str(const std::string& utf8);
    static JsValue bigint(std::string digits);
    static JsValue date(double ms);
    static JsValue regexp(std::u16string source, std::string flags);
    static JsValue url(std::string href);
    static JsValue array(std::vector<JsValue> items);
    static JsValue hole();
    static JsValue object(std::vector<Member> members);
    static JsValue map(std::vector<Entry> entries);
    static JsValue set(std::vector<JsValue> items);
    static JsValue function(std::string source);
};

struct JsValue::Member {
    std::u16string name;
    JsValue value;
};

struct JsValue::Entry {
    JsValue key;
    JsValue value;
};

/// UTF-16 from UTF-8 (valid UTF-8 only).
std::u16string utf16(const std::string& utf8);

/// The value text the given Enmap generation stores for `value`; nullopt where Enmap stores SQL
/// NULL (JSON.stringify of undefined or of a function). Throws std::invalid_argument for values
/// that generation cannot store (a BigInt under JSON.stringify, a function under better-serialize).
std::optional<std::string> encode(const JsValue& value, Encoding encoding);

/// The value as the given encoding keeps it (JSON.stringify drops Maps, Sets, NaN; serialize-
/// javascript turns NaN and invalid Dates into null; better-serialize stores sparse holes as
/// undefined and Map keys raw), i.e. what Enmap's get() would return.
JsValue stored_view(const JsValue& value, Encoding encoding);

/// What decoding must produce for a value: canonical JSON text, lossy counts and violation paths.
struct Expected {
    std::string json;
    LossyCounts counts;
    std::vector<std::string> violation_paths;
};

/// The canonical JSON (docs/contract.md section 2) of `value` under the policies of `options`, computed
/// from the model alone (its own number, date and string formatting, not the decoder's).
Expected expected_canonical(const JsValue& value, const DecodeOptions& options);

/// A random value exercising every construct the encoding can store (for property tests).
JsValue random_value(std::mt19937_64& rng, Encoding encoding, int max_depth = 4);

/// A realistic Discord-bot value (guild settings, points, warnings, economy, giveaways...) of
/// roughly 250 bytes once encoded, with the types that generation keeps (Dates, Maps, Sets, BigInts).
JsValue bot_value(std::mt19937_64& rng, Encoding encoding);

/// The row of a points/levels enmap kept under the key `guild-user`, as a bot of that generation
/// keeps it: a 5.7-era bot stores plain fields and epoch numbers (~140 bytes of JSON); a 5.8+ bot
/// also keeps a Date, a Set of badges and a Set of reward roles (~350 bytes of better-serialize).
JsValue points_value(std::mt19937_64& rng, Encoding encoding, const std::string& guild,
                     const std::string& user);

}  // namespace enmap
