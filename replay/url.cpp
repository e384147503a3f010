#include "replay/url.hpp"

#include <algorithm>
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

// The passwords a connection string carries, as written.
std::vector<std::string> passwords_of(std::string_view url) {
    std::vector<std::string> found;
    if (starts_with_scheme(url)) {
        std::size_t start = url.find("://") + 3;
        std::size_t end = url.find_first_of("/?", start);
        std::string_view authority =
            url.substr(start, end == std::string_view::npos ? url.npos : end - start);
        std::size_t at = authority.rfind('@');
        if (at != std::string_view::npos) {
            std::string_view userinfo = authority.substr(0, at);
            std::size_t colon = userinfo.find(':');
            if (colon != std::string_view::npos && colon + 1 < userinfo.size()) {
                found.emplace_back(userinfo.substr(colon + 1));
            }
        }
        std::size_t q = url.find('?');
        while (q != std::string_view::npos) {
            std::size_t key_start = q + 1;
            std::size_t amp = url.find('&', key_start);
            std::string_view pair =
                url.substr(key_start, amp == std::string_view::npos ? url.npos : amp - key_start);
            if (pair.starts_with("password=") && pair.size() > 9) {
                found.emplace_back(pair.substr(9));
            }
            q = amp;
        }
    } else {
        std::size_t pos = 0;
        while ((pos = url.find("password", pos)) != std::string_view::npos) {
            std::size_t p = pos + 8;
            while (p < url.size() && url[p] == ' ') {
                ++p;
            }
            if (p < url.size() && url[p] == '=') {
                ++p;
                while (p < url.size() && url[p] == ' ') {
                    ++p;
                }
                std::string value;
                if (p < url.size() && url[p] == '\'') {
                    ++p;
                    while (p < url.size() && url[p] != '\'') {
                        if (url[p] == '\\' && p + 1 < url.size()) {
                            ++p;
                        }
                        value.push_back(url[p]);
                        ++p;
                    }
                } else {
                    while (p < url.size() && url[p] != ' ') {
                        value.push_back(url[p]);
                        ++p;
                    }
                }
                if (!value.empty()) {
                    found.push_back(value);
                }
            }
            pos = p;
        }
    }
    std::vector<std::string> all = found;
    for (const auto& p : found) {
        std::string decoded = percent_decode(p);
        if (decoded != p) {
            all.push_back(decoded);
        }
    }
    return all;
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

}  // namespace

std::string redact_url(std::string_view url) {
    if (!starts_with_scheme(url)) {
        return redact_message(url, url);
    }
    // Structural: the userinfo password and any password= query parameter.
    std::string out;
    std::size_t start = url.find("://") + 3;
    std::size_t end = url.find_first_of("/?", start);
    std::size_t authority_end = end == std::string_view::npos ? url.size() : end;
    std::string_view authority = url.substr(start, authority_end - start);
    out.append(url.substr(0, start));
    std::size_t at = authority.rfind('@');
    std::size_t colon =
        at == std::string_view::npos ? std::string_view::npos : authority.substr(0, at).find(':');
    if (colon != std::string_view::npos) {
        out.append(authority.substr(0, colon + 1));
        out.append(k_mask);
        out.append(authority.substr(at));
    } else {
        out.append(authority);
    }
    std::string_view rest = url.substr(authority_end);
    std::size_t q = rest.find('?');
    out.append(rest.substr(0, q));
    if (q != std::string_view::npos) {
        std::string_view query = rest.substr(q + 1);
        out.push_back('?');
        bool first = true;
        while (true) {
            std::size_t amp = query.find('&');
            std::string_view pair = query.substr(0, amp);
            if (!first) {
                out.push_back('&');
            }
            first = false;
            if (pair.starts_with("password=")) {
                out.append("password=");
                out.append(k_mask);
            } else {
                out.append(pair);
            }
            if (amp == std::string_view::npos) {
                break;
            }
            query = query.substr(amp + 1);
        }
    }
    return out;
}

std::string redact_message(std::string_view message, std::string_view url) {
    std::string out(message);
    auto passwords = passwords_of(url);
    // Longest first, so that a password containing another is masked whole.
    std::sort(passwords.begin(), passwords.end(),
              [](const auto& a, const auto& b) { return a.size() > b.size(); });
    for (const auto& p : passwords) {
        replace_all(out, p, k_mask);
    }
    return out;
}

std::unique_ptr<pqxx::connection> connect(const std::string& url) {
    return open_session(url, connect_retry_from_env());
}

}  // namespace replay
