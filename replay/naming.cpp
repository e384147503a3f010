#include "replay/naming.hpp"

#include <cctype>

#include "enmap/error.hpp"

namespace replay {

namespace {
bool is_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
}  // namespace

bool is_plain_identifier(std::string_view name) {
    if (name.empty() || !(is_lower(name[0]) || name[0] == '_')) {
        return false;
    }
    for (char c : name) {
        if (!(is_lower(c) || is_digit(c) || c == '_')) {
            return false;
        }
    }
    return true;
}

std::string snake_case_name(std::string_view enmap_name) {
    if (is_plain_identifier(enmap_name)) {
        return std::string(enmap_name);
    }
    std::string out;
    for (std::size_t i = 0; i < enmap_name.size(); ++i) {
        char c = enmap_name[i];
        if (is_upper(c)) {
            bool after_word = i > 0 && (is_lower(enmap_name[i - 1]) || is_digit(enmap_name[i - 1]));
            bool acronym_end = i > 0 && is_upper(enmap_name[i - 1]) && i + 1 < enmap_name.size() &&
                               is_lower(enmap_name[i + 1]);
            if ((after_word || acronym_end) && !out.empty() && out.back() != '_') {
                out.push_back('_');
            }
            out.push_back(static_cast<char>(c - 'A' + 'a'));
        } else if (is_lower(c) || is_digit(c) || c == '_') {
            out.push_back(c);
        } else {
            out.push_back('_');
        }
    }
    if (out.empty() || is_digit(out[0])) {
        out.insert(out.begin(), '_');
    }
    return out;
}

std::map<std::string, std::string> parse_renames(const std::vector<std::string>& specs) {
    std::map<std::string, std::string> renames;
    for (const auto& spec : specs) {
        auto eq = spec.rfind('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
            throw enmap::UsageError("--rename " + spec +
                                    ": expected ENMAP=TABLE, e.g. --rename GuildConfig=guilds");
        }
        std::string table = spec.substr(eq + 1);
        if (!is_plain_identifier(table)) {
            throw enmap::UsageError("--rename " + spec + ": the table name '" + table +
                                    "' must match [a-z_][a-z0-9_]* (it becomes raw_" + table + ")");
        }
        renames[spec.substr(0, eq)] = table;
    }
    return renames;
}

std::string near_enmap_hint(const std::string& wanted, const std::vector<std::string>& enmaps) {
    auto lower = [](std::string s) {
        for (auto& c : s) {
            if (c >= 'A' && c <= 'Z') {
                c = static_cast<char>(c - 'A' + 'a');
            }
        }
        return s;
    };
    for (const auto& e : enmaps) {
        if (e != wanted && lower(e) == lower(wanted)) {
            std::string why = e == lower(wanted) ? "Enmap 5 stores enmap names lowercased ('" + wanted +
                                                       "' is kept as '" + e + "')"
                                                 : "the names differ only by case";
            return "the source has '" + e + "': " + why + "; name '" + e +
                   "' instead, and keep the table name " + "you want with a rename (--rename " + e + "=" +
                   snake_case_name(wanted) + ", or \"renames\": {\"" + e + "\": \"" +
                   snake_case_name(wanted) + "\"} in plan.json)";
        }
    }
    return {};
}

std::map<std::string, std::string> resolve_table_names(const std::vector<std::string>& enmaps,
                                                       const std::map<std::string, std::string>& renames) {
    for (const auto& [enmap, table] : renames) {
        bool known = false;
        for (const auto& e : enmaps) {
            known = known || e == enmap;
        }
        if (!known) {
            throw enmap::UsageError(
                "--rename " + enmap + "=" + table + ": the source has no enmap named '" + enmap + "'",
                near_enmap_hint(enmap, enmaps));
        }
    }
    std::map<std::string, std::string> tables;
    std::map<std::string, std::string> owner;  // table -> enmap
    owner[std::string(k_autonum_table)] = "internal::autonum";
    std::string problems;
    for (const auto& enmap : enmaps) {
        auto it = renames.find(enmap);
        std::string table = "raw_" + (it != renames.end() ? it->second : snake_case_name(enmap));
        if (table.size() > k_max_identifier_bytes) {
            problems += "\n  enmap '" + enmap + "' -> " + table + " is " + std::to_string(table.size()) +
                        " bytes, over PostgreSQL's limit of 63";
        }
        auto [pos, inserted] = owner.emplace(table, enmap);
        if (!inserted) {
            problems += "\n  enmaps '" + pos->second + "' and '" + enmap + "' both map to " + table;
        }
        tables[enmap] = table;
    }
    if (!problems.empty()) {
        throw enmap::InputError("table names do not work in PostgreSQL:" + problems,
                                "settle each with --rename ENMAP=TABLE (the table becomes raw_TABLE)");
    }
    return tables;
}

}  // namespace replay
