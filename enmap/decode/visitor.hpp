#pragma once
// enmap/decode/ typed events: what a decode saw, with the JavaScript type of every value. The
// canonical JSON of a value loses types (a Date becomes a string, a Map an object, a Set an
// array); a ValueVisitor given to enmap::decode_value_visit() (below) learns them.
//
// Events come in source order, as a depth-first walk of the value:
// - object: begin_object(), then per member key() followed by the member's value, end_object();
// - array: begin_array(), its elements, end_array(); a Set: begin_set(), elements, end_set();
// - Map: begin_map(), then per entry the key's value and the entry's value, end_map();
// - a serialize-javascript sparse array: begin_array(), its present members in source order
//   (members that are not array indices, which JSON.stringify ignores, included), then one hole()
//   per missing index, end_array().
// Text arguments are valid only during the call. Strings, keys, URLs and RegExp parts are given as
// canonical JSON string contents (escaped as JSON.stringify escapes, without the quotes, after the
// --invalid-text policy); numbers as JavaScript's Number#toString text.

#include <string>
#include <string_view>
#include <vector>

#include "enmap/decode.hpp"

namespace enmap {

/// What a number event carries: an integer (Number.isInteger), another finite number, or one of
/// the non-finite values (canonical JSON writes those as null).
enum class NumberKind { k_integer, k_float, k_nan, k_infinity, k_negative_infinity };

/// The consumer of typed decode events. Every method has an empty default, so a consumer
/// overrides only what it needs. Called through a virtual call per event: the canonical JSON
/// path does not go through this class (see enmap/decode/parser.hpp).
class ValueVisitor {
public:
    virtual ~ValueVisitor() = default;
    virtual void begin_object() {}
    /// A member name, as JSON string contents.
    virtual void key(std::string_view /*escaped*/) {}
    virtual void end_object() {}
    virtual void begin_array() {}
    virtual void end_array() {}
    /// A missing index of a sparse array (canonical JSON: null).
    virtual void hole() {}
    virtual void string(std::string_view /*escaped*/) {}
    /// `text` is Number#toString's text for finite numbers ("-0" is given as "0" with
    /// negative_zero set), empty for NaN and the infinities.
    virtual void number(NumberKind /*kind*/, std::string_view /*text*/, bool /*negative_zero*/) {}
    virtual void boolean(bool /*value*/) {}
    virtual void null() {}
    /// A Date as toISOString writes it; an empty `iso` is an invalid Date (new Date(NaN)).
    virtual void date(std::string_view /*iso*/) {}
    /// A BigInt's decimal digits, with a leading '-' when negative, no leading zeros.
    virtual void bigint(std::string_view /*digits*/) {}
    virtual void begin_map() {}
    virtual void end_map() {}
    virtual void begin_set() {}
    virtual void end_set() {}
    virtual void regexp(std::string_view /*source*/, std::string_view /*flags*/) {}
    /// A URL's href.
    virtual void url(std::string_view /*escaped*/) {}
    /// A function's source text, raw, whatever the --functions policy does with it.
    virtual void function(std::string_view /*source*/) {}
    virtual void undefined() {}
};

/// Like decode_value, and `visitor` receives the typed events of the value: what its JavaScript
/// types were before canonical JSON merged them (a Date, a BigInt, a Map, a Set, a RegExp, a URL,
/// undefined, a hole, a function). The visitor sees only a decode that succeeds: on malformed text
/// this throws DecodeError before the first event. Slower than decode_value (it decodes twice, the
/// second time with a virtual call per event).
void decode_value_visit(std::string_view text, Encoding encoding, const DecodeOptions& options,
                        ValueVisitor& visitor, std::string& out, std::vector<Violation>& violations,
                        LossyCounts& counts);

}  // namespace enmap
