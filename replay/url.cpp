#include "replay/url.hpp"

#include "replay/database_url.hpp"

#include <libpq-fe.h>
#include <spdlog/spdlog.h>
#include <algorithm>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <pqxx/except>
#include <vector>

#include "enmap/error.hpp"
#include "replay/session.hpp"

namespace replay {

namespace {

constexpr std::string_view k_mask = "***";

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int hi = hex_digit(s[i + 1]);
            int lo = hex_digit(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

bool starts_with_scheme(std::string_view url) {
    return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

// What libpq's PQconninfoParse makes of a connection string.
struct Parsed {
    bool ok = false;
    std::vector<std::pair<std::string, std::string>> options;  // keyword, value (given ones only)
    std::vector<std::string> secret_keys;                      // keywords whose dispchar is '*'
    [[nodiscard]] bool secret(std::string_view key) const {
        return std::find(secret_keys.begin(), secret_keys.end(), key) != secret_keys.end();
    }
    [[nodiscard]] std::vector<std::string> secrets() const {
        std::vector<std::string> out;
        for (const auto& [k, v] : options) {
            if (secret(k) && !v.empty()) {
                out.push_back(v);
            }
        }
        return out;
    }
};

Parsed parse(std::string_view text) {
    Parsed p;
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(std::string(text).c_str(), &error);
    if (error != nullptr) {
        PQfreemem(error);
    }
    if (options == nullptr) {
        return p;
    }
    p.ok = true;
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
        if (o->dispchar != nullptr && std::string_view(o->dispchar) == "*") {
            p.secret_keys.emplace_back(o->keyword);
        }
        if (o->val != nullptr) {
            p.options.emplace_back(o->keyword, o->val);
        }
    }
    PQconninfoFree(options);
    return p;
}

// A span of the text to mask.
struct Span {
    std::size_t start;
    std::size_t size;
};

// The end of the part of a URI that libpq reads as [userinfo@]hosts: it looks for '@' or '/' only.
std::size_t userinfo_end(std::string_view url) {
    std::size_t start = url.find("://") + 3;
    std::size_t p = url.find_first_of("@/", start);
    return p == std::string_view::npos ? url.size() : p;
}

// True when a URI has an '@' where libpq does not read user info: an '@' or '/' in the password
// that was not percent-encoded. libpq would then take pieces of the password for the host, port
// or database name, and echo them in its errors.
bool misplaced_at(std::string_view url) {
    std::size_t end = userinfo_end(url);
    std::size_t query = url.find('?', end);
    std::size_t from = end < url.size() && url[end] == '@' ? end + 1 : end;
    std::size_t at = url.find('@', from);
    return at != std::string_view::npos && (query == std::string_view::npos || at < query);
}

// The spans of the text that libpq reads as secret option values, found the way libpq reads them.
std::vector<Span> secret_spans(std::string_view text, const Parsed& parsed) {
    std::vector<Span> spans;
    if (starts_with_scheme(text)) {
        std::size_t start = text.find("://") + 3;
        std::size_t end = userinfo_end(text);
        if (end < text.size() && text[end] == '@') {
            std::size_t colon = text.substr(start, end - start).find(':');
            if (colon != std::string_view::npos) {
                spans.push_back({start + colon + 1, end - (start + colon + 1)});
            }
        }
        std::size_t q = text.find('?', end);
        while (q != std::string_view::npos) {
            std::size_t key = q + 1;
            std::size_t amp = text.find('&', key);
            std::size_t stop = amp == std::string_view::npos ? text.size() : amp;
            std::size_t eq = text.find('=', key);
            if (eq != std::string_view::npos && eq < stop &&
                parsed.secret(percent_decode(text.substr(key, eq - key)))) {
                spans.push_back({eq + 1, stop - eq - 1});
            }
            q = amp;
        }
        return spans;
    }
    // keyword = value pairs; values may be 'quoted' with backslash escapes.
    std::size_t i = 0;
    auto space = [&](std::size_t k) {
        return k < text.size() && std::isspace(static_cast<unsigned char>(text[k]));
    };
    while (i < text.size()) {
        while (space(i)) {
            ++i;
        }
        std::size_t key = i;
        while (i < text.size() && text[i] != '=' && !space(i)) {
            ++i;
        }
        std::string keyword(text.substr(key, i - key));
        while (space(i)) {
            ++i;
        }
        if (i >= text.size() || text[i] != '=') {
            break;
        }
        ++i;
        while (space(i)) {
            ++i;
        }
        std::size_t value = i;
        bool quoted = i < text.size() && text[i] == '\'';
        if (quoted) {
            ++i;
            ++value;
            while (i < text.size() && text[i] != '\'') {
                i += text[i] == '\\' ? 2 : 1;
            }
        } else {
            while (i < text.size() && !space(i)) {
                i += text[i] == '\\' ? 2 : 1;
            }
        }
        i = std::min(i, text.size());
        if (parsed.secret(keyword) && i > value) {
            spans.push_back({value, i - value});
        }
        if (quoted && i < text.size()) {
            ++i;
        }
    }
    return spans;
}

std::string mask_spans(std::string_view text, std::vector<Span> spans) {
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.start > b.start; });
    std::string out(text);
    for (const auto& s : spans) {
        out.replace(s.start, s.size, k_mask);
    }
    return out;
}

// Every option libpq read, in keyword=value form, secrets masked: shown when the text itself can't be.
std::string rebuilt(const Parsed& parsed) {
    std::string out;
    for (const auto& [k, v] : parsed.options) {
        std::string value = parsed.secret(k) ? std::string(k_mask) : v;
        std::string quoted;
        for (char c : value) {
            if (c == '\'' || c == '\\') {
                quoted.push_back('\\');
            }
            quoted.push_back(c);
        }
        out += (out.empty() ? "" : " ") + k + "='" + quoted + "'";
    }
    return out;
}

bool shows_any(std::string_view text, const std::vector<std::string>& secrets) {
    std::string decoded = percent_decode(text);
    for (const auto& s : secrets) {
        if (text.find(s) != std::string_view::npos || decoded.find(s) != std::string::npos) {
            return true;
        }
    }
    return false;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
    if (what.empty()) {
        return;
    }
    std::size_t pos = 0;
    while ((pos = s.find(what, pos)) != std::string::npos) {
        s.replace(pos, what.size(), with);
        pos += with.size();
    }
}

constexpr std::string_view k_unparsed = "(a connection string libpq cannot parse; not shown)";
constexpr std::string_view k_misplaced =
    "(a URL with an '@' or '/' in its user info that is not percent-encoded; not shown)";

}  // namespace

