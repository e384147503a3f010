#include "analyze/profile.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <unordered_map>

#include "analyze/sketch.hpp"
#include "enmap/decode/visitor.hpp"
#include "enmap/table_reader.hpp"

namespace analyze {

namespace {

// The JavaScript types a value can have, in the order shapes.json lists them.
enum JsType : std::uint8_t {
    t_string,
    t_integer,
    t_float,
    t_boolean,
    t_null,
    t_undefined,
    t_date,
    t_bigint,
    t_map,
    t_set,
    t_regexp,
    t_url,
    t_function,
    t_object,
    t_array,
    t_count
};

constexpr std::array<const char*, t_count> k_type_names = {
    "string", "integer", "float",  "boolean", "null",     "undefined", "Date", "BigInt",
    "Map",    "Set",     "RegExp", "URL",     "function", "object",    "array"};

// What a string looks like.
enum StringClass : std::uint8_t {
    c_empty,
    c_snowflake,
    c_integer,
    c_decimal,
    c_iso_date,
    c_url,
    c_uuid,
    c_text,
    c_count
};

constexpr std::array<const char*, c_count> k_class_names = {"empty",    "snowflake", "integer", "decimal",
                                                            "iso_date", "url",       "uuid",    "text"};

constexpr std::size_t k_example_count = 3;
constexpr std::size_t k_relationship_sample = 512;
constexpr std::size_t k_enum_tracked = 32;      // distinct values counted exactly per path
constexpr std::size_t k_enum_value_bytes = 64;  // longer values end the tracking
constexpr std::size_t k_record_members = 64;    // more distinct member names than this: map-like
constexpr std::size_t k_example_bytes = 120;    // example values are cut to this length
constexpr std::size_t k_key_patterns = 16;      // key patterns tracked per table
constexpr std::size_t k_edge_examples = 5;

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_uuid(std::string_view s) {
    if (s.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i])) {
            return false;
        }
    }
    return true;
}

bool is_snowflake(std::string_view s) {
    return s.size() >= 17 && s.size() <= 20 && all_digits(s);
}

// A decimal integer as JavaScript prints it: no leading zeros, at most 16 digits.
bool is_small_integer(std::string_view s) {
    std::string_view digits = !s.empty() && s[0] == '-' ? s.substr(1) : s;
    return all_digits(digits) && digits.size() <= 16 && (digits.size() == 1 || digits[0] != '0');
}

bool digits_at(std::string_view s, std::size_t at, std::size_t n) {
    return at + n <= s.size() && all_digits(s.substr(at, n));
}

// 2024-02-29, 2024-02-29T23:59:59.999Z, 2024-02-29 23:59:59+02:00 and the like.
bool is_iso_date(std::string_view s) {
    if (s.size() < 10 || !digits_at(s, 0, 4) || s[4] != '-' || !digits_at(s, 5, 2) || s[7] != '-' ||
        !digits_at(s, 8, 2)) {
        return false;
    }
    if (s.size() == 10) {
        return true;
    }
    if ((s[10] != 'T' && s[10] != ' ') || !digits_at(s, 11, 2) || s.size() < 16 || s[13] != ':' ||
        !digits_at(s, 14, 2)) {
        return false;
    }
    std::size_t i = 16;
    if (i < s.size() && s[i] == ':') {
        if (!digits_at(s, i + 1, 2)) {
            return false;
        }
        i += 3;
        if (i < s.size() && s[i] == '.') {
            ++i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                ++i;
            }
        }
    }
    std::string_view zone = s.substr(i);
    return zone.empty() || zone == "Z" ||
           ((zone[0] == '+' || zone[0] == '-') && (zone.size() == 6 || zone.size() == 5) &&
            digits_at(zone, 1, 2));
}

bool is_decimal(std::string_view s) {
    std::string_view t = !s.empty() && s[0] == '-' ? s.substr(1) : s;
    auto dot = t.find('.');
    return dot != std::string_view::npos && dot > 0 && all_digits(t.substr(0, dot)) &&
           all_digits(t.substr(dot + 1));
}

StringClass classify(std::string_view s) {
    if (s.empty()) {
        return c_empty;
    }
    if (is_snowflake(s)) {
        return c_snowflake;
    }
    if (is_small_integer(s)) {
        return c_integer;
    }
    if (is_decimal(s)) {
        return c_decimal;
    }
    if (is_iso_date(s)) {
        return c_iso_date;
    }
    if (s.rfind("https://", 0) == 0 || s.rfind("http://", 0) == 0) {
        return c_url;
    }
    if (is_uuid(s)) {
        return c_uuid;
    }
    return c_text;
}

// A member name that names an entry, not a field: an id.
bool id_like_name(std::string_view name) {
    return all_digits(name) || is_uuid(name);
}

bool identifier(std::string_view name) {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '$';
    });
}

// Compares two BigInt digit strings numerically.
bool bigint_less(const std::string& a, const std::string& b) {
    bool na = !a.empty() && a[0] == '-';
    bool nb = !b.empty() && b[0] == '-';
    if (na != nb) {
        return na;
    }
    std::string_view da = std::string_view(a).substr(na ? 1 : 0);
    std::string_view db = std::string_view(b).substr(nb ? 1 : 0);
    bool less = da.size() != db.size() ? da.size() < db.size() : da < db;
    return na ? (da != db && !less) : less;
}

