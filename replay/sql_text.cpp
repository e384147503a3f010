#include "replay/sql_text.hpp"

#include <cctype>

namespace replay {

namespace {

bool only_comments(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ';') {
            ++i;
        } else if (s.substr(i, 2) == "--") {
            auto nl = s.find('\n', i);
            i = nl == std::string_view::npos ? s.size() : nl + 1;
        } else if (s.substr(i, 2) == "/*") {
            auto end = s.find("*/", i + 2);
            i = end == std::string_view::npos ? s.size() : end + 2;
        } else {
            return false;
        }
    }
    return true;
}

// Line of the first character that is not whitespace or comment, from `start`.
int first_code_line(std::string_view s, std::size_t start, int line) {
    std::size_t i = start;
    while (i < s.size()) {
        char c = s[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
        } else if (s.substr(i, 2) == "--") {
            auto nl = s.find('\n', i);
            i = nl == std::string_view::npos ? s.size() : nl;
        } else if (s.substr(i, 2) == "/*") {
            auto end = s.find("*/", i + 2);
            std::size_t stop = end == std::string_view::npos ? s.size() : end + 2;
            for (std::size_t k = i; k < stop; ++k) {
                line += s[k] == '\n' ? 1 : 0;
            }
            i = stop;
        } else {
            break;
        }
    }
    return line;
}

}  // namespace

std::vector<SqlStatement> split_sql(std::string_view text) {
    std::vector<SqlStatement> out;
    std::size_t start = 0;
    int start_line = 1;
    int line = 1;
    std::size_t i = 0;
    auto flush = [&](std::size_t end) {
        std::string_view piece = text.substr(start, end - start);
        if (!only_comments(piece)) {
            out.push_back({std::string(piece), first_code_line(text, start, start_line)});
        }
    };
    while (i < text.size()) {
        char c = text[i];
        if (c == '\n') {
            ++line;
            ++i;
        } else if (c == '\'' || c == '"') {
            ++i;
            while (i < text.size()) {
                if (text[i] == '\n') {
                    ++line;
                }
                if (text[i] == c) {
                    if (i + 1 < text.size() && text[i + 1] == c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                ++i;
            }
            ++i;
        } else if (c == '-' && i + 1 < text.size() && text[i + 1] == '-') {
            auto nl = text.find('\n', i);
            i = nl == std::string_view::npos ? text.size() : nl;
        } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            auto end = text.find("*/", i + 2);
            std::size_t stop = end == std::string_view::npos ? text.size() : end + 2;
            for (std::size_t k = i; k < stop; ++k) {
                line += text[k] == '\n' ? 1 : 0;
            }
            i = stop;
        } else if (c == '$') {
            std::size_t j = i + 1;
            while (j < text.size() && (std::isalnum(static_cast<unsigned char>(text[j])) || text[j] == '_')) {
                ++j;
            }
            if (j < text.size() && text[j] == '$') {
                std::string_view tag = text.substr(i, j - i + 1);
                auto end = text.find(tag, j + 1);
                std::size_t stop = end == std::string_view::npos ? text.size() : end + tag.size();
                for (std::size_t k = i; k < stop; ++k) {
                    line += text[k] == '\n' ? 1 : 0;
                }
                i = stop;
            } else {
                i = j;
            }
        } else if (c == ';') {
            flush(i);
            ++i;
            start = i;
            start_line = line;
        } else {
            ++i;
        }
    }
    flush(text.size());
    return out;
}

}  // namespace replay