std::string redact_url(std::string_view url) {
    Parsed parsed = parse(url);
    if (!parsed.ok) {
        return std::string(k_unparsed);
    }
    if (starts_with_scheme(url) && misplaced_at(url)) {
        return std::string(k_misplaced);
    }
    std::string out = mask_spans(url, secret_spans(url, parsed));
    // Check the result the way libpq reads it: no secret left, in any spelling.
    Parsed again = parse(out);
    bool sound = again.ok && !shows_any(out, parsed.secrets());
    for (const auto& [k, v] : again.options) {
        sound = sound && (!again.secret(k) || v == k_mask);
    }
    return sound ? out : rebuilt(parsed);
}

SplitConninfo split_password(std::string_view url) {
    Parsed parsed = parse(url);
    if (!parsed.ok) {
        throw enmap::UsageError("libpq cannot parse the connection string " + redact_url(url),
                                "give a postgresql:// URL or a keyword=value conninfo string");
    }
    SplitConninfo out;
    Parsed kept;
    kept.ok = true;
    for (const auto& [k, v] : parsed.options) {
        if (!parsed.secret(k)) {
            kept.options.emplace_back(k, v);
        } else if (k == "password") {
            out.password = v;
        }
    }
    out.conninfo = rebuilt(kept);
    return out;
}

std::string redact_message(std::string_view message, std::string_view url) {
    std::string out(message);
    Parsed parsed = parse(url);
    std::vector<std::string> masks;
    if (!parsed.ok || (starts_with_scheme(url) && misplaced_at(url))) {
        // Nothing of it can be told apart: mask the whole text and every piece libpq read.
        masks.emplace_back(url);
        if (starts_with_scheme(url)) {
            std::size_t start = url.find("://") + 3;
            std::size_t query = url.find('?', start);
            std::string_view authority =
                url.substr(start, query == std::string_view::npos ? url.npos : query - start);
            std::string_view userinfo = authority.substr(
                0, authority.rfind('@') == std::string_view::npos ? authority.size() : authority.rfind('@'));
            masks.emplace_back(userinfo);
            // And each piece of it, as libpq may echo one (a host name "cret@db", a port "se").
            std::size_t piece = 0;
            while (piece < userinfo.size()) {
                std::size_t stop = userinfo.find_first_of(":/@", piece);
                stop = stop == std::string_view::npos ? userinfo.size() : stop;
                if (stop - piece >= 3) {
                    masks.emplace_back(userinfo.substr(piece, stop - piece));
                }
                piece = stop + 1;
            }
        }
        for (const auto& [k, v] : parsed.options) {
            if (v.size() >= 3) {
                masks.push_back(v);
            }
        }
    } else {
        replace_all(out, url, redact_url(url));
        for (const auto& span : secret_spans(url, parsed)) {
            masks.emplace_back(url.substr(span.start, span.size));
        }
    }
    for (const auto& s : parsed.secrets()) {
        masks.push_back(s);
    }
    std::vector<std::string> decoded;
    decoded.reserve(masks.size());
    for (const auto& m : masks) {
        decoded.push_back(percent_decode(m));
    }
    masks.insert(masks.end(), decoded.begin(), decoded.end());
    // Longest first, so that a password containing another is masked whole.
    std::sort(masks.begin(), masks.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& m : masks) {
        if (m != k_mask) {
            replace_all(out, m, k_mask);
        }
    }
    return out;
}

std::string read_database_file(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::string line;
    if (!in || !std::getline(in, line)) {
        throw enmap::InputError("--database-file " + file + ": cannot read the file, or it is empty",
                                "write the PostgreSQL URL on its first line");
    }
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
        line.pop_back();
    }
    if (line.empty()) {
        throw enmap::InputError("--database-file " + file + ": the first line is empty",
                                "write the PostgreSQL URL on its first line");
    }
    std::error_code ec;
    auto perms = std::filesystem::status(file, ec).permissions();
    if (!ec && (perms & (std::filesystem::perms::group_read | std::filesystem::perms::others_read)) !=
                   std::filesystem::perms::none) {
        spdlog::warn("--database-file {}: other users may read it (chmod 600 {})", file, file);
    }
    return line;
}

bool has_password(std::string_view url) {
    Parsed parsed = parse(url);
    return !parsed.ok || !parsed.secrets().empty() || (starts_with_scheme(url) && misplaced_at(url));
}

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
    if (starts_with_scheme(url) && misplaced_at(url)) {
        throw enmap::UsageError(
            "the database URL has an '@' or '/' in its user info that is not percent-encoded: "
            "libpq would read part of the password as the host or database",
            "percent-encode them in the user name and password ('@' is %40, '/' is %2F)");
    }
    return open_session(url, connect_retry_from_env());
}

}  // namespace replay