bool bigint_past_int8(std::string_view digits) {
    bool negative = !digits.empty() && digits[0] == '-';
    std::string_view d = digits.substr(negative ? 1 : 0);
    std::string_view limit = negative ? "9223372036854775808" : "9223372036854775807";
    return d.size() != limit.size() ? d.size() > limit.size() : d > limit;
}

std::string cut(std::string_view text) {
    if (text.size() <= k_example_bytes) {
        return std::string(text);
    }
    std::size_t n = k_example_bytes;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) {
        --n;  // not inside a UTF-8 sequence
    }
    return std::string(text.substr(0, n)) + "...";
}

nlohmann::json histogram_json(const Log2Histogram& h) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < Log2Histogram::k_buckets; ++i) {
        if (h.counts()[i] != 0) {
            out.push_back({{"min", Log2Histogram::bucket_min(i)},
                           {"max", Log2Histogram::bucket_max(i)},
                           {"count", h.counts()[i]}});
        }
    }
    return out;
}

nlohmann::json range_json(const Log2Histogram& h) {
    return {{"min", h.total() == 0 ? 0 : h.min()},
            {"max", h.max()},
            {"mean", h.total() == 0 ? 0.0 : static_cast<double>(h.sum()) / static_cast<double>(h.total())},
            {"histogram", histogram_json(h)}};
}

double share(std::uint64_t part, std::uint64_t whole) {
    return whole == 0
               ? 0.0
               : std::round(static_cast<double>(part) / static_cast<double>(whole) * 10000.0) / 10000.0;
}

// Exact counts of a path's or a key part's values while they are few and short.
class ValueCounts {
public:
    void add(std::string_view value) {
        if (m_overflow) {
            return;
        }
        if (value.size() > k_enum_value_bytes) {
            m_overflow = true;
            m_counts.clear();
            return;
        }
        auto it = m_counts.find(std::string(value));
        if (it != m_counts.end()) {
            ++it->second;
            return;
        }
        if (m_counts.size() >= k_enum_tracked) {
            m_overflow = true;
            m_counts.clear();
            return;
        }
        m_counts.emplace(std::string(value), 1);
    }
    [[nodiscard]] bool overflow() const { return m_overflow; }
    /// The values, most frequent first.
    [[nodiscard]] std::vector<std::pair<std::string, std::uint64_t>> top() const {
        std::vector<std::pair<std::string, std::uint64_t>> out(m_counts.begin(), m_counts.end());
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
            return a.second != b.second ? a.second > b.second : a.first < b.first;
        });
        return out;
    }

private:
    std::map<std::string, std::uint64_t> m_counts;
    bool m_overflow = false;
};

struct Example {
    std::string key;
    std::uint8_t type = t_string;
    std::string text;  // the value (cut), or for a redacted string nothing
    std::uint64_t length = 0;
    std::uint8_t cls = c_text;
    bool redacted = false;  // text that may be personal: shown only with --examples
};

struct StringStats {
    Log2Histogram lengths;
    std::array<std::uint64_t, c_count> classes{};
    ValueCounts values;
};

struct NumberStats {
    std::uint64_t integers = 0;
    std::uint64_t floats = 0;
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    std::uint64_t past_int4 = 0;
    std::uint64_t past_int8 = 0;
    std::uint64_t past_2_53 = 0;
    std::uint64_t epoch_ms = 0;
    std::uint64_t epoch_s = 0;
    std::uint64_t nan = 0;
    std::uint64_t infinity = 0;
    std::uint64_t negative_zero = 0;
};

struct BigIntStats {
    std::string min;
    std::string max;
    std::uint64_t past_int8 = 0;
    Log2Histogram digits;
};

struct DateStats {
    std::string min;
    std::string max;
    std::uint64_t invalid = 0;
};

enum class Role : std::uint8_t { k_root, k_member, k_element, k_map_value, k_map_key };

constexpr std::array<const char*, 5> k_role_names = {"root", "member", "element", "map_value", "map_key"};

struct Node {
    std::string path;
    int parent = -1;
    Role role = Role::k_root;
    std::uint64_t count = 0;
    std::array<std::uint64_t, t_count> types{};
    std::unordered_map<std::string, int> children;
    std::vector<int> order;  // children in the order first seen
    // objects and Maps
    Log2Histogram members;
    std::vector<std::uint64_t> member_names;  // distinct hashes, up to k_record_members + 1
    std::uint64_t id_names = 0;
    std::uint64_t names_seen = 0;
    bool map_like = false;
    std::string map_reason;
    // arrays and Sets
    Log2Histogram lengths;
    std::uint64_t holes = 0;
    // scalars
    std::unique_ptr<StringStats> strings;
    std::unique_ptr<NumberStats> numbers;
    std::unique_ptr<BigIntStats> bigints;
    std::unique_ptr<DateStats> dates;
    std::unique_ptr<DistinctCounter> distinct;
    std::unique_ptr<Reservoir<std::uint64_t>> related;  // values that may be other tables' keys
    std::uint64_t related_integers = 0;
    std::uint64_t related_snowflakes = 0;
    Reservoir<Example> examples{k_example_count};
};

