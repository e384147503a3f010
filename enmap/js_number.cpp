#include "enmap/js_number.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace enmap {

void append_js_number(double value, std::string& out) {
    char buffer[k_js_number_max];
    out.append(buffer, format_js_number(value, buffer));
}

namespace {

/// A tiny appender over a fixed buffer, so the layout code reads like string appends.
struct Buffer {
    char* p;
    void operator+=(char c) { *p++ = c; }
    void operator+=(const char* s) {
        while (*s != '\0') {
            *p++ = *s++;
        }
    }
    void append(const char* s, std::size_t n) {
        std::memcpy(p, s, n);
        p += n;
    }
    void append(std::size_t n, char c) {
        std::memset(p, c, n);
        p += n;
    }
};

}  // namespace

std::size_t format_js_number(double value, char* buffer) {
    Buffer out{buffer};
    if (value == 0) {
        out += '0';
        return 1;
    }
    constexpr double k_exact_integer_limit = 9007199254740992.0;  // 2^53
    if (std::fabs(value) < k_exact_integer_limit && value == std::trunc(value)) {
        auto result = std::to_chars(buffer, buffer + k_js_number_max, static_cast<std::int64_t>(value));
        return static_cast<std::size_t>(result.ptr - buffer);
    }
    // Shortest round-trip digits d.ddddde[+-]XX, then JavaScript's layout rules (ECMA-262 Number::toString).
    char buf[40];
    auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
    const char* p = buf;
    if (*p == '-') {
        out += '-';
        ++p;
    }
    char digits[20];
    int k = 0;
    while (*p != 'e') {
        if (*p != '.') {
            digits[k++] = *p;
        }
        ++p;
    }
    ++p;  // 'e'
    int exponent = 0;
    std::from_chars(*p == '+' ? p + 1 : p, result.ptr, exponent);
    const int n = exponent + 1;  // value = 0.digits * 10^n
    if (k <= n && n <= 21) {
        out.append(digits, static_cast<std::size_t>(k));
        out.append(static_cast<std::size_t>(n - k), '0');
    } else if (0 < n && n <= 21) {
        out.append(digits, static_cast<std::size_t>(n));
        out += '.';
        out.append(digits + n, static_cast<std::size_t>(k - n));
    } else if (-6 < n && n <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-n), '0');
        out.append(digits, static_cast<std::size_t>(k));
    } else {
        out += digits[0];
        if (k > 1) {
            out += '.';
            out.append(digits + 1, static_cast<std::size_t>(k - 1));
        }
        out += 'e';
        out += n - 1 < 0 ? '-' : '+';
        char ebuf[8];
        auto eresult = std::to_chars(ebuf, ebuf + sizeof ebuf, n - 1 < 0 ? -(n - 1) : n - 1);
        out.append(ebuf, static_cast<std::size_t>(eresult.ptr - ebuf));
    }
    return static_cast<std::size_t>(out.p - buffer);
}

}  // namespace enmap
