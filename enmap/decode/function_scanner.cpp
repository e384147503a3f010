#include "enmap/decode/function_scanner.hpp"

#include <algorithm>
#include <iterator>

#include "enmap/decode.hpp"
#include "enmap/decode/sink.hpp"

namespace enmap::decode {

void FunctionScanner::fail(const std::string& message) const {
    throw DecodeError(message, static_cast<std::size_t>(m_p - m_begin));
}

void FunctionScanner::fail_at(const std::string& message, const char* where) const {
    throw DecodeError(message, static_cast<std::size_t>(where - m_begin));
}

void FunctionScanner::fail_expected(const char* what) const {
    if (m_p >= m_end) {
        fail(std::string("truncated value: expected ") + what);
    }
    fail(std::string("expected ") + what);
}

void FunctionScanner::skip_js_ws() {
    while (m_p < m_end) {
        const char c = *m_p;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            ++m_p;
        } else if (c == '/' && m_p + 1 < m_end && (m_p[1] == '/' || m_p[1] == '*')) {
            skip_comment();
        } else {
            break;
        }
    }
}

void FunctionScanner::skip_comment() {
    if (m_p[1] == '/') {
        while (m_p < m_end && *m_p != '\n') {
            ++m_p;
        }
        return;
    }
    const char* s = m_p;
    m_p += 2;
    while (m_p + 1 < m_end && !(m_p[0] == '*' && m_p[1] == '/')) {
        ++m_p;
    }
    if (m_p + 1 >= m_end) {
        fail_at("truncated value: unterminated comment in function source", s);
    }
    m_p += 2;
}

/// Finds the end of function source text at m_p: function/async/generator functions, arrow
/// functions, method shorthand and classes. Leaves m_p after it and returns that position.
const char* FunctionScanner::scan(const char* start) {
    m_p = start;
    std::size_t words = 0;
    bool is_class = false;
    bool is_function = false;
    std::string_view last_word;
    for (;;) {
        skip_js_ws();
        if (m_p < m_end && is_ident_start(static_cast<unsigned char>(*m_p))) {
            const char* w = m_p;
            while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
                ++m_p;
            }
            last_word = std::string_view(w, static_cast<std::size_t>(m_p - w));
            if (words == 0 && last_word == "class") {
                is_class = true;
                break;
            }
            is_function = is_function || last_word == "function";
            ++words;
        } else if (m_p < m_end && *m_p == '*') {
            ++m_p;
            ++words;
        } else {
            break;
        }
        if (words > 4) {
            fail_at("unexpected text where a value was expected", start);
        }
    }
    if (is_class) {
        for (;;) {
            skip_js_ws();
            if (m_p >= m_end) {
                fail_at("truncated value: unterminated class source", start);
            }
            if (*m_p == '{') {
                break;
            }
            if (*m_p == '(' || *m_p == '[') {
                scan_js(false);
            } else if (is_ident_char(static_cast<unsigned char>(*m_p)) || *m_p == '.') {
                ++m_p;
            } else {
                fail("unexpected character in class source");
            }
        }
        scan_js(false);
        return m_p;
    }
    if (m_p >= m_end) {
        fail_at(words == 0 ? "truncated value: expected a value"
                           : "truncated value: unterminated function source",
                words == 0 ? m_p : start);
    }
    if (*m_p == '(') {
        scan_js(false);
        skip_js_ws();
        if (!is_function && m_p + 1 < m_end && m_p[0] == '=' && m_p[1] == '>') {
            m_p += 2;
            return arrow_body();
        }
        if (words >= 1 && m_p < m_end && *m_p == '{') {
            scan_js(false);
            return m_p;
        }
        fail_expected(words >= 1 ? "'{' or '=>' after the function's parameters"
                                 : "'=>' after the parameters");
    }
    if (words >= 1 && !is_function && m_p + 1 < m_end && m_p[0] == '=' && m_p[1] == '>') {
        m_p += 2;
        return arrow_body();
    }
    fail_at(words == 0 ? "unexpected character where a value was expected"
                       : "unexpected word '" + std::string(last_word) + "' where a value was expected",
            start);
}

const char* FunctionScanner::arrow_body() {
    skip_js_ws();
    if (m_p < m_end && *m_p == '{') {
        scan_js(false);
        return m_p;
    }
    const char* body = m_p;
    scan_js(true);
    const char* end = m_p;
    while (end > body && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\r' || end[-1] == '\t')) {
        --end;
    }
    if (end == body) {
        fail_expected("an arrow function body");
    }
    return end;
}

