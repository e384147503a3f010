#pragma once
// enmap/decode/ function scanner: finds where a JavaScript function's source text ends inside a
// serialize-javascript value (function, async and generator functions, arrow functions, method
// shorthand and classes). It never evaluates the source: it skips tokens, respecting strings,
// template literals, comments, regular expression literals and nested brackets.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace enmap::decode {

class FunctionScanner {
public:
    /// Scans inside [begin, end); error offsets count from `begin`. Brackets nested deeper than
    /// `max_depth` are an error. `stack` is scratch space, reused between scans.
    FunctionScanner(const char* begin, const char* end, std::size_t max_depth, std::vector<char>& stack)
        : m_begin(begin), m_p(begin), m_end(end), m_max_depth(max_depth), m_stack(stack) {}

    /// Finds the end of the function source that starts at `start`. Returns the end of the source
    /// (an arrow function's expression body without its trailing whitespace); position() is then
    /// where the caller's grammar goes on. Throws DecodeError when no function source starts there.
    const char* scan(const char* start);
    [[nodiscard]] const char* position() const { return m_p; }

private:
    [[noreturn]] void fail(const std::string& message) const;
    [[noreturn]] void fail_at(const std::string& message, const char* where) const;
    [[noreturn]] void fail_expected(const char* what) const;
    void skip_js_ws();
    void skip_comment();
    const char* arrow_body();
    void scan_js(bool expression);
    void push_bracket(char closer);
    void skip_quoted(char quote);
    bool template_part();
    void skip_regex();

    const char* m_begin;
    const char* m_p;
    const char* m_end;
    std::size_t m_max_depth;
    std::vector<char>& m_stack;
};

/// The length of the function source at the start of `text` (see FunctionScanner::scan).
std::size_t function_source_length(std::string_view text, std::size_t max_depth = 10000);

}  // namespace enmap::decode