struct EdgeCase {
    std::uint64_t count = 0;
    std::vector<std::pair<std::string, std::string>> examples;  // key, path
};

struct KeyPattern {
    std::string pattern;
    char separator = 0;
    std::uint64_t count = 0;
    std::vector<std::uint8_t> classes;
    std::vector<DistinctCounter> part_distinct;
    std::vector<ValueCounts> part_values;
    std::vector<Reservoir<std::uint64_t>> part_sample;
    Reservoir<std::string> examples{k_example_count};
    std::uint64_t max_integer = 0;
};

struct Frame {
    int node = -1;
    JsType kind = t_object;
    bool expect_key = true;  // a Map: the next value is an entry's key
    std::uint64_t size = 0;  // members, elements or entries so far
    std::string name;        // an object's pending member name
};

}  // namespace

struct TableProfile::State : enmap::ValueVisitor {
    std::string table;
    const AnalyzeOptions& options;
    std::optional<std::int64_t> counter;
    std::size_t& key_budget;
    Random random{0x5eed};

    std::uint64_t rows = 0;
    std::uint64_t key_bytes = 0;
    std::uint64_t value_bytes = 0;
    std::uint64_t sql_null = 0;
    std::uint64_t malformed = 0;
    std::map<std::string, std::uint64_t> encodings;
    Log2Histogram value_sizes;
    std::vector<Node> nodes;
    std::uint64_t untracked = 0;
    std::map<std::string, EdgeCase> edges;
    std::vector<KeyPattern> patterns;
    std::uint64_t other_patterns = 0;
    DistinctCounter key_distinct;
    std::vector<std::uint64_t> key_hashes;
    bool keys_complete = true;
    std::uint64_t integer_keys = 0;
    std::uint64_t integer_keys_above_counter = 0;
    std::uint64_t max_integer_key = 0;

    // the row being read
    std::string_view row_key;
    std::vector<Frame> frames;
    std::string scratch;
    std::vector<enmap::Violation> violations;

    State(std::string name, const AnalyzeOptions& opts, std::optional<std::int64_t> autonum,
          std::size_t& budget)
        : table(std::move(name)), options(opts), counter(autonum), key_budget(budget) {
        nodes.emplace_back();
        nodes.back().path = "$";
    }

    void edge(const std::string& kind, const std::string& path) {
        EdgeCase& e = edges[kind];
        ++e.count;
        if (e.examples.size() < k_edge_examples &&
            (e.examples.empty() || e.examples.back().first != row_key)) {
            e.examples.emplace_back(enmap::display_key(row_key), path);
        }
    }

    [[nodiscard]] std::string path_of(int node) const {
        return node < 0 ? "(untracked path)" : nodes[node].path;
    }

    int child(int parent, const std::string& label, Role role) {
        Node& p = nodes[parent];
        auto it = p.children.find(label);
        if (it != p.children.end()) {
            return it->second;
        }
        if (nodes.size() >= options.max_paths) {
            return -1;
        }
        int index = static_cast<int>(nodes.size());
        std::string path = p.path + label;
        p.children.emplace(label, index);
        p.order.push_back(index);
        nodes.emplace_back();
        nodes.back().path = std::move(path);
        nodes.back().parent = parent;
        nodes.back().role = role;
        return index;
    }

    void note_member_name(Node& object, std::string_view name) {
        ++object.names_seen;
        if (id_like_name(name)) {
            ++object.id_names;
            if (!object.map_like) {
                object.map_like = true;
                object.map_reason = "member names are ids";
            }
            return;
        }
        if (object.member_names.size() > k_record_members) {
            return;
        }
        std::uint64_t h = hash64(name);
        auto it = std::lower_bound(object.member_names.begin(), object.member_names.end(), h);
        if (it == object.member_names.end() || *it != h) {
            object.member_names.insert(it, h);
            if (object.member_names.size() > k_record_members && !object.map_like) {
                object.map_like = true;
                object.map_reason =
                    "more than " + std::to_string(k_record_members) + " distinct member names";
            }
        }
    }

    // The node of the value about to be given, and the bookkeeping of its container.
    int enter(JsType type) {
        int node = 0;
        if (!frames.empty()) {
            Frame& f = frames.back();
            ++f.size;
            if (f.node < 0) {
                node = -1;
            } else if (f.kind == t_object) {
                Node& parent = nodes[f.node];
                note_member_name(parent, f.name);
                std::string label = identifier(f.name) ? "." + f.name : "[\"" + f.name + "\"]";
                if (parent.map_like && (id_like_name(f.name) || parent.children.count(label) == 0)) {
                    node = child(f.node, "{}", Role::k_map_value);
                } else {
                    node = child(f.node, label, Role::k_member);
                }
                if (type == t_undefined) {
                    edge("undefined_dropped", path_of(node));
                }
            } else if (f.kind == t_map) {
                bool is_key = f.expect_key;
                f.expect_key = !f.expect_key;
                if (is_key) {
                    --f.size;  // an entry counts once
                    node = child(f.node, "{#key}", Role::k_map_key);
                    if (type != t_string) {
                        edge("map_non_string_key", path_of(f.node));
                    }
                } else {
                    node = child(f.node, "{}", Role::k_map_value);
                }
            } else {
                node = child(f.node, "[]", Role::k_element);
                if (type == t_undefined) {
                    edge("undefined_element", path_of(node));
                }
            }
        } else if (type == t_undefined) {
            edge("undefined_value", "$");
        }
        if (node < 0) {
            ++untracked;
            return -1;
        }
        Node& n = nodes[node];
        ++n.count;
        ++n.types[type];
        return node;
    }