/// Skips JavaScript tokens respecting strings, template literals, comments, regular expression
/// literals and nested brackets. Balanced mode (expression=false): m_p is at an opening bracket;
/// stops after its match. Expression mode: stops before a ',', ')', ']' or '}' at depth 0.
void FunctionScanner::scan_js(bool expression) {
    std::vector<char>& stack = m_stack;
    stack.clear();
    bool regex_ok = true;
    while (m_p < m_end) {
        const char c = *m_p;
        if (stack.empty() && expression && (c == ',' || c == ')' || c == ']' || c == '}')) {
            return;
        }
        switch (c) {
            case ' ':
            case '\n':
            case '\r':
            case '\t':
                ++m_p;
                continue;
            case '/':
                if (m_p + 1 < m_end && (m_p[1] == '/' || m_p[1] == '*')) {
                    skip_comment();
                    continue;
                }
                if (regex_ok) {
                    skip_regex();
                    regex_ok = false;
                } else {
                    ++m_p;
                    regex_ok = true;
                }
                continue;
            case '"':
            case '\'':
                skip_quoted(c);
                regex_ok = false;
                continue;
            case '`':
                ++m_p;
                if (template_part()) {
                    push_bracket('t');
                }
                regex_ok = false;
                continue;
            case '(':
                push_bracket(')');
                ++m_p;
                regex_ok = true;
                continue;
            case '[':
                push_bracket(']');
                ++m_p;
                regex_ok = true;
                continue;
            case '{':
                push_bracket('}');
                ++m_p;
                regex_ok = true;
                continue;
            case ')':
            case ']':
            case '}': {
                if (stack.empty()) {
                    fail("unbalanced bracket in function source");
                }
                const char top = stack.back();
                stack.pop_back();
                ++m_p;
                if (top == 't' && c == '}') {
                    if (template_part()) {
                        push_bracket('t');
                    }
                    regex_ok = false;
                } else if (top != c) {
                    --m_p;
                    fail("mismatched bracket in function source");
                } else {
                    regex_ok = c == '}';
                }
                if (!expression && stack.empty()) {
                    return;
                }
                continue;
            }
            default:
                break;
        }
        if (is_ident_char(static_cast<unsigned char>(c))) {
            const char* w = m_p;
            while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
                ++m_p;
            }
            static constexpr std::string_view k_keywords[] = {
                "return", "typeof", "instanceof", "in", "of",   "new",   "delete",
                "void",   "throw",  "case",       "do", "else", "yield", "await"};
            const std::string_view word(w, static_cast<std::size_t>(m_p - w));
            regex_ok = std::find(std::begin(k_keywords), std::end(k_keywords), word) != std::end(k_keywords);
            continue;
        }
        ++m_p;
        regex_ok = true;
    }
    if (!(expression && stack.empty())) {
        fail("truncated value: unterminated function source");
    }
}

void FunctionScanner::push_bracket(char closer) {
    if (m_stack.size() >= m_max_depth) {
        fail("brackets in function source nested deeper than " + std::to_string(m_max_depth));
    }
    m_stack.push_back(closer);
}

void FunctionScanner::skip_quoted(char quote) {
    const char* s = m_p;
    ++m_p;
    while (m_p < m_end && *m_p != quote) {
        m_p += (*m_p == '\\') ? 2 : 1;
    }
    if (m_p >= m_end) {
        fail_at("truncated value: unterminated string in function source", s);
    }
    ++m_p;
}

/// Scans a template literal's text from after '`' or '}'; true when it stopped at "${".
bool FunctionScanner::template_part() {
    const char* s = m_p;
    while (m_p < m_end) {
        if (*m_p == '\\') {
            m_p += 2;
        } else if (*m_p == '`') {
            ++m_p;
            return false;
        } else if (*m_p == '$' && m_p + 1 < m_end && m_p[1] == '{') {
            m_p += 2;
            return true;
        } else {
            ++m_p;
        }
    }
    fail_at("truncated value: unterminated template literal in function source", s);
}

void FunctionScanner::skip_regex() {
    const char* s = m_p;
    ++m_p;
    bool in_class = false;
    while (m_p < m_end) {
        const char c = *m_p;
        if (c == '\\') {
            m_p += 2;
            continue;
        }
        if (c == '\n') {
            break;
        }
        ++m_p;
        if (c == '[') {
            in_class = true;
        } else if (c == ']') {
            in_class = false;
        } else if (c == '/' && !in_class) {
            while (m_p < m_end && is_ident_char(static_cast<unsigned char>(*m_p))) {
                ++m_p;
            }
            return;
        }
    }
    fail_at("unterminated regular expression in function source", s);
}

std::size_t function_source_length(std::string_view text, std::size_t max_depth) {
    std::vector<char> stack;
    FunctionScanner scanner(text.data(), text.data() + text.size(), max_depth, stack);
    return static_cast<std::size_t>(scanner.scan(text.data()) - text.data());
}

}  // namespace enmap::decode
