#pragma once
// A validator for the part of JSON Schema (2020-12) that docs/events.schema.json uses: type,
// const, enum, pattern, minimum, properties, required, additionalProperties, items, oneOf and
// local $ref. Any other keyword is an error, so the schema cannot use more than is checked here.

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace schema_subset {

class Validator {
public:
    explicit Validator(nlohmann::json root) : m_root(std::move(root)) {}

    /// The errors of `value` against the root schema (empty when it validates).
    std::vector<std::string> errors(const nlohmann::json& value) const {
        std::vector<std::string> out;
        check(m_root, value, "$", out);
        return out;
    }

private:
    const nlohmann::json& resolve(const std::string& ref) const {
        if (!ref.starts_with("#/$defs/")) {
            throw std::runtime_error("unsupported $ref " + ref);
        }
        return m_root.at("$defs").at(ref.substr(8));
    }

    static bool has_type(const nlohmann::json& v, const std::string& type) {
        if (type == "object") {
            return v.is_object();
        }
        if (type == "array") {
            return v.is_array();
        }
        if (type == "string") {
            return v.is_string();
        }
        if (type == "integer") {
            return v.is_number_integer();
        }
        if (type == "number") {
            return v.is_number();
        }
        if (type == "boolean") {
            return v.is_boolean();
        }
        if (type == "null") {
            return v.is_null();
        }
        throw std::runtime_error("unknown type " + type);
    }

    void check(const nlohmann::json& s, const nlohmann::json& v, const std::string& at,
               std::vector<std::string>& out) const {
        static const std::set<std::string> k_known = {
            "$schema", "$id",     "$defs",      "title",    "description",          "type",  "const", "enum",
            "pattern", "minimum", "properties", "required", "additionalProperties", "items", "oneOf", "$ref"};
        for (const auto& [keyword, _] : s.items()) {
            if (k_known.count(keyword) == 0) {
                throw std::runtime_error("the schema uses " + keyword +
                                         ", which this validator does not check");
            }
        }
        if (s.contains("$ref")) {
            check(resolve(s["$ref"]), v, at, out);
        }
        if (s.contains("type") && !has_type(v, s["type"])) {
            out.push_back(at + ": expected " + s["type"].get<std::string>() + ", got " + v.dump());
            return;
        }
        if (s.contains("const") && v != s["const"]) {
            out.push_back(at + ": expected " + s["const"].dump() + ", got " + v.dump());
        }
        if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) {
            out.push_back(at + ": " + v.dump() + " is not one of " + s["enum"].dump());
        }
        if (s.contains("pattern") && v.is_string() &&
            !std::regex_search(v.get<std::string>(), std::regex(s["pattern"].get<std::string>()))) {
            out.push_back(at + ": " + v.dump() + " does not match " + s["pattern"].get<std::string>());
        }
        if (s.contains("minimum") && v.is_number() && v.get<double>() < s["minimum"].get<double>()) {
            out.push_back(at + ": " + v.dump() + " is below " + s["minimum"].dump());
        }
        if (v.is_object()) {
            for (const auto& name : s.value("required", nlohmann::json::array())) {
                if (!v.contains(name.get<std::string>())) {
                    out.push_back(at + ": missing " + name.get<std::string>());
                }
            }
            for (const auto& [name, item] : v.items()) {
                if (s.contains("properties") && s["properties"].contains(name)) {
                    check(s["properties"][name], item, at + "." + name, out);
                } else if (s.contains("additionalProperties")) {
                    const auto& extra = s["additionalProperties"];
                    if (extra.is_boolean()) {
                        if (!extra.get<bool>()) {
                            out.push_back(at + ": " + name + " is not in the schema");
                        }
                    } else {
                        check(extra, item, at + "." + name, out);
                    }
                }
            }
        }
        if (v.is_array() && s.contains("items")) {
            for (std::size_t i = 0; i < v.size(); ++i) {
                check(s["items"], v[i], at + "[" + std::to_string(i) + "]", out);
            }
        }
        if (s.contains("oneOf")) {
            int matches = 0;
            std::vector<std::string> closest;
            for (const auto& option : s["oneOf"]) {
                std::vector<std::string> errs;
                check(option, v, at, errs);
                if (errs.empty()) {
                    ++matches;
                } else if (closest.empty() || errs.size() < closest.size()) {
                    closest = errs;
                }
            }
            if (matches != 1) {
                out.push_back(at + ": matches " + std::to_string(matches) + " of oneOf's schemas" +
                              (matches == 0 ? "; nearest: " + (closest.empty() ? "" : closest.front()) : ""));
                if (matches == 0) {
                    out.insert(out.end(), closest.begin(), closest.end());
                }
            }
        }
    }

    nlohmann::json m_root;
};

}  // namespace schema_subset