    void push(int node, JsType kind) {
        Frame f;
        f.node = node;
        f.kind = kind;
        frames.push_back(std::move(f));
    }

    void pop_container() {
        Frame f = std::move(frames.back());
        frames.pop_back();
        if (f.node < 0) {
            return;
        }
        Node& n = nodes[f.node];
        if (f.kind == t_object || f.kind == t_map) {
            n.members.add(f.size);
        } else {
            n.lengths.add(f.size);
        }
    }

    void distinct(Node& n, char tag, std::string_view text) {
        if (!n.distinct) {
            n.distinct = std::make_unique<DistinctCounter>();
        }
        std::uint64_t h = hash64(text);
        n.distinct->add(h ^ static_cast<std::uint64_t>(tag) * 0x9e3779b97f4a7c15ULL);
    }

    void relate(Node& n, std::string_view text, bool integer) {
        if (!n.related) {
            n.related = std::make_unique<Reservoir<std::uint64_t>>(k_relationship_sample);
        }
        (integer ? n.related_integers : n.related_snowflakes) += 1;
        n.related->offer(random, [&] { return hash64(text); });
    }

    void example(Node& n, JsType type, std::string_view text, std::uint8_t cls = c_text) {
        n.examples.offer(random, [&] {
            Example e;
            e.key = enmap::display_key(row_key);
            e.type = type;
            e.length = text.size();
            e.cls = cls;
            e.redacted = type == t_string || type == t_regexp || type == t_url;
            if (!e.redacted || options.examples) {
                e.text = cut(text);
            }
            return e;
        });
    }

    // ValueVisitor
    void begin_object() override { push(enter(t_object), t_object); }
    void key(std::string_view escaped) override { frames.back().name.assign(escaped); }
    void end_object() override { pop_container(); }
    void begin_array() override { push(enter(t_array), t_array); }
    void end_array() override { pop_container(); }
    void begin_set() override { push(enter(t_set), t_set); }
    void end_set() override { pop_container(); }
    void begin_map() override { push(enter(t_map), t_map); }
    void end_map() override { pop_container(); }
    void hole() override {
        Frame& f = frames.back();
        ++f.size;
        if (f.node >= 0) {
            ++nodes[f.node].holes;
        }
        edge("sparse_array", path_of(f.node));
    }

    void string(std::string_view escaped) override {
        int node = enter(t_string);
        if (node < 0) {
            return;
        }
        Node& n = nodes[node];
        if (!n.strings) {
            n.strings = std::make_unique<StringStats>();
        }
        StringClass cls = classify(escaped);
        n.strings->lengths.add(escaped.size());
        ++n.strings->classes[cls];
        n.strings->values.add(escaped);
        distinct(n, 's', escaped);
        if (cls == c_snowflake || cls == c_integer) {
            relate(n, escaped, cls == c_integer);
        }
        example(n, t_string, escaped, cls);
    }

    void number(enmap::NumberKind kind, std::string_view text, bool negative_zero) override {
        bool integer = kind == enmap::NumberKind::k_integer;
        int node = enter(integer ? t_integer : t_float);
        if (kind == enmap::NumberKind::k_nan) {
            edge("nan", path_of(node));
        } else if (kind == enmap::NumberKind::k_infinity || kind == enmap::NumberKind::k_negative_infinity) {
            edge("infinity", path_of(node));
        }
        if (negative_zero) {
            edge("negative_zero", path_of(node));
        }
        if (node < 0) {
            return;
        }
        Node& n = nodes[node];
        if (!n.numbers) {
            n.numbers = std::make_unique<NumberStats>();
        }
        NumberStats& s = *n.numbers;
        if (kind == enmap::NumberKind::k_nan) {
            ++s.nan;
            ++s.floats;
            example(n, t_float, "NaN");
            return;
        }
        if (kind != enmap::NumberKind::k_integer && kind != enmap::NumberKind::k_float) {
            ++s.infinity;
            ++s.floats;
            example(n, t_float, kind == enmap::NumberKind::k_infinity ? "Infinity" : "-Infinity");
            return;
        }
        s.negative_zero += negative_zero ? 1 : 0;
        double v = std::strtod(std::string(text).c_str(), nullptr);
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
        distinct(n, 'n', text);
        example(n, integer ? t_integer : t_float, text);
        if (!integer) {
            ++s.floats;
            return;
        }
        ++s.integers;
        double a = std::fabs(v);
        if (v > 2147483647.0 || v < -2147483648.0) {
            ++s.past_int4;
        }
        if (a >= 9223372036854775808.0) {
            ++s.past_int8;
        }
        if (a > 9007199254740991.0) {
            ++s.past_2_53;
        }
        if (v >= 946684800000.0 && v < 4102444800000.0) {
            ++s.epoch_ms;  // 2000-01-01 to 2100-01-01 in milliseconds
        } else if (v >= 946684800.0 && v < 4102444800.0) {
            ++s.epoch_s;
        }
        if (v >= 0 && a <= 9007199254740991.0) {
            relate(n, text, !is_snowflake(text));
        }
    }

