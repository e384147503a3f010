#include "enmap/js_date.hpp"

#include <charconv>
#include <cstring>

namespace enmap {

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2 ? 1 : 0;
}

bool is_leap(std::int64_t y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned k_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

bool digits(std::string_view text, std::size_t pos, std::size_t count, unsigned& value) {
    if (pos + count > text.size()) {
        return false;
    }
    value = 0;
    for (std::size_t i = pos; i < pos + count; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') {
            return false;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
}

void append_padded(unsigned value, int width, std::string& out) {
    char buf[8];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    out.append(buf, static_cast<std::size_t>(width));
}

}  // namespace

bool is_canonical_iso_date(std::string_view t) {
    unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
    return t.size() == 24 && t[4] == '-' && t[7] == '-' && t[10] == 'T' && t[13] == ':' && t[16] == ':' &&
           t[19] == '.' && t[23] == 'Z' && digits(t, 0, 4, y) && digits(t, 5, 2, mo) && digits(t, 8, 2, d) &&
           digits(t, 11, 2, h) && digits(t, 14, 2, mi) && digits(t, 17, 2, s) && digits(t, 20, 3, ms) &&
           mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) && h < 24 && mi < 60 && s < 60;
}

bool parse_js_date(std::string_view t, std::int64_t& result) {
    std::size_t pos = 0;
    std::int64_t year = 0;
    unsigned v = 0;
    if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
        if (!digits(t, 1, 6, v)) {
            return false;
        }
        if (t[0] == '-' && v == 0) {
            return false;  // -000000 is not a valid year
        }
        year = t[0] == '-' ? -static_cast<std::int64_t>(v) : v;
        pos = 7;
    } else {
        if (!digits(t, 0, 4, v)) {
            return false;
        }
        year = v;
        pos = 4;
    }
    unsigned month = 1, day = 1, hour = 0, minute = 0, second = 0, milli = 0;
    if (pos < t.size() && t[pos] == '-') {
        if (!digits(t, pos + 1, 2, month)) {
            return false;
        }
        pos += 3;
        if (pos < t.size() && t[pos] == '-') {
            if (!digits(t, pos + 1, 2, day)) {
                return false;
            }
            pos += 3;
        }
    }
    std::int64_t offset_minutes = 0;
    if (pos < t.size() && t[pos] == 'T') {
        if (!digits(t, pos + 1, 2, hour) || pos + 3 >= t.size() || t[pos + 3] != ':' ||
            !digits(t, pos + 4, 2, minute)) {
            return false;
        }
        pos += 6;
        if (pos < t.size() && t[pos] == ':') {
            if (!digits(t, pos + 1, 2, second)) {
                return false;
            }
            pos += 3;
            if (pos < t.size() && t[pos] == '.') {
                ++pos;
                std::size_t count = 0;
                while (pos < t.size() && t[pos] >= '0' && t[pos] <= '9') {
                    if (count < 3) {
                        milli = milli * 10 + static_cast<unsigned>(t[pos] - '0');
                    }
                    ++count;
                    ++pos;
                }
                if (count == 0) {
                    return false;
                }
                for (; count < 3; ++count) {
                    milli *= 10;
                }
            }
        }
        if (pos < t.size() && t[pos] == 'Z') {
            ++pos;
        } else if (pos < t.size() && (t[pos] == '+' || t[pos] == '-')) {
            unsigned oh = 0, om = 0;
            if (!digits(t, pos + 1, 2, oh) || pos + 3 >= t.size() || t[pos + 3] != ':' ||
                !digits(t, pos + 4, 2, om) || oh > 23 || om > 59) {
                return false;
            }
            offset_minutes = (t[pos] == '-' ? -1 : 1) * static_cast<std::int64_t>(oh * 60 + om);
            pos += 6;
        }
    }
    if (pos != t.size()) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || minute > 59 ||
        second > 59) {
        return false;
    }
    if (hour > 24 || (hour == 24 && (minute != 0 || second != 0 || milli != 0))) {
        return false;
    }
    const std::int64_t days = days_from_civil(year, month, day);
    const std::int64_t ms = ((days * 24 + hour) * 60 + minute - offset_minutes) * 60000 +
                            static_cast<std::int64_t>(second) * 1000 + milli;
    if (ms > k_max_date_ms || ms < -k_max_date_ms) {
        return false;
    }
    result = ms;
    return true;
}

std::size_t format_iso_date(std::int64_t ms, char* buffer) {
    std::string out;
    append_iso_date(ms, out);
    return out.copy(buffer, out.size());
}

void append_iso_date(std::int64_t ms, std::string& out) {
    std::int64_t days = ms / 86400000;
    std::int64_t rem = ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        --days;
    }
    std::int64_t year = 0;
    unsigned month = 0, day = 0;
    civil_from_days(days, year, month, day);
    if (year >= 0 && year <= 9999) {
        append_padded(static_cast<unsigned>(year), 4, out);
    } else {
        out += year < 0 ? '-' : '+';
        append_padded(static_cast<unsigned>(year < 0 ? -year : year), 6, out);
    }
    out += '-';
    append_padded(month, 2, out);
    out += '-';
    append_padded(day, 2, out);
    out += 'T';
    append_padded(static_cast<unsigned>(rem / 3600000), 2, out);
    out += ':';
    append_padded(static_cast<unsigned>(rem / 60000 % 60), 2, out);
    out += ':';
    append_padded(static_cast<unsigned>(rem / 1000 % 60), 2, out);
    out += '.';
    append_padded(static_cast<unsigned>(rem % 1000), 3, out);
    out += 'Z';
}

}  // namespace enmap
