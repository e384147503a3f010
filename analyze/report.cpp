#include "analyze/report.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "enmap/error.hpp"

namespace analyze {

namespace {

using Json = nlohmann::json;

constexpr std::size_t k_review_limit = 40;

// A JSON string literal; invalid UTF-8 (a raw key's bytes) becomes U+FFFD.
std::string json_quoted(const Json& value) {
    return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string number_text(double v) {
    char buf[64];
    if (std::fabs(v) < 1e15 && v == std::floor(v)) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.6g", v);
    }
    return buf;
}

std::string bytes_text(std::uint64_t n) {
    const std::array<const char*, 5> units = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    std::size_t u = 0;
    while (v >= 1024 && u + 1 < units.size()) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

std::string percent(double share) {
    char buf[32];
    std::snprintf(buf, sizeof buf, share >= 0.9995 || share == 0 ? "%.0f%%" : "%.1f%%", share * 100);
    return buf;
}

std::uint64_t u64(const Json& j, const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_number() ? it->get<std::uint64_t>() : 0;
}

// The types of a path, most frequent first: "string 58, null 2".
std::string types_text(const Json& types) {
    std::vector<std::pair<std::string, std::uint64_t>> list;
    for (const auto& [name, count] : types.items()) {
        list.emplace_back(name, count.get<std::uint64_t>());
    }
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string out;
    for (const auto& [name, count] : list) {
        out += (out.empty() ? "" : ", ") + name + " " + std::to_string(count);
    }
    return out;
}

std::string example_text(const Json& e) {
    std::string out = "`" + e.value("key", "") + "`: ";
    if (e.contains("value")) {
        std::string v = e["value"].get<std::string>();
        return out + (e.value("type", "") == "string" ? json_quoted(v) : v);
    }
    return out + std::to_string(u64(e, "length")) + " chars, " + e.value("class", "text");
}

// One line per fact about a path, for both reports.
std::vector<std::string> path_details(const Json& p) {
    std::vector<std::string> out;
    if (p.contains("strings")) {
        const Json& s = p["strings"];
        std::string classes;
        for (const auto& [name, count] : s["classes"].items()) {
            classes +=
                (classes.empty() ? "" : ", ") + name + " " + std::to_string(count.get<std::uint64_t>());
        }
        out.push_back("strings: " + classes + "; length " + std::to_string(u64(s["length"], "min")) + "-" +
                      std::to_string(u64(s["length"], "max")));
        if (s.contains("enum") && s["enum"].value("candidate", false)) {
            std::string values;
            for (const auto& v : s["enum"]["values"]) {
                values += (values.empty() ? "" : ", ") +
                          (v.contains("value") ? json_quoted(v["value"])
                                               : std::to_string(u64(v, "length")) + " chars") +
                          " " + std::to_string(u64(v, "count"));
            }
            out.push_back("enum candidate, " + std::to_string(s["enum"]["values"].size()) +
                          " values: " + values);
        }
    }
    if (p.contains("numbers")) {
        const Json& n = p["numbers"];
        std::string line = "numbers: " + std::to_string(u64(n, "integers")) + " integers, " +
                           std::to_string(u64(n, "floats")) + " floats";
        if (n["min"].is_number()) {
            line += "; range " + number_text(n["min"].get<double>()) + " to " +
                    number_text(n["max"].get<double>());
        }
        out.push_back(line);
        if (u64(n, "past_2_53") > 0) {
            out.push_back("past 2^53: " + std::to_string(u64(n, "past_2_53")) +
                          " (already rounded by JavaScript)");
        } else if (u64(n, "past_int4") > 0) {
            out.push_back("past int4: " + std::to_string(u64(n, "past_int4")) + " (needs bigint)");
        }
        if (u64(n, "epoch_ms") > 0) {
            out.push_back("epoch-millisecond lookalikes: " + std::to_string(u64(n, "epoch_ms")));
        }
        if (u64(n, "epoch_s") > 0) {
            out.push_back("epoch-second lookalikes: " + std::to_string(u64(n, "epoch_s")));
        }
    }
    if (p.contains("bigints")) {
        const Json& b = p["bigints"];
        out.push_back("BigInt " + b.value("min", "") + " to " + b.value("max", "") +
                      (u64(b, "past_int8") > 0 ? "; past int8: " + std::to_string(u64(b, "past_int8")) : ""));
    }
    if (p.contains("dates")) {
        const Json& d = p["dates"];
        out.push_back("Dates " + d.value("min", "") + " to " + d.value("max", "") +
                      (u64(d, "invalid") > 0 ? "; invalid: " + std::to_string(u64(d, "invalid")) : ""));
    }
    if (p.contains("arrays")) {
        const Json& a = p["arrays"];
        char mean[32];
        std::snprintf(mean, sizeof mean, "%.1f", a["length"].value("mean", 0.0));
        out.push_back("length " + std::to_string(u64(a["length"], "min")) + "-" +
                      std::to_string(u64(a["length"], "max")) + ", mean " + mean +
                      (u64(a, "holes") > 0 ? "; holes: " + std::to_string(u64(a, "holes")) : ""));
    }
    if (p.contains("objects")) {
        const Json& o = p["objects"];
        std::string line = "members " + std::to_string(u64(o["members"], "min")) + "-" +
                           std::to_string(u64(o["members"], "max"));
        if (o.value("map_like", false)) {
            line += "; **map-like** (" + o.value("map_reason", "") + "): a child table";
        }
        out.push_back(line);
    }
    if (p.contains("distinct")) {
        out.push_back(std::string("distinct ") + (p.value("distinct_exact", true) ? "" : "~") +
                      std::to_string(u64(p, "distinct")));
    }
    if (!p["examples"].empty()) {
        std::string line = "e.g. ";
        bool first = true;
        for (const auto& e : p["examples"]) {
            line += (first ? "" : "; ") + example_text(e);
            first = false;
        }
        out.push_back(line);
    }
    return out;
}

std::string md_cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|') {
            out += "\\|";
        } else if (c == '\n') {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

std::string html_escape(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// Markdown's `code` and **bold** in a detail line, as HTML.
std::string html_inline(const std::string& text) {
    std::string escaped = html_escape(text);
    std::string out;
    bool code = false;
    bool bold = false;
    for (std::size_t i = 0; i < escaped.size(); ++i) {
        if (escaped[i] == '`') {
            out += code ? "</code>" : "<code>";
            code = !code;
        } else if (!code && escaped.compare(i, 2, "**") == 0) {
            out += bold ? "</b>" : "<b>";
            bold = !bold;
            ++i;
        } else {
            out += escaped[i];
        }
    }
    if (code) {
        out += "</code>";
    }
    if (bold) {
        out += "</b>";
    }
    return out;
}

std::string relationship_from(const Json& r) {
    const Json& f = r["from"];
    if (f.contains("path")) {
        return f.value("table", "") + " " + f.value("path", "");
    }
    return f.value("table", "") + " key part " + std::to_string(u64(f, "key_part") + 1) + " of " +
           f.value("pattern", "");
}

std::string encodings_text(const Json& encodings) {
    std::string out;
    for (const auto& [name, count] : encodings.items()) {
        out += (out.empty() ? "" : ", ") + name + " " + std::to_string(count.get<std::uint64_t>());
    }
    return out.empty() ? "none" : out;
}

std::string key_parts_text(const Json& pattern) {
    std::string out;
    std::size_t i = 0;
    for (const auto& part : pattern["parts"]) {
        ++i;
        if (pattern["parts"].size() < 2) {
            break;
        }
        out += (out.empty() ? "" : "; ") + std::string("part ") + std::to_string(i) + " " +
               part.value("class", "") + ", " + std::to_string(u64(part, "distinct")) + " distinct" +
               (part.value("repeats", false) ? " (repeats)" : "");
        if (part.contains("values") && part["values"].size() == 1) {
            out += ", always " + json_quoted(part["values"][0]["value"]);
        }
    }
    return out;
}

const std::array<std::pair<const char*, const char*>, 15> k_type_colors = {{{"string", "#4e79a7"},
                                                                            {"integer", "#59a14f"},
                                                                            {"float", "#8cd17d"},
                                                                            {"boolean", "#f28e2b"},
                                                                            {"null", "#bab0ac"},
                                                                            {"undefined", "#d7d2cc"},
                                                                            {"Date", "#e15759"},
                                                                            {"BigInt", "#b07aa1"},
                                                                            {"Map", "#76b7b2"},
                                                                            {"Set", "#9c755f"},
                                                                            {"RegExp", "#ff9da7"},
                                                                            {"URL", "#edc948"},
                                                                            {"function", "#000000"},
                                                                            {"object", "#a0cbe8"},
                                                                            {"array", "#ffbe7d"}}};

std::string svg_presence(double share) {
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        "<svg class=\"bar\" width=\"90\" height=\"14\" role=\"img\"><title>%s present</title>"
        "<rect width=\"90\" height=\"14\" fill=\"#eee\"/><rect width=\"%.1f\" height=\"14\" fill=\"%s\"/>"
        "<text x=\"45\" y=\"11\" text-anchor=\"middle\">%s</text></svg>",
        percent(share).c_str(), 90 * share, share >= 0.9995 ? "#59a14f" : "#f28e2b", percent(share).c_str());
    return buf;
}

std::string svg_types(const Json& types) {
    std::uint64_t total = 0;
    for (const auto& [name, count] : types.items()) {
        total += count.get<std::uint64_t>();
    }
    std::string out = "<svg class=\"bar\" width=\"160\" height=\"14\" role=\"img\"><title>" +
                      html_escape(types_text(types)) +
                      "</title><rect width=\"160\" height=\"14\" fill=\"#eee\"/>";
    double x = 0;
    for (const auto& [type, color] : k_type_colors) {
        if (!types.contains(type) || total == 0) {
            continue;
        }
        double w = 160.0 * static_cast<double>(types[type].get<std::uint64_t>()) / static_cast<double>(total);
        char buf[256];
        std::snprintf(buf, sizeof buf, "<rect x=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\"/>", x, w,
                      color);
        out += buf;
        x += w;
    }
    return out + "</svg>";
}

std::string bucket_label(std::uint64_t v, bool bytes) {
    if (!bytes) {
        return v >= 1000000 ? number_text(static_cast<double>(v) / 1e6) + "M"
               : v >= 1000  ? number_text(std::floor(static_cast<double>(v) / 1e3)) + "k"
                            : std::to_string(v);
    }
    constexpr std::uint64_t k_mib = std::uint64_t{1} << 20;
    if (v >= k_mib) {
        return std::to_string(v / k_mib) + "M";
    }
    return v >= 1024 ? std::to_string(v / 1024) + "K" : std::to_string(v);
}

// A histogram of log2 buckets, as bars over the range from the first to the last bucket used.
std::string svg_histogram(const Json& histogram, const std::string& title, bool bytes, int width = 300) {
    if (histogram.empty()) {
        return "";
    }
    std::uint64_t top = 0;
    for (const auto& b : histogram) {
        top = std::max(top, u64(b, "count"));
    }
    const int height = 70;
    const int bars = static_cast<int>(histogram.size());
    const double slot = static_cast<double>(width - 10) / bars;
    std::string out = "<svg class=\"hist\" width=\"" + std::to_string(width) + "\" height=\"" +
                      std::to_string(height + 30) + "\" role=\"img\"><title>" + html_escape(title) +
                      "</title>";
    int i = 0;
    for (const auto& b : histogram) {
        double h =
            static_cast<double>(height) * static_cast<double>(u64(b, "count")) / static_cast<double>(top);
        double x = 5 + i * slot;
        std::uint64_t lo = u64(b, "min");
        std::uint64_t hi = u64(b, "max");
        std::string range =
            lo == hi ? bucket_label(lo, bytes) : bucket_label(lo, bytes) + "-" + bucket_label(hi, bytes);
        char buf[768];
        std::snprintf(buf, sizeof buf,
                      "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                      "fill=\"#4e79a7\"><title>%s: %llu</title></rect>"
                      "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"n\">%llu</text>",
                      x + 1, height - h + 12, std::max(1.0, slot - 2), h, html_escape(range).c_str(),
                      static_cast<unsigned long long>(u64(b, "count")), x + slot / 2, height + 26,
                      html_escape(bars > 8 ? bucket_label(lo, bytes) : range).c_str(), x + slot / 2,
                      height - h + 10, static_cast<unsigned long long>(u64(b, "count")));
        out += buf;
        ++i;
    }
    return out + "</svg>";
}

std::size_t depth_of(const std::string& path) {
    std::size_t d = 0;
    for (std::size_t i = 1; i < path.size(); ++i) {
        char c = path[i];
        if (c == '.' || c == '[' || c == '{') {
            ++d;
        }
        if (c == '"') {  // skip a quoted member name
            auto end = path.find("\"]", i + 1);
            i = end == std::string::npos ? path.size() : end + 1;
        }
    }
    return d;
}

constexpr const char* k_css = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#f6f7f9}
header{background:#1f2d3d;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9d3df}
main{padding:12px 28px 40px;max-width:1400px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}
.card{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:20px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:6px 18px 14px;margin:16px 0}
h2{font-size:18px;margin:12px 0 6px}
h3{font-size:15px;margin:14px 0 6px;color:#444}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}
th,td{text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid #eceff3}
th{background:#f0f3f6;font-weight:600}
td.path{font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}
code{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f0f3f6;padding:0 3px;border-radius:3px}
.bar text{font-size:10px;fill:#222}
.hist text{font-size:9px;fill:#555}
.hist text.n{fill:#222}
.facts{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
.facts dl{display:grid;grid-template-columns:auto auto;gap:2px 12px;margin:6px 0}
.facts dt{color:#666}
.flag{color:#b35c00;font-weight:600}
.legend span{display:inline-block;margin-right:10px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;vertical-align:middle}
ul.review li{margin:2px 0}
.details div{font-size:12.5px;color:#333}
nav a{margin-right:12px}
)";

}  // namespace

std::vector<std::string> review_points(const Json& table) {
    std::vector<std::string> out;
    if (table.value("mixed_encodings", false)) {
        out.push_back(
            "Rows in more than one encoding (" + encodings_text(table["encodings"]) +
            "): written by several Enmap generations; replay decodes each row by its own encoding.");
    }
    if (u64(table, "sql_null_values") > 0) {
        out.push_back(std::to_string(u64(table, "sql_null_values")) +
                      " SQL NULL values (Enmap 4-5.7's set(key, undefined)): they load as JSON null.");
    }
    if (u64(table, "malformed_values") > 0) {
        out.push_back(
            std::to_string(u64(table, "malformed_values")) +
            " malformed values: replay will refuse this table until they are fixed or --format is given.");
    }
    const Json& autonum = table["keys"]["autonum"];
    if (autonum.is_object()) {
        if (autonum["consistent"].is_boolean() && !autonum["consistent"].get<bool>()) {
            out.push_back(std::to_string(u64(autonum, "keys_above_counter")) +
                          " integer keys above the autonum counter " +
                          std::to_string(u64(autonum, "counter")) +
                          ": the next autonum would collide; set the sequence past the highest key.");
        } else if (autonum["counter"].is_null()) {
            out.push_back(
                "Integer keys but no internal::autonum counter (an export?): give replay --autonum " +
                table.value("name", "") + "=N.");
        } else {
            out.push_back("Autonum keys (counter " + std::to_string(u64(autonum, "counter")) +
                          "): use an identity column or a sequence set from the counter.");
        }
    }
    if (table.value("paths_capped", false)) {
        out.push_back("The field tree hit the path limit; " + std::to_string(u64(table, "untracked_values")) +
                      " values at further paths were not profiled (raise --max-paths).");
    }
    for (const auto& p : table["paths"]) {
        const std::string path = p.value("path", "");
        const Json& types = p["types"];
        std::size_t kinds = 0;
        for (const auto& [name, count] : types.items()) {
            kinds += name != "null" && name != "undefined" ? 1 : 0;
        }
        if (kinds > 1) {
            out.push_back("`" + path + "` mixes types (" + types_text(types) + "): a cast must handle each.");
        }
        if (p.value("role", "") == "member" && p.contains("presence_json") &&
            p["presence_json"].get<double>() < 1.0) {
            out.push_back("`" + path + "` is missing (or undefined) in " +
                          percent(1.0 - p["presence_json"].get<double>()) +
                          " of its parents: nullable, or a default.");
        }
        if (p.contains("numbers")) {
            const Json& n = p["numbers"];
            if (u64(n, "past_2_53") > 0) {
                out.push_back("`" + path + "` holds integers past 2^53, already rounded by JavaScript.");
            } else if (u64(n, "past_int4") > 0) {
                out.push_back("`" + path + "` holds integers past int4: bigint, not integer.");
            }
            if (u64(n, "epoch_ms") > 0) {
                out.push_back("`" + path + "` holds " + std::to_string(u64(n, "epoch_ms")) +
                              " numbers that look like epoch milliseconds: timestamps?");
            }
        }
        if (p.contains("bigints") && u64(p["bigints"], "past_int8") > 0) {
            out.push_back("`" + path + "` holds BigInts past int8: numeric, not bigint.");
        }
        if (p.contains("strings") && p.contains("numbers") && u64(p["strings"]["classes"], "iso_date") > 0 &&
            u64(p["numbers"], "epoch_ms") > 0) {
            out.push_back("`" + path + "` holds dates both as ISO strings and as epoch numbers.");
        }
        if (p.contains("objects") && p["objects"].value("map_like", false)) {
            out.push_back("`" + path + "` is map-like (" + p["objects"].value("map_reason", "") +
                          "): a child table.");
        }
    }
    for (const auto& e : table["edge_cases"]) {
        out.push_back("Edge case " + e.value("kind", "") + ": " + std::to_string(u64(e, "count")) +
                      " (see below).");
    }
    if (out.size() > k_review_limit) {
        std::size_t more = out.size() - k_review_limit;
        out.resize(k_review_limit);
        out.push_back("... and " + std::to_string(more) + " more.");
    }
    return out;
}

std::string render_markdown(const Json& shapes) {
    std::string md;
    const Json& source = shapes["source"];
    md += "# Data shapes of " + source.value("description", "") + "\n\n";
    md += "Made by `enmap-migrate analyze` (shapes.json version " + std::to_string(u64(shapes, "version")) +
          "): " + std::to_string(u64(shapes["summary"], "tables")) + " tables, " +
          std::to_string(u64(shapes["summary"], "rows")) + " rows. ";
    md += shapes["options"].value("examples", false)
              ? "String values are shown (`--examples`): this report may hold personal data.\n\n"
              : "String values are redacted (their length and class only); `--examples` shows them.\n\n";

    md +=
        "| table | rows | values | encodings | key pattern | paths | edge cases "
        "|\n|---|---|---|---|---|---|---|\n";
    for (const auto& t : shapes["tables"]) {
        std::uint64_t edges = 0;
        for (const auto& e : t["edge_cases"]) {
            edges += u64(e, "count");
        }
        md += "| [" + t.value("name", "") + "](#table-" + t.value("name", "") + ") | " +
              std::to_string(u64(t, "rows")) + " | " + bytes_text(u64(t, "value_bytes")) + " | " +
              md_cell(encodings_text(t["encodings"])) +
              (t.value("mixed_encodings", false) ? " **mixed**" : "") + " | " +
              t["keys"].value("dominant", "-") + " | " + std::to_string(t["paths"].size()) + " | " +
              std::to_string(edges) + " |\n";
    }
    md += "\n## Relationships\n\n";
    if (shapes["relationships"].empty()) {
        md += "None found: no field or key part holds values that are keys of another table.\n";
    } else {
        md +=
            "Values of a field or key part that are keys of another table (a sample of up to 512 values "
            "each).\n\n";
        md += "| from | to (keys of) | found | share | foreign-key candidate |\n|---|---|---|---|---|\n";
        for (const auto& r : shapes["relationships"]) {
            md += "| " + md_cell(relationship_from(r)) + " | " + r["to"].value("table", "") + " | " +
                  std::to_string(u64(r, "found")) + "/" + std::to_string(u64(r, "sampled")) + " | " +
                  percent(r["share"].get<double>()) + " | " +
                  (r.value("foreign_key_candidate", false) ? "yes" : "no") + " |\n";
        }
    }
    for (const auto& t : shapes["tables"]) {
        const std::string name = t.value("name", "");
        md.append("\n<a id=\"table-")
            .append(name)
            .append("\"></a>\n\n## Table `")
            .append(name)
            .append("`\n\n");
        md += "- rows: " + std::to_string(u64(t, "rows")) + "; keys " + bytes_text(u64(t, "key_bytes")) +
              ", values " + bytes_text(u64(t, "value_bytes")) + " (value size " +
              std::to_string(u64(t["value_size"], "min")) + "-" +
              std::to_string(u64(t["value_size"], "max")) + " bytes)\n";
        md += "- encodings: " + encodings_text(t["encodings"]) +
              (t.value("mixed_encodings", false) ? " (**mixed generations**)" : "") + "\n";
        if (u64(t, "sql_null_values") > 0) {
            md += "- SQL NULL values: **" + std::to_string(u64(t, "sql_null_values")) + "**\n";
        }
        md += "\n### Review\n\n";
        auto points = review_points(t);
        if (points.empty()) {
            md += "Nothing stands out.\n";
        }
        for (const auto& point : points) {
            md += "- " + point + "\n";
        }
        md += "\n### Keys\n\n| pattern | share | parts | examples |\n|---|---|---|---|\n";
        for (const auto& k : t["keys"]["patterns"]) {
            std::string examples;
            for (const auto& e : k["examples"]) {
                examples += (examples.empty() ? "" : ", ") + ("`" + e.get<std::string>() + "`");
            }
            md += "| `" + md_cell(k.value("pattern", "")) + "` | " + percent(k["share"].get<double>()) +
                  " | " + md_cell(key_parts_text(k)) + " | " + md_cell(examples) + " |\n";
        }
        md += "\n### Fields\n\n| path | count | presence | types | details |\n|---|---|---|---|---|\n";
        for (const auto& p : t["paths"]) {
            std::string presence = p.contains("presence") ? percent(p["presence"].get<double>())
                                   : p.contains("per_parent")
                                       ? number_text(p["per_parent"].get<double>()) + " per parent"
                                       : "";
            if (p.contains("presence_json") && p["presence_json"] != p["presence"]) {
                presence += " (" + percent(p["presence_json"].get<double>()) + " not undefined)";
            }
            std::string details;
            for (const auto& line : path_details(p)) {
                details += (details.empty() ? "" : "<br>") + line;
            }
            md += "| `" + md_cell(p.value("path", "")) + "` | " + std::to_string(u64(p, "count")) + " | " +
                  presence + " | " + md_cell(types_text(p["types"])) + " | " + md_cell(details) + " |\n";
        }
        if (!t["edge_cases"].empty()) {
            md += "\n### Edge cases\n\n| kind | count | examples (key at path) |\n|---|---|---|\n";
            for (const auto& e : t["edge_cases"]) {
                std::string examples;
                for (const auto& x : e["examples"]) {
                    examples += (examples.empty() ? "" : ", ") +
                                ("`" + x.value("key", "") + "` at `" + x.value("path", "") + "`");
                }
                md += "| " + e.value("kind", "") + " | " + std::to_string(u64(e, "count")) + " | " +
                      md_cell(examples) + " |\n";
            }
        }
    }
    return md;
}

std::string render_html(const Json& shapes) {
    std::string h;
    const Json& source = shapes["source"];
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>Data shapes: " +
         html_escape(source.value("description", "")) + "</title><style>" + k_css + "</style></head><body>\n";
    h += "<header><h1>Data shapes of " + html_escape(source.value("description", "")) +
         "</h1><p>enmap-migrate analyze, shapes.json version " + std::to_string(u64(shapes, "version")) +
         ". " +
         (shapes["options"].value("examples", false)
              ? "String values are shown (--examples): this report may hold personal data."
              : "String values are redacted: their length and class only (--examples shows them).") +
         "</p></header><main>\n";
    const Json& summary = shapes["summary"];
    h += "<div class=\"cards\"><div class=\"card\"><b>" + std::to_string(u64(summary, "tables")) +
         "</b>tables</div><div class=\"card\"><b>" + std::to_string(u64(summary, "rows")) +
         "</b>rows</div><div class=\"card\"><b>" + std::to_string(u64(summary, "relationships")) +
         "</b>relationships</div><div class=\"card\"><b>" + std::to_string(u64(summary, "edge_cases")) +
         "</b>edge cases met</div></div>\n";
    h += "<section><h2>Tables</h2><table><tr><th>table</th><th>rows</th><th>values</th><th>encodings</"
         "th><th>key "
         "pattern</th><th>paths</th><th>review</th></tr>";
    for (const auto& t : shapes["tables"]) {
        const std::string name = html_escape(t.value("name", ""));
        h.append("<tr><td><a href=\"#t-").append(name).append("\">").append(name);
        h += "</a></td><td>" + std::to_string(u64(t, "rows")) + "</td><td>" +
             bytes_text(u64(t, "value_bytes")) + "</td><td>" + html_escape(encodings_text(t["encodings"])) +
             (t.value("mixed_encodings", false) ? " <span class=\"flag\">mixed</span>" : "") +
             "</td><td><code>" + html_escape(t["keys"].value("dominant", "-")) + "</code></td><td>" +
             std::to_string(t["paths"].size()) + "</td><td>" + std::to_string(review_points(t).size()) +
             "</td></tr>";
    }
    h += "</table></section>\n<section><h2>Relationships</h2>";
    if (shapes["relationships"].empty()) {
        h += "<p>None found.</p>";
    } else {
        h += "<table><tr><th>from</th><th>to (keys of)</th><th>found</th><th>share</th><th>foreign-key "
             "candidate</th></tr>";
        for (const auto& r : shapes["relationships"]) {
            double s = r["share"].get<double>();
            h += "<tr><td><code>" + html_escape(relationship_from(r)) + "</code></td><td>" +
                 html_escape(r["to"].value("table", "")) + "</td><td>" + std::to_string(u64(r, "found")) +
                 "/" + std::to_string(u64(r, "sampled")) + "</td><td>" + svg_presence(s) + "</td><td>" +
                 (r.value("foreign_key_candidate", false) ? "yes" : "no") + "</td></tr>";
        }
        h += "</table>";
    }
    h += "</section>\n";
    h += "<div class=\"legend\">";
    for (const auto& [type, color] : k_type_colors) {
        h += std::string("<span><i style=\"background:") + color + "\"></i>" + type + "</span>";
    }
    h += "</div>\n";
    for (const auto& t : shapes["tables"]) {
        const std::string name = html_escape(t.value("name", ""));
        h.append("<section id=\"t-").append(name).append("\"><h2>Table <code>").append(name);
        h += "</code></h2><div class=\"facts\"><dl>";
        h += "<dt>rows</dt><dd>" + std::to_string(u64(t, "rows")) + "</dd><dt>keys</dt><dd>" +
             bytes_text(u64(t, "key_bytes")) + "</dd><dt>values</dt><dd>" +
             bytes_text(u64(t, "value_bytes")) + "</dd><dt>encodings</dt><dd>" +
             html_escape(encodings_text(t["encodings"])) +
             (t.value("mixed_encodings", false) ? " <span class=\"flag\">mixed generations</span>" : "") +
             "</dd>";
        if (u64(t, "sql_null_values") > 0) {
            h += "<dt>SQL NULL</dt><dd class=\"flag\">" + std::to_string(u64(t, "sql_null_values")) + "</dd>";
        }
        h += "</dl><div><h3>Value size (bytes)</h3>" +
             svg_histogram(t["value_size"]["histogram"], "value sizes", true) + "</div></div>";
        auto points = review_points(t);
        if (!points.empty()) {
            h += "<h3>Review</h3><ul class=\"review\">";
            for (const auto& point : points) {
                h += "<li>" + html_inline(point) + "</li>";
            }
            h += "</ul>";
        }
        h += "<h3>Keys</h3><table><tr><th>pattern</th><th>share</th><th>parts</th><th>examples</th></tr>";
        for (const auto& k : t["keys"]["patterns"]) {
            std::string examples;
            for (const auto& e : k["examples"]) {
                examples += (examples.empty() ? "" : " ") +
                            ("<code>" + html_escape(e.get<std::string>()) + "</code>");
            }
            h += "<tr><td><code>" + html_escape(k.value("pattern", "")) + "</code></td><td>" +
                 svg_presence(k["share"].get<double>()) + "</td><td>" + html_escape(key_parts_text(k)) +
                 "</td><td>" + examples + "</td></tr>";
        }
        h += "</table>";
        const Json& autonum = t["keys"]["autonum"];
        if (autonum.is_object()) {
            h += "<p>autonum: counter " +
                 (autonum["counter"].is_null() ? std::string("none")
                                               : std::to_string(u64(autonum, "counter"))) +
                 ", highest integer key " +
                 (autonum["max_key"].is_null() ? std::string("-") : std::to_string(u64(autonum, "max_key"))) +
                 (autonum["consistent"].is_boolean() && !autonum["consistent"].get<bool>()
                      ? " <span class=\"flag\">keys above the counter</span>"
                      : "") +
                 "</p>";
        }
        h += "<h3>Fields</h3><table><tr><th>path</th><th>count</th><th>presence</th><th>types</"
             "th><th>details</th></tr>";
        for (const auto& p : t["paths"]) {
            const std::string path = p.value("path", "");
            std::string presence =
                p.contains("presence_json") ? svg_presence(p["presence_json"].get<double>())
                : p.contains("presence")    ? svg_presence(p["presence"].get<double>())
                : p.contains("per_parent")  ? number_text(p["per_parent"].get<double>()) + " each"
                                            : "";
            std::string details;
            for (const auto& line : path_details(p)) {
                details += "<div>" + html_inline(line) + "</div>";
            }
            if (p.contains("arrays") && p["arrays"]["length"]["histogram"].size() > 1) {
                details +=
                    svg_histogram(p["arrays"]["length"]["histogram"], "array lengths of " + path, false, 220);
            }
            if (p.contains("strings") && p["strings"]["length"]["histogram"].size() > 2) {
                details += svg_histogram(p["strings"]["length"]["histogram"], "string lengths of " + path,
                                         false, 220);
            }
            h += "<tr><td class=\"path\" style=\"padding-left:" + std::to_string(8 + 14 * depth_of(path)) +
                 "px\">" + html_escape(path) + "</td><td>" + std::to_string(u64(p, "count")) + "</td><td>" +
                 presence + "</td><td>" + svg_types(p["types"]) + "<div class=\"details\"><div>" +
                 html_escape(types_text(p["types"])) + "</div></div></td><td class=\"details\">";
            h.append(details).append("</td></tr>");
        }
        h += "</table>";
        if (!t["edge_cases"].empty()) {
            h += "<h3>Edge cases</h3><table><tr><th>kind</th><th>count</th><th>examples (key at "
                 "path)</th></tr>";
            for (const auto& e : t["edge_cases"]) {
                std::string examples;
                for (const auto& x : e["examples"]) {
                    examples += (examples.empty() ? "" : ", ") +
                                ("<code>" + html_escape(x.value("key", "")) + "</code> at <code>" +
                                 html_escape(x.value("path", "")) + "</code>");
                }
                h += "<tr><td>" + html_escape(e.value("kind", "")) + "</td><td>" +
                     std::to_string(u64(e, "count")) + "</td><td>" + examples + "</td></tr>";
            }
            h += "</table>";
        }
        h += "</section>\n";
    }
    h += "</main></body></html>\n";
    return h;
}

void write_reports(const std::filesystem::path& dir, const Json& shapes) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        throw enmap::InputError("cannot create " + dir.string() + ": " + ec.message(),
                                "choose another --out folder");
    }
    auto write = [&](const char* name, const std::string& text) {
        std::filesystem::path path = dir / name;
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
        out.close();
        if (!out) {
            throw enmap::InputError("cannot write " + path.string(), "check the disk and the --out folder");
        }
    };
    write("shapes.json", shapes.dump(2, ' ', false, Json::error_handler_t::replace) + "\n");
    write("report.md", render_markdown(shapes));
    write("report.html", render_html(shapes));
}

}  // namespace analyze