    void boolean(bool value) override {
        int node = enter(t_boolean);
        if (node >= 0) {
            distinct(nodes[node], 'b', value ? "true" : "false");
            example(nodes[node], t_boolean, value ? "true" : "false");
        }
    }
    void null() override {
        int node = enter(t_null);
        if (node >= 0) {
            distinct(nodes[node], 'z', "null");
        }
    }
    void undefined() override { enter(t_undefined); }

    void date(std::string_view iso) override {
        int node = enter(t_date);
        if (iso.empty()) {
            edge("invalid_date", path_of(node));
        }
        if (node < 0) {
            return;
        }
        Node& n = nodes[node];
        if (!n.dates) {
            n.dates = std::make_unique<DateStats>();
        }
        if (iso.empty()) {
            ++n.dates->invalid;
            return;
        }
        std::string text(iso);
        if (n.dates->min.empty() || text < n.dates->min) {
            n.dates->min = text;
        }
        if (n.dates->max.empty() || text > n.dates->max) {
            n.dates->max = text;
        }
        distinct(n, 'd', iso);
        example(n, t_date, iso);
    }

    void bigint(std::string_view digits) override {
        int node = enter(t_bigint);
        if (node < 0) {
            return;
        }
        Node& n = nodes[node];
        if (!n.bigints) {
            n.bigints = std::make_unique<BigIntStats>();
        }
        BigIntStats& b = *n.bigints;
        std::string text(digits);
        if (b.min.empty() || bigint_less(text, b.min)) {
            b.min = text;
        }
        if (b.max.empty() || bigint_less(b.max, text)) {
            b.max = text;
        }
        b.past_int8 += bigint_past_int8(digits) ? 1 : 0;
        b.digits.add(digits.size() - (digits.empty() || digits[0] != '-' ? 0 : 1));
        distinct(n, 'i', digits);
        example(n, t_bigint, digits);
        if (!digits.empty() && digits[0] != '-') {
            relate(n, digits, !is_snowflake(digits));
        }
    }

    void regexp(std::string_view source, std::string_view flags) override {
        int node = enter(t_regexp);
        if (node >= 0) {
            std::string text = "/" + std::string(source) + "/" + std::string(flags);
            distinct(nodes[node], 'r', text);
            example(nodes[node], t_regexp, text);
        }
    }
    void url(std::string_view escaped) override {
        int node = enter(t_url);
        if (node >= 0) {
            distinct(nodes[node], 'u', escaped);
            example(nodes[node], t_url, escaped, c_url);
        }
    }
    void function(std::string_view /*source*/) override {
        int node = enter(t_function);
        edge("function", path_of(node));
    }

    void add_key(std::string_view k) {
        key_bytes += k.size();
        std::uint64_t h = hash64(k);
        key_distinct.add(h);
        if (keys_complete) {
            if (key_budget == 0) {
                keys_complete = false;
                key_hashes.clear();
                key_hashes.shrink_to_fit();
            } else {
                --key_budget;
                key_hashes.push_back(h);
            }
        }
        // The key's parts: the whole key, or two to four parts around one separator.
        std::vector<std::string_view> parts;
        char separator = 0;
        StringClass whole = classify(k);
        if (whole == c_text || whole == c_empty) {
            for (char sep : {':', '-', '_', '|', '/', '.', '#'}) {
                if (k.find(sep) == std::string_view::npos) {
                    continue;
                }
                std::vector<std::string_view> split;
                std::size_t start = 0;
                while (true) {
                    std::size_t at = k.find(sep, start);
                    split.push_back(
                        k.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
                    if (at == std::string_view::npos) {
                        break;
                    }
                    start = at + 1;
                }
                bool ids = false;
                bool empty = false;
                for (auto p : split) {
                    StringClass c = classify(p);
                    ids = ids || c == c_snowflake || c == c_integer || c == c_uuid;
                    empty = empty || p.empty();
                }
                if (split.size() <= 4 && ids && !empty) {
                    parts = std::move(split);
                    separator = sep;
                    break;
                }
            }
        }
        if (parts.empty()) {
            parts.push_back(k);
        }
        std::string pattern;
        std::vector<std::uint8_t> classes;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            StringClass c = classify(parts[i]);
            if (c == c_iso_date || c == c_url || c == c_decimal || c == c_empty) {
                c = c_text;
            }
            classes.push_back(c);
            if (i > 0) {
                pattern += separator;
            }
            pattern += k_class_names[c];
        }
        auto it = std::find_if(patterns.begin(), patterns.end(),
                               [&](const KeyPattern& p) { return p.pattern == pattern; });
        if (it == patterns.end()) {
            if (patterns.size() >= k_key_patterns) {
                ++other_patterns;
                return;
            }
            KeyPattern p;
            p.pattern = pattern;
            p.separator = separator;
            p.classes = classes;
            p.part_distinct.resize(parts.size());
            p.part_values.resize(parts.size());
            p.part_sample.assign(parts.size(), Reservoir<std::uint64_t>(k_relationship_sample));
            patterns.push_back(std::move(p));
            it = patterns.end() - 1;
        }
        KeyPattern& p = *it;
        ++p.count;
        p.examples.offer(random, [&] { return enmap::display_key(k); });
        for (std::size_t i = 0; i < parts.size(); ++i) {
            std::uint64_t ph = hash64(parts[i]);
            p.part_distinct[i].add(ph);
            p.part_values[i].add(parts[i]);
            if (parts.size() > 1) {
                p.part_sample[i].offer(random, [&] { return ph; });
            }
        }
        if (parts.size() == 1 && whole == c_integer && k[0] != '-') {
            std::uint64_t v = std::strtoull(std::string(k).c_str(), nullptr, 10);
            ++integer_keys;
            max_integer_key = std::max(max_integer_key, v);
            p.max_integer = std::max(p.max_integer, v);
            if (counter && static_cast<std::int64_t>(v) > *counter) {
                ++integer_keys_above_counter;
            }
        }
    }

