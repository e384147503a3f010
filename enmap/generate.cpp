// Random and realistic values for the encoder model (declared in enmap/encode.hpp).

#include <cmath>
#include <cstring>
#include <limits>

#include "enmap/encode.hpp"

namespace enmap {

namespace {

using Type = JsValue::Type;

std::size_t pick(std::mt19937_64& rng, std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
}

bool chance(std::mt19937_64& rng, double p) {
    return std::bernoulli_distribution(p)(rng);
}

std::u16string random_text(std::mt19937_64& rng, std::size_t max_length) {
    static const std::u16string k_alphabet = u"abcXYZ019 _-.:!?'";
    static const char16_t k_special[] = {u'"',   u'\\',     u'/',      u'<',      u'>',      u'\n',  u'\t',
                                         u'\r',  u'\b',     u'\f',     0x01,      0x1f,      0x7f,   0x2028,
                                         0x2029, u'\u00e9', u'\u00fc', u'\u65e5', u'\u672c', 0x0300, u'&'};
    std::u16string s;
    const std::size_t length = pick(rng, max_length + 1);
    for (std::size_t i = 0; i < length; ++i) {
        const std::size_t r = pick(rng, 100);
        if (r < 70) {
            s += k_alphabet[pick(rng, k_alphabet.size())];
        } else if (r < 90) {
            s += k_special[pick(rng, sizeof k_special / sizeof k_special[0])];
        } else if (r < 97) {
            s += static_cast<char16_t>(0xD83C + pick(rng, 2));  // an emoji: a surrogate pair
            s += static_cast<char16_t>(0xDF00 + pick(rng, 0x100));
        } else if (r < 98) {
            s += char16_t{0};  // NUL
        } else if (r < 99) {
            s += static_cast<char16_t>(0xD800 + pick(rng, 0x400));  // lone high surrogate
        } else {
            s += static_cast<char16_t>(0xDC00 + pick(rng, 0x400));  // lone low surrogate
        }
    }
    return s;
}

double random_number(std::mt19937_64& rng) {
    static const double k_specials[] = {0.0,
                                        -0.0,
                                        1e21,
                                        1e-7,
                                        123e18,
                                        1.5e300,
                                        -2.5e-300,
                                        5e-324,
                                        9007199254740993.0,
                                        18014398509481984.0,
                                        0.1,
                                        -1234.5678,
                                        1e20,
                                        1e-6,
                                        std::numeric_limits<double>::quiet_NaN(),
                                        std::numeric_limits<double>::infinity(),
                                        -std::numeric_limits<double>::infinity()};
    const std::size_t r = pick(rng, 10);
    if (r < 4) {
        return static_cast<double>(std::uniform_int_distribution<std::int64_t>(-100000, 100000)(rng));
    }
    if (r < 6) {
        return std::uniform_real_distribution<double>(-1e6, 1e6)(rng);
    }
    if (r < 8) {
        return k_specials[pick(rng, sizeof k_specials / sizeof k_specials[0])];
    }
    // Any bit pattern that is a double (finite or not).
    std::uint64_t bits = rng();
    double d = 0;
    static_assert(sizeof d == sizeof bits);
    std::memcpy(&d, &bits, sizeof d);
    return d;
}

std::string random_digits(std::mt19937_64& rng) {
    std::string s = chance(rng, 0.2) ? "-" : "";
    s += static_cast<char>('1' + pick(rng, 9));
    const std::size_t length = pick(rng, 30);
    for (std::size_t i = 0; i < length; ++i) {
        s += static_cast<char>('0' + pick(rng, 10));
    }
    return s;
}

double random_date(std::mt19937_64& rng) {
    const std::size_t r = pick(rng, 10);
    if (r == 0) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    if (r == 1) {
        return static_cast<double>(
            std::uniform_int_distribution<std::int64_t>(-900000000000000, 900000000000000)(rng));
    }
    return static_cast<double>(std::uniform_int_distribution<std::int64_t>(0, 1900000000000)(rng));
}

const char* const k_functions[] = {
    "function (a) { return a + 1; }",
    "function name(){}",
    "async function load(id) { const r = await fetch(`/u/${id}`); return r.json(); }",
    "(x)=>x*2",
    "x => { return x.replace(/[\"}]/g, '') }",
    "async (a) => a",
    "function* gen() { yield \"}\"; yield '{'; }",
    "foo(a) { return [a, function () { return ')'; }]; }",
    "(a, b = {k: [1, 2]}) => ({ sum: a + b.k[0] /* } */ })",
    "s => s.split(',') /* , ) */ .map((p) => p.trim())",
    "function (x) {\n  // a comment with } and \"\n  return `t${x}${ {a: '}'}.a }`;\n}",
    "class Foo extends Bar { constructor(x) { super(x); this.x = x; } }",
    "async *items() { for (const i of [1, 2]) yield i => i; }",
};

JsValue random_function(std::mt19937_64& rng) {
    return JsValue::function(k_functions[pick(rng, sizeof k_functions / sizeof k_functions[0])]);
}

JsValue random_scalar(std::mt19937_64& rng, Encoding encoding) {
    const bool sj = encoding == Encoding::k_serialize_javascript;
    const bool bs = encoding == Encoding::k_better_serialize;
    for (;;) {
        switch (pick(rng, 12)) {
            case 0:
                return JsValue::null();
            case 1:
                return JsValue::boolean_value(chance(rng, 0.5));
            case 2:
            case 3:
                return JsValue::num(random_number(rng));
            case 4:
            case 5:
                return JsValue::str(random_text(rng, 12));
            case 6:
                if (sj || bs) {
                    return JsValue::bigint(random_digits(rng));
                }
                break;
            case 7:
                return JsValue::date(random_date(rng));
            case 8:
                return JsValue::regexp(random_text(rng, 6), chance(rng, 0.5) ? "gi" : "");
            case 9:
                if (!bs) {
                    return JsValue::url("https://example.com/a/" + std::to_string(pick(rng, 1000)) +
                                        "?q=<x>");
                }
                break;
            case 10:
                return JsValue::undefined();
            case 11:
                if (!bs) {
                    return random_function(rng);
                }
                break;
            default:
                break;
        }
    }
}

std::u16string member_name(std::mt19937_64& rng, std::size_t index) {
    // Never an array index: JavaScript would move such members to the front.
    return u"k" + random_text(rng, 4) + u"_" + std::u16string(1, static_cast<char16_t>(u'a' + index % 26));
}

JsValue random_map_key(std::mt19937_64& rng, Encoding encoding, std::size_t index) {
    const bool bs = encoding == Encoding::k_better_serialize;
    switch (pick(rng, 10)) {
        case 0:
        case 1:
        case 2:
        case 3:
            return JsValue::str(u"m" + std::u16string(1, static_cast<char16_t>(u'a' + index % 26)) +
                                random_text(rng, 3));
        case 4:
            return JsValue::num(static_cast<double>(index));
        case 5:
            return JsValue::str(utf16(std::to_string(index)));  // may collide with a number key
        case 6:
            return bs ? JsValue::num(0.5 + static_cast<double>(index))
                      : JsValue::bigint(std::to_string(index + 100));
        case 7:
            return JsValue::object({{u"id", JsValue::num(static_cast<double>(index))}});
        case 8:
            return bs ? JsValue::null() : JsValue::date(random_date(rng));
        default:
            return bs ? JsValue::boolean_value(true) : JsValue::undefined();
    }
}

JsValue random_value_at(std::mt19937_64& rng, Encoding encoding, int depth) {
    if (depth <= 0 || chance(rng, 0.45)) {
        return random_scalar(rng, encoding);
    }
    const std::size_t count = pick(rng, 5);
    switch (pick(rng, 5)) {
        case 0: {
            std::vector<JsValue> items;
            for (std::size_t i = 0; i < count; ++i) {
                items.push_back(chance(rng, 0.15) ? JsValue::hole()
                                                  : random_value_at(rng, encoding, depth - 1));
            }
            return JsValue::array(std::move(items));
        }
        case 1:
        case 2: {
            std::vector<JsValue::Member> members;
            for (std::size_t i = 0; i < count; ++i) {
                members.push_back({member_name(rng, i), random_value_at(rng, encoding, depth - 1)});
            }
            return JsValue::object(std::move(members));
        }
        case 3: {
            std::vector<JsValue::Entry> entries;
            for (std::size_t i = 0; i < count; ++i) {
                entries.push_back(
                    {random_map_key(rng, encoding, i), random_value_at(rng, encoding, depth - 1)});
            }
            return JsValue::map(std::move(entries));
        }
        default: {
            std::vector<JsValue> items;
            for (std::size_t i = 0; i < count; ++i) {
                items.push_back(random_value_at(rng, encoding, depth - 1));
            }
            return JsValue::set(std::move(items));
        }
    }
}

std::string snowflake(std::mt19937_64& rng) {
    return std::to_string(
        std::uniform_int_distribution<std::uint64_t>(100000000000000000ULL, 999999999999999999ULL)(rng));
}

double recent_ms(std::mt19937_64& rng) {
    return static_cast<double>(
        std::uniform_int_distribution<std::int64_t>(1577836800000, 1735689600000)(rng));
}

const char* const k_words[] = {"hello",       "gg",          "welcome",  "it's",        "ünïcödé",
                               "日本語",      "🎉",           "quote\"s", "back\\slash", "path/to",
                               "<b>bold</b>", "line\nbreak", "tab\tbed", "zalgo ̵̡̛"};

std::string sentence(std::mt19937_64& rng, std::size_t words) {
    std::string s;
    for (std::size_t i = 0; i < words; ++i) {
        s += (i == 0 ? "" : " ");
        s += k_words[pick(rng, sizeof k_words / sizeof k_words[0])];
    }
    return s;
}

/// A Date in the generations that keep it; its ISO string under JSON.stringify's (5.7 stores it so).
JsValue when(std::mt19937_64& rng, Encoding encoding, bool as_number = false) {
    const double ms = recent_ms(rng);
    if (encoding == Encoding::k_json) {
        return as_number ? JsValue::num(ms) : JsValue::date(ms);
    }
    return JsValue::date(ms);
}

JsValue id_set(std::mt19937_64& rng, Encoding encoding, std::size_t count) {
    std::vector<JsValue> ids;
    for (std::size_t i = 0; i < count; ++i) {
        ids.push_back(JsValue::str(snowflake(rng)));
    }
    return encoding == Encoding::k_json ? JsValue::array(std::move(ids)) : JsValue::set(std::move(ids));
}

}  // namespace

JsValue random_value(std::mt19937_64& rng, Encoding encoding, int max_depth) {
    return random_value_at(rng, encoding, max_depth);
}

JsValue bot_value(std::mt19937_64& rng, Encoding encoding) {
    using Members = std::vector<JsValue::Member>;
    switch (pick(rng, 5)) {
        case 0:  // guild settings
            return JsValue::object(Members{
                {u"prefix", JsValue::str(std::string(chance(rng, 0.7) ? "!" : "?"))},
                {u"modLogChannel", JsValue::str(snowflake(rng))},
                {u"modRole", JsValue::str(snowflake(rng))},
                {u"welcomeMessage", JsValue::str("Say hello to {{user}}, " + sentence(rng, 3) + "!")},
                {u"disabledCommands",
                 JsValue::array({JsValue::str(std::string("nsfw")), JsValue::str(std::string("meme"))})},
                {u"language", JsValue::str(std::string(chance(rng, 0.8) ? "en" : "pt-BR"))},
                {u"autoRoles", id_set(rng, encoding, 1 + pick(rng, 2))},
                {u"createdAt", when(rng, encoding, true)},
            });
        case 1:  // points / levels
            return JsValue::object(Members{
                {u"user", JsValue::str(snowflake(rng))},
                {u"guild", JsValue::str(snowflake(rng))},
                {u"points", JsValue::num(static_cast<double>(pick(rng, 100000)))},
                {u"level", JsValue::num(static_cast<double>(pick(rng, 40)))},
                {u"multiplier", JsValue::num(1 + static_cast<double>(pick(rng, 100)) / 40.0)},
                {u"lastSeen", when(rng, encoding, true)},
                {u"streak", JsValue::num(static_cast<double>(pick(rng, 30)))},
                {u"badges",
                 JsValue::array({JsValue::str(std::string("early")), JsValue::str(std::string("helper"))})},
            });
        case 2: {  // warnings
            std::vector<JsValue> warnings;
            for (std::size_t i = 1; i <= 2; ++i) {
                warnings.push_back(JsValue::object(Members{
                    {u"id", JsValue::num(static_cast<double>(i))},
                    {u"moderator", JsValue::str(snowflake(rng))},
                    {u"reason", JsValue::str(sentence(rng, 3))},
                    {u"at", when(rng, encoding)},
                }));
            }
            return JsValue::array(std::move(warnings));
        }
        case 3: {  // economy
            std::vector<JsValue::Entry> inventory = {
                {JsValue::str(std::string("sword")), JsValue::num(1)},
                {JsValue::str(std::string("potion")), JsValue::num(static_cast<double>(pick(rng, 20)))},
                {JsValue::str(std::string("shield")), JsValue::num(static_cast<double>(pick(rng, 3)))},
            };
            Members inventory_object;
            for (const auto& [key, count] : inventory) {
                inventory_object.push_back({key.text, count});
            }
            const std::string bank = std::to_string(pick(rng, 1000000000)) + "000000000";
            return JsValue::object(Members{
                {u"user", JsValue::str(snowflake(rng))},
                {u"wallet", JsValue::num(static_cast<double>(pick(rng, 5000)))},
                {u"bank", encoding == Encoding::k_json ? JsValue::str(bank) : JsValue::bigint(bank)},
                {u"inventory", encoding == Encoding::k_json ? JsValue::object(std::move(inventory_object))
                                                            : JsValue::map(std::move(inventory))},
                {u"daily", when(rng, encoding)},
                {u"history", JsValue::array({JsValue::num(-120.5), JsValue::num(300), JsValue::num(42.25)})},
            });
        }
        default:  // giveaways
            return JsValue::object(Members{
                {u"prize", JsValue::str(sentence(rng, 2))},
                {u"channel", JsValue::str(snowflake(rng))},
                {u"host", JsValue::str(snowflake(rng))},
                {u"entrants", id_set(rng, encoding, pick(rng, 3))},
                {u"winners", JsValue::array({})},
                {u"endsAt", when(rng, encoding)},
                {u"ended", JsValue::boolean_value(chance(rng, 0.5))},
                {u"winnerCount", JsValue::num(1 + static_cast<double>(pick(rng, 3)))},
            });
    }
}

JsValue points_value(std::mt19937_64& rng, Encoding encoding, const std::string& guild,
                     const std::string& user) {
    using Members = std::vector<JsValue::Member>;
    static const char* const k_badges[] = {"early", "helper", "voter", "booster", "artist", "veteran"};
    const double points = static_cast<double>(pick(rng, 100000));
    Members members = {
        {u"user", JsValue::str(user)},
        {u"guild", JsValue::str(guild)},
        {u"points", JsValue::num(points)},
        {u"level", JsValue::num(std::floor(0.1 * std::sqrt(points)))},
        {u"lastSeen",
         encoding == Encoding::k_json ? JsValue::num(recent_ms(rng)) : JsValue::date(recent_ms(rng))},
        {u"streak", JsValue::num(static_cast<double>(pick(rng, 30)))},
    };
    std::vector<JsValue> badges;
    const std::size_t first = pick(rng, 6);
    for (std::size_t i = 0, n = pick(rng, 3); i < n; ++i) {
        badges.push_back(JsValue::str(std::string(k_badges[(first + i) % 6])));
    }
    if (encoding == Encoding::k_json) {
        members.push_back({u"badges", JsValue::array(std::move(badges))});
        return JsValue::object(std::move(members));
    }
    std::vector<JsValue> roles;
    for (std::size_t i = 0, n = pick(rng, 3); i < n; ++i) {
        roles.push_back(JsValue::str(snowflake(rng)));
    }
    members.push_back({u"multiplier", JsValue::num(1 + static_cast<double>(pick(rng, 20)) / 8.0)});
    members.push_back({u"badges", JsValue::set(std::move(badges))});
    members.push_back({u"rewardRoles", JsValue::set(std::move(roles))});
    return JsValue::object(std::move(members));
}

}  // namespace enmap
