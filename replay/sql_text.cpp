#include "replay/sql_text.hpp"

#include <algorithm>
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

// True when the quote at `i` opens an E'...' string, in which a backslash escapes the next character.
bool escape_string(std::string_view s, std::size_t i) {
    if (i == 0 || (s[i - 1] != 'E' && s[i - 1] != 'e')) {
        return false;
    }
    return i == 1 ||
           !(std::isalnum(static_cast<unsigned char>(s[i - 2])) || s[i - 2] == '_' || s[i - 2] == '$');
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
            bool backslash = c == '\'' && escape_string(text, i);
            ++i;
            while (i < text.size()) {
                if (text[i] == '\n') {
                    ++line;
                }
                if (backslash && text[i] == '\\' && i + 1 < text.size()) {
                    line += text[i + 1] == '\n' ? 1 : 0;
                    i += 2;
                    continue;
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

std::vector<std::string> sql_keywords(std::string_view s) {
    std::vector<std::string> words;
    std::size_t i = 0;
    auto word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    while (i < s.size()) {
        char c = s[i];
        if (c == '\'' || c == '"') {
            bool backslash = c == '\'' && escape_string(s, i);
            ++i;
            while (i < s.size()) {
                if (backslash && s[i] == '\\' && i + 1 < s.size()) {
                    i += 2;
                    continue;
                }
                if (s[i] == c) {
                    if (i + 1 < s.size() && s[i + 1] == c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                ++i;
            }
            ++i;
        } else if (s.substr(i, 2) == "--") {
            auto nl = s.find('\n', i);
            i = nl == std::string_view::npos ? s.size() : nl;
        } else if (s.substr(i, 2) == "/*") {
            auto end = s.find("*/", i + 2);
            i = end == std::string_view::npos ? s.size() : end + 2;
        } else if (c == '$') {
            std::size_t j = i + 1;
            while (j < s.size() && word_char(s[j])) {
                ++j;
            }
            if (j < s.size() && s[j] == '$') {
                auto end = s.find(s.substr(i, j - i + 1), j + 1);
                i = end == std::string_view::npos ? s.size() : end + (j - i + 1);
            } else {
                i = j;
            }
        } else if (word_char(c)) {
            std::size_t j = i;
            while (j < s.size() && (word_char(s[j]) || s[j] == '$')) {
                ++j;
            }
            std::string w(s.substr(i, j - i));
            std::transform(w.begin(), w.end(), w.begin(),
                           [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
            words.push_back(std::move(w));
            i = j;
        } else {
            ++i;
        }
    }
    return words;
}

std::string transaction_control(std::string_view statement) {
    auto w = sql_keywords(statement);
    if (w.empty()) {
        return {};
    }
    auto at = [&](std::size_t i) -> std::string { return i < w.size() ? w[i] : std::string(); };
    auto has = [&](const char* word) { return std::find(w.begin(), w.end(), word) != w.end(); };
    const std::string& first = w[0];
    if (first == "BEGIN" || first == "END" || first == "ABORT" || first == "SAVEPOINT" ||
        first == "RELEASE" || first == "VACUUM") {
        return first;
    }
    if (first == "COMMIT" || first == "ROLLBACK") {
        return at(1) == "PREPARED" ? first + " PREPARED" : first;
    }
    if ((first == "START" || first == "PREPARE") && at(1) == "TRANSACTION") {
        return first + " TRANSACTION";
    }
    if (first == "REINDEX" && has("CONCURRENTLY")) {
        return "REINDEX CONCURRENTLY";
    }
    if (first == "CREATE" || first == "DROP") {
        std::size_t i = 1;
        if (first == "CREATE" && at(i) == "UNIQUE") {
            ++i;
        }
        if (at(i) == "INDEX" && at(i + 1) == "CONCURRENTLY") {
            return first + " INDEX CONCURRENTLY";
        }
        if (at(1) == "DATABASE" || at(1) == "TABLESPACE" || at(1) == "SUBSCRIPTION") {
            return first + " " + at(1);
        }
    }
    if (first == "ALTER") {
        if (at(1) == "SYSTEM" || at(1) == "SUBSCRIPTION") {
            return "ALTER " + at(1);
        }
        if (at(1) == "DATABASE" && has("TABLESPACE")) {
            return "ALTER DATABASE ... SET TABLESPACE";
        }
        auto detach = std::find(w.begin(), w.end(), "DETACH");
        if (at(1) == "TABLE" && detach != w.end() && std::find(detach, w.end(), "CONCURRENTLY") != w.end()) {
            return "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY";
        }
    }
    if (first == "DISCARD" && at(1) == "ALL") {
        return "DISCARD ALL";
    }
    return {};
}

}  // namespace replay