    void add_row(const enmap::RawRow& row) {
        ++rows;
        frames.clear();
        row_key = row.key;
        value_bytes += row.value.size();
        value_sizes.add(row.value.size());
        violations.clear();
        scratch.clear();
        enmap::LossyCounts counts;
        enmap::DecodeOptions decode;  // error policies: what replay would refuse is listed, not fatal
        decode_key(row.key, decode, scratch, violations, counts);
        add_key(row.key);
        for (const auto& v : violations) {
            edge(v.detail.find("NUL") != std::string::npos ? "nul" : "invalid_utf8", "key");
        }
        if (row.value_is_null) {
            ++sql_null;
            edge("sql_null_value", "$");
            enter(t_null);
            return;
        }
        enmap::Encoding encoding = enmap::Encoding::k_json;
        auto forced = options.formats.find(table);
        try {
            if (forced != options.formats.end()) {
                encoding = forced->second;
            } else {
                violations.clear();
                scratch.clear();
                encoding = enmap::decode_value_detect(row.value, decode, scratch, violations, counts);
                if (row.parsed_value && encoding == enmap::Encoding::k_better_serialize) {
                    encoding = enmap::Encoding::k_json;  // an export's parsed value is never 6.x text
                }
            }
            violations.clear();
            scratch.clear();
            frames.clear();
            enmap::decode_value_visit(row.value, encoding, decode, *this, scratch, violations, counts);
        } catch (const enmap::DecodeError& e) {
            ++malformed;
            frames.clear();
            edge("malformed", e.what());
            return;
        }
        ++encodings[std::string(enmap::encoding_name(encoding))];
        for (const auto& v : violations) {
            if (v.kind == enmap::Violation::Kind::k_function) {
                continue;  // seen as a function event
            }
            std::string kind = v.detail.find("NUL") != std::string::npos         ? "nul"
                               : v.detail.find("surrogate") != std::string::npos ? "lone_surrogate"
                                                                                 : "invalid_utf8";
            edge(kind, v.path);
        }
    }

    [[nodiscard]] nlohmann::json example_json(const Example& e) const {
        nlohmann::json j = {{"key", e.key}, {"type", k_type_names[e.type]}};
        if (e.redacted) {
            j["length"] = e.length;
            j["class"] = k_class_names[e.cls];
            if (options.examples) {
                j["value"] = e.text;
            }
        } else {
            j["value"] = e.text;
        }
        return j;
    }

    [[nodiscard]] nlohmann::json node_json(const Node& n) const {
        nlohmann::json j;
        j["path"] = n.path;
        j["parent"] = n.parent < 0 ? nlohmann::json() : nlohmann::json(nodes[n.parent].path);
        j["role"] = k_role_names[static_cast<std::size_t>(n.role)];
        j["count"] = n.count;
        if (n.parent >= 0) {
            const Node& p = nodes[n.parent];
            if (n.role == Role::k_member) {
                std::uint64_t objects = p.types[t_object];
                j["presence"] = share(n.count, objects);
                j["presence_json"] = share(n.count - n.types[t_undefined], objects);
            } else {
                std::uint64_t containers = n.role == Role::k_element ? p.types[t_array] + p.types[t_set]
                                                                     : p.types[t_map] + p.types[t_object];
                j["per_parent"] =
                    containers == 0
                        ? 0.0
                        : std::round(static_cast<double>(n.count) / static_cast<double>(containers) * 100.0) /
                              100.0;
            }
        } else {
            j["presence"] = 1.0;
        }
        nlohmann::json types = nlohmann::json::object();
        for (std::size_t t = 0; t < t_count; ++t) {
            if (n.types[t] != 0) {
                types[k_type_names[t]] = n.types[t];
            }
        }
        j["types"] = types;
        if (n.distinct) {
            j["distinct"] = n.distinct->estimate();
            j["distinct_exact"] = n.distinct->is_exact();
        }
        if (n.strings) {
            const StringStats& s = *n.strings;
            nlohmann::json classes = nlohmann::json::object();
            for (std::size_t c = 0; c < c_count; ++c) {
                if (s.classes[c] != 0) {
                    classes[k_class_names[c]] = s.classes[c];
                }
            }
            nlohmann::json strings = {
                {"count", s.lengths.total()}, {"length", range_json(s.lengths)}, {"classes", classes}};
            std::uint64_t total = s.lengths.total();
            if (!s.values.overflow()) {
                auto top = s.values.top();
                bool id_class =
                    s.classes[c_snowflake] + s.classes[c_iso_date] + s.classes[c_uuid] > total / 2;
                bool candidate = !id_class && total >= 6 && top.size() <= 20 && top.size() * 3 <= total;
                nlohmann::json values = nlohmann::json::array();
                for (const auto& [value, count] : top) {
                    nlohmann::json v = {{"count", count}, {"length", value.size()}};
                    if (options.examples) {
                        v["value"] = value;
                    }
                    values.push_back(v);
                }
                strings["enum"] = {{"candidate", candidate}, {"values", values}};
            }
            j["strings"] = strings;
        }
        if (n.numbers) {
            const NumberStats& s = *n.numbers;
            j["numbers"] = {{"integers", s.integers},
                            {"floats", s.floats},
                            {"min", std::isfinite(s.min) ? nlohmann::json(s.min) : nlohmann::json()},
                            {"max", std::isfinite(s.max) ? nlohmann::json(s.max) : nlohmann::json()},
                            {"past_int4", s.past_int4},
                            {"past_int8", s.past_int8},
                            {"past_2_53", s.past_2_53},
                            {"epoch_ms", s.epoch_ms},
                            {"epoch_s", s.epoch_s},
                            {"nan", s.nan},
                            {"infinity", s.infinity},
                            {"negative_zero", s.negative_zero}};
        }
        if (n.bigints) {
            const BigIntStats& b = *n.bigints;
            j["bigints"] = {
                {"min", b.min}, {"max", b.max}, {"past_int8", b.past_int8}, {"max_digits", b.digits.max()}};
        }
        if (n.dates) {
            j["dates"] = {{"min", n.dates->min}, {"max", n.dates->max}, {"invalid", n.dates->invalid}};
        }
        if (n.types[t_array] + n.types[t_set] != 0) {
            j["arrays"] = {{"length", range_json(n.lengths)}, {"holes", n.holes}};
        }
        if (n.types[t_object] + n.types[t_map] != 0) {
            nlohmann::json objects = {{"members", range_json(n.members)},
                                      {"distinct_member_names", n.member_names.size() > k_record_members
                                                                    ? nlohmann::json()
                                                                    : nlohmann::json(n.member_names.size())},
                                      {"id_member_names", n.id_names},
                                      {"map_like", n.map_like || n.types[t_map] != 0}};
            if (n.map_like) {
                objects["map_reason"] = n.map_reason;
            } else if (n.types[t_map] != 0) {
                objects["map_reason"] = "a JavaScript Map";
            }
            j["objects"] = objects;
        }
        nlohmann::json examples = nlohmann::json::array();
        for (const auto& e : n.examples.items()) {
            examples.push_back(example_json(e));
        }
        j["examples"] = examples;
        return j;
    }

    void nodes_json(int index, nlohmann::json& out) const {
        const Node& n = nodes[index];
        out.push_back(node_json(n));
        std::vector<int> order = n.order;
        for (int c : order) {
            nodes_json(c, out);
        }
    }

    [[nodiscard]] nlohmann::json keys_json() const {
        nlohmann::json list = nlohmann::json::array();
        std::vector<const KeyPattern*> sorted;
        for (const auto& p : patterns) {
            sorted.push_back(&p);
        }
        std::stable_sort(sorted.begin(), sorted.end(),
                         [](const KeyPattern* a, const KeyPattern* b) { return a->count > b->count; });
        for (const KeyPattern* p : sorted) {
            nlohmann::json parts = nlohmann::json::array();
            for (std::size_t i = 0; i < p->classes.size(); ++i) {
                std::uint64_t d = p->part_distinct[i].estimate();
                nlohmann::json part = {{"class", k_class_names[p->classes[i]]},
                                       {"distinct", d},
                                       {"repeats", d < p->count},
                                       {"distinct_share", share(d, p->count)}};
                if (p->classes[i] == c_text && !p->part_values[i].overflow()) {
                    auto top = p->part_values[i].top();
                    if (top.size() <= 5) {
                        nlohmann::json values = nlohmann::json::array();
                        for (const auto& [value, count] : top) {
                            values.push_back({{"value", value}, {"count", count}});
                        }
                        part["values"] = values;  // key text: keys are shown, like every example key
                    }
                }
                parts.push_back(part);
            }
            nlohmann::json examples = nlohmann::json::array();
            for (const auto& e : p->examples.items()) {
                examples.push_back(e);
            }
            nlohmann::json j = {
                {"pattern", p->pattern},
                {"count", p->count},
                {"share", share(p->count, rows)},
                {"separator",
                 p->separator == 0 ? nlohmann::json() : nlohmann::json(std::string(1, p->separator))},
                {"parts", parts},
                {"examples", examples}};
            if (p->pattern == "integer") {
                j["max"] = p->max_integer;
            }
            list.push_back(j);
        }
        nlohmann::json keys = {
            {"distinct", key_distinct.estimate()}, {"patterns", list}, {"other_patterns", other_patterns}};
        if (!sorted.empty()) {
            keys["dominant"] = sorted.front()->pattern;
        }
        nlohmann::json autonum;
        if (counter && (integer_keys > 0 || *counter > 0)) {
            autonum = {{"counter", *counter},
                       {"integer_keys", integer_keys},
                       {"max_key", integer_keys == 0 ? nlohmann::json() : nlohmann::json(max_integer_key)},
                       {"keys_above_counter", integer_keys_above_counter},
                       {"consistent", integer_keys_above_counter == 0}};
        } else if (integer_keys > 0 && integer_keys == rows) {
            autonum = {{"counter", nullptr},
                       {"integer_keys", integer_keys},
                       {"max_key", max_integer_key},
                       {"keys_above_counter", 0},
                       {"consistent", nullptr}};
        }
        keys["autonum"] = autonum;
        return keys;
    }
};

TableProfile::TableProfile(std::string table, const AnalyzeOptions& options,
                           std::optional<std::int64_t> counter, std::size_t& key_budget)
    : m_state(std::make_unique<State>(std::move(table), options, counter, key_budget)) {}

TableProfile::~TableProfile() = default;

void TableProfile::add_row(const enmap::RawRow& row) {
    m_state->add_row(row);
}

void TableProfile::finish() {
    std::sort(m_state->key_hashes.begin(), m_state->key_hashes.end());
}

void TableProfile::release() {
    for (auto& n : m_state->nodes) {
        std::unordered_map<std::string, int>().swap(n.children);
        std::vector<int>().swap(n.order);
        std::vector<std::uint64_t>().swap(n.member_names);
        n.strings.reset();
        n.numbers.reset();
        n.bigints.reset();
        n.dates.reset();
        n.distinct.reset();
        n.examples = Reservoir<Example>(0);
    }
    for (auto& p : m_state->patterns) {
        p.part_distinct.clear();
        p.part_values.clear();
    }
}

const std::string& TableProfile::name() const {
    return m_state->table;
}

const std::vector<std::uint64_t>* TableProfile::key_index() const {
    return m_state->keys_complete ? &m_state->key_hashes : nullptr;
}

std::vector<RelationshipCandidate> TableProfile::candidates() const {
    std::vector<RelationshipCandidate> out;
    const State& s = *m_state;
    for (const auto& n : s.nodes) {
        if (n.related && n.related->seen() > 0) {
            RelationshipCandidate c;
            c.from = {{"path", n.path}};
            // the member name the values are under: `reminderId` of `$.reminderId` or `$.reminderIds[]`
            const Node* m = &n;
            while (m->role != Role::k_member && m->parent >= 0) {
                m = &s.nodes[m->parent];
            }
            if (m->role == Role::k_member) {
                const Node& parent = s.nodes[m->parent];
                std::string label = m->path.substr(parent.path.size());
                c.name = label.size() > 1 && label[0] == '.' ? label.substr(1) : label;
            }
            c.sample = &n.related->items();
            c.occurrences = n.related->seen();
            c.integers = n.related_integers > n.related_snowflakes;
            out.push_back(std::move(c));
        }
    }
    for (const auto& p : s.patterns) {
        if (p.classes.size() < 2) {
            continue;
        }
        for (std::size_t i = 0; i < p.classes.size(); ++i) {
            if (p.classes[i] != c_snowflake && p.classes[i] != c_integer && p.classes[i] != c_uuid) {
                continue;
            }
            RelationshipCandidate c;
            c.from = {{"key_part", i}, {"pattern", p.pattern}};
            c.sample = &p.part_sample[i].items();
            c.occurrences = p.part_sample[i].seen();
            c.integers = p.classes[i] == c_integer;
            c.own_key = true;
            out.push_back(std::move(c));
        }
    }
    return out;
}

nlohmann::json TableProfile::to_json() const {
    const State& s = *m_state;
    nlohmann::json encodings = nlohmann::json::object();
    for (const auto& [name, count] : s.encodings) {
        encodings[name] = count;
    }
    nlohmann::json edges = nlohmann::json::array();
    for (const auto& [kind, e] : s.edges) {
        nlohmann::json examples = nlohmann::json::array();
        for (const auto& [key, path] : e.examples) {
            examples.push_back({{"key", key}, {"path", path}});
        }
        edges.push_back({{"kind", kind}, {"count", e.count}, {"examples", examples}});
    }
    nlohmann::json paths = nlohmann::json::array();
    s.nodes_json(0, paths);
    return {{"name", s.table},
            {"rows", s.rows},
            {"key_bytes", s.key_bytes},
            {"value_bytes", s.value_bytes},
            {"value_size", range_json(s.value_sizes)},
            {"encodings", encodings},
            {"mixed_encodings", s.encodings.size() > 1},
            {"sql_null_values", s.sql_null},
            {"malformed_values", s.malformed},
            {"keys", s.keys_json()},
            {"paths", paths},
            {"paths_capped", s.untracked > 0},
            {"untracked_values", s.untracked},
            {"edge_cases", edges}};
}

}  // namespace analyze
