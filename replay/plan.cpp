#include "replay/plan.hpp"

#include <spdlog/spdlog.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "enmap/decode.hpp"
#include "enmap/error.hpp"
#include "replay/digest.hpp"
#include "replay/drizzle.hpp"
#include "replay/naming.hpp"
#include "replay/paths.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw enmap::InputError("cannot read " + path.string(), "check that the file exists and is readable");
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    if (!out) {
        throw enmap::InputError("cannot write " + path.string());
    }
}

std::vector<std::string> string_list(const nlohmann::json& j, const std::string& where,
                                     std::string& problems) {
    std::vector<std::string> out;
    if (j.is_null()) {
        return out;
    }
    if (!j.is_array()) {
        problems += "\n  " + where + " must be an array of strings";
        return out;
    }
    for (const auto& item : j) {
        if (!item.is_string()) {
            problems += "\n  " + where + " must be an array of strings";
            return out;
        }
        out.push_back(item.get<std::string>());
    }
    return out;
}

bool valid_module_name(const std::string& name) {
    if (name.empty()) {
        return false;
    }
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-')) {
            return false;
        }
    }
    return true;
}

// "renames", "formats" and "policies" of plan.json; problems are appended, one per line.
PlanSettings parse_settings(const nlohmann::json& j, std::string& problems) {
    PlanSettings settings;
    auto string_map = [&](const char* field, std::map<std::string, std::string>& out) {
        if (!j.contains(field) || j[field].is_null()) {
            return;
        }
        if (!j[field].is_object()) {
            problems += std::string("\n  \"") + field + "\" must be an object of ENMAP: NAME";
            return;
        }
        for (const auto& [k, v] : j[field].items()) {
            if (!v.is_string()) {
                problems += std::string("\n  \"") + field + "\" of '" + k + "' must be a string";
                continue;
            }
            out[k] = v.get<std::string>();
        }
    };
    string_map("renames", settings.renames);
    string_map("formats", settings.formats);
    for (const auto& [enmap, table] : settings.renames) {
        if (!is_plain_identifier(table)) {
            problems += "\n  \"renames\": the table name '" + table + "' of '" + enmap +
                        "' must match [a-z_][a-z0-9_]* (it becomes raw_" + table + ")";
        }
    }
    for (const auto& [enmap, format] : settings.formats) {
        try {
            enmap::parse_encoding(format);
        } catch (const enmap::UsageError&) {
            problems += "\n  \"formats\": '" + format + "' of '" + enmap +
                        "' is not json, serialize-javascript or better-serialize";
        }
    }
    if (j.contains("policies") && !j["policies"].is_null()) {
        const auto& p = j["policies"];
        auto choice = [&](const char* field, std::initializer_list<const char*> allowed, std::string& out) {
            if (!p.is_object() || !p.contains(field)) {
                return;
            }
            std::string value = p[field].is_string() ? p[field].get<std::string>() : p[field].dump();
            for (const char* a : allowed) {
                if (value == a) {
                    out = value;
                    return;
                }
            }
            problems += std::string("\n  \"policies\".\"") + field + "\": '" + value + "' is not allowed";
        };
        if (!p.is_object()) {
            problems += "\n  \"policies\" must be an object";
        }
        choice("invalid_text", {"error", "replace"}, settings.invalid_text);
        choice("functions", {"error", "drop", "source"}, settings.functions);
    }
    return settings;
}

bool is_drizzle_folder(const fs::path& dir) {
    return fs::is_regular_file(dir / "meta" / "_journal.json");
}

}  // namespace

PlanSettings read_plan_settings(const fs::path& dir) {
    fs::path file = dir / "plan.json";
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(slurp(file));
    } catch (const nlohmann::json::parse_error& e) {
        throw enmap::InputError(file.string() + ": malformed JSON: " + e.what());
    }
    std::string problems;
    auto settings = j.is_object() ? parse_settings(j, problems) : PlanSettings{};
    if (!problems.empty()) {
        throw enmap::InputError("the plan " + file.string() + " has problems:" + problems,
                                "fix plan.json; docs/replay.md describes its layout");
    }
    return settings;
}

Plan load_plan(const fs::path& dir) {
    fs::path file = dir / "plan.json";
    if (!fs::exists(file)) {
        throw enmap::InputError("no plan.json in " + dir.string(),
                                "create one with `enmap-migrate plan init`, or leave out --plan");
    }
    std::string text = slurp(file);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        throw enmap::InputError(file.string() + ": malformed JSON: " + e.what());
    }
    Plan plan;
    plan.dir = dir;
    std::string problems;
    if (!j.is_object()) {
        throw enmap::InputError(file.string() + ": expected a JSON object with \"modules\"");
    }
    if (j.contains("version") && j["version"] != 1) {
        problems += "\n  \"version\" must be 1";
    }
    Digest digest("sha256");
    digest.update("plan.json\n");
    digest.update(text);
    auto add_file = [&](const std::string& rel, const std::string& where) -> fs::path {
        fs::path p = dir / rel;
        if (fs::path(rel).is_absolute() || !inside_folder(dir, p)) {
            problems += "\n  " + where + ": " + rel + " is outside the plan folder (symbolic links resolved)";
            return p;
        }
        if (!fs::is_regular_file(p)) {
            problems += "\n  " + where + ": file " + p.string() + " does not exist";
            return p;
        }
        digest.update("\n" + rel + "\n");
        digest.update(slurp(p));
        return p;
    };
    plan.settings = parse_settings(j, problems);
    std::optional<fs::path> drizzle_dir;
    if (j.contains("drizzle") && j["drizzle"].is_string()) {
        drizzle_dir = dir / j["drizzle"].get<std::string>();
    } else if (j.contains("drizzle") && !j["drizzle"].is_null() && j["drizzle"] != false) {
        problems += "\n  \"drizzle\" must be a folder path, null or false";
    } else if (j.value("drizzle", nlohmann::json()).is_null() && is_drizzle_folder(dir / "drizzle")) {
        // The README's `cp -r drizzle plan/drizzle` into a plan whose "drizzle" is null: use it.
        drizzle_dir = dir / "drizzle";
        spdlog::warn(
            "the plan {} names no drizzle folder, but {} holds drizzle-kit migrations: applying "
            "them (write \"drizzle\": \"drizzle\" in plan.json to say so, or false to skip them)",
            dir.string(), drizzle_dir->string());
    }
    if (drizzle_dir) {
        {
            fs::path d = *drizzle_dir;
            plan.drizzle = d;
            if (!inside_folder(dir, d)) {
                problems +=
                    "\n  \"drizzle\": " + j["drizzle"].get<std::string>() + " is outside the plan folder";
            }
            try {
                for (const auto& m : read_drizzle_folder(d)) {
                    digest.update("\ndrizzle " + m.tag + " " + m.hash);
                }
            } catch (const enmap::InputError& e) {
                problems += "\n  " + std::string(e.what());
            }
        }
    }
    if (!j.contains("modules") || !j["modules"].is_array()) {
        problems += "\n  \"modules\" must be an array";
    } else {
        std::size_t index = 0;
        for (const auto& m : j["modules"]) {
            std::string where = "modules[" + std::to_string(index++) + "]";
            if (!m.is_object() || !m.contains("name") || !m["name"].is_string()) {
                problems += "\n  " + where + " needs a \"name\"";
                continue;
            }
            Module module;
            module.name = m["name"].get<std::string>();
            where = "module '" + module.name + "'";
            if (!valid_module_name(module.name)) {
                problems += "\n  " + where + ": a name may hold letters, digits, '_' and '-' only";
            }
            module.enmaps = string_list(m.value("enmaps", nlohmann::json()), where + " \"enmaps\"", problems);
            if (module.enmaps.empty()) {
                problems += "\n  " + where + " names no enmaps";
            }
            for (const auto& f :
                 string_list(m.value("transform", nlohmann::json()), where + " \"transform\"", problems)) {
                module.transform.push_back(add_file(f, where + " transform"));
            }
            for (const auto& f :
                 string_list(m.value("verify", nlohmann::json()), where + " \"verify\"", problems)) {
                module.verify.push_back(add_file(f, where + " verify"));
            }
            nlohmann::json incremental = m.value("incremental", nlohmann::json());
            if (incremental.is_string()) {
                incremental = nlohmann::json::array({incremental});
            }
            for (const auto& f : string_list(incremental, where + " \"incremental\"", problems)) {
                module.incremental.push_back(add_file(f, where + " incremental"));
            }
            if (m.contains("notes") && m["notes"].is_string()) {
                std::string notes = m["notes"].get<std::string>();
                fs::path p = dir / notes;
                module.notes = fs::is_regular_file(p) ? slurp(p) : notes;
            }
            plan.modules.push_back(std::move(module));
        }
    }
    if (!problems.empty()) {
        throw enmap::InputError("the plan " + file.string() + " has problems:" + problems,
                                "fix plan.json; docs/replay.md describes its layout");
    }
    plan.digest = digest.hex_final();
    return plan;
}

Plan implicit_plan(const std::vector<SourceTable>& tables,
                   const std::map<std::string, std::string>& table_names) {
    Plan plan;
    Digest digest("sha256");
    digest.update("implicit plan\n");
    for (const auto& t : tables) {
        Module m;
        auto it = table_names.find(t.enmap_name);
        m.name = it != table_names.end() ? it->second.substr(4) : snake_case_name(t.enmap_name);
        m.enmaps = {t.enmap_name};
        digest.update(t.enmap_name + "\n");
        plan.modules.push_back(std::move(m));
    }
    plan.digest = digest.hex_final();
    return plan;
}

void check_plan(const Plan& plan, const std::vector<SourceTable>& tables) {
    std::set<std::string> known;
    std::vector<std::string> enmap_names;
    for (const auto& t : tables) {
        known.insert(t.enmap_name);
        enmap_names.push_back(t.enmap_name);
    }
    std::map<std::string, std::string> owner;
    std::set<std::string> names;
    std::string problems;
    for (const auto& m : plan.modules) {
        if (!names.insert(m.name).second) {
            problems += "\n  two modules are named '" + m.name + "'";
        }
        for (const auto& e : m.enmaps) {
            if (known.count(e) == 0) {
                problems +=
                    "\n  module '" + m.name + "' names the enmap '" + e + "', which the source does not hold";
                std::string near = near_enmap_hint(e, enmap_names);
                if (!near.empty()) {
                    problems += ":\n    " + near;
                }
            }
            auto [it, inserted] = owner.emplace(e, m.name);
            if (!inserted) {
                problems +=
                    "\n  the enmap '" + e + "' is in two modules: '" + it->second + "' and '" + m.name + "'";
            }
        }
    }
    for (const auto& t : tables) {
        if (owner.count(t.enmap_name) == 0) {
            problems += "\n  the enmap '" + t.enmap_name + "' is in no module (add it to one in plan.json)";
        }
    }
    if (!problems.empty()) {
        throw enmap::InputError(
            "the plan does not fit the source:" + problems,
            "fix plan.json, or regenerate a starting plan with `enmap-migrate plan init`");
    }
}

void write_starter_plan(const fs::path& out, const std::vector<SourceTable>& tables,
                        const std::map<std::string, std::string>& table_names, const PlanSettings& settings,
                        const std::optional<fs::path>& drizzle) {
    if (drizzle) {
        read_drizzle_folder(*drizzle);  // a clear error before anything is written
    }
    if (fs::exists(out) && !fs::is_empty(out)) {
        throw enmap::InputError("the folder " + out.string() + " is not empty",
                                "choose a new folder for --out; plan init never overwrites a plan");
    }
    fs::create_directories(out / "modules");
    nlohmann::json modules = nlohmann::json::array();
    for (const auto& t : tables) {
        const std::string& table = table_names.at(t.enmap_name);
        std::string name = table.substr(4);
        fs::path dir = out / "modules" / name;
        fs::create_directories(dir);
        write_text(
            dir / "transform.sql",
            "-- Transform for the enmap '" + t.enmap_name + "' (" + std::to_string(t.rows) +
                " rows), loaded into " + table +
                " (key text primary key, value jsonb).\n"
                "-- Runs inside this module's savepoint after the load. An error rolls the module back.\n"
                "-- Example: a normalized table with typed columns.\n"
                "--\n"
                "-- CREATE TABLE " +
                name +
                " (\n"
                "--     id text PRIMARY KEY,\n"
                "--     created_at timestamptz,\n"
                "--     data jsonb NOT NULL\n"
                "-- );\n"
                "-- INSERT INTO " +
                name +
                " (id, created_at, data)\n"
                "-- SELECT key, (value->>'createdAt')::timestamptz, value FROM " +
                table + ";\n");
        write_text(dir / "verify.sql",
                   "-- Verify queries for '" + name +
                       "' (the dbt convention): each query selects the\n"
                       "-- offending rows and passes when it returns none. Separate queries with ';'.\n"
                       "-- Example: every raw row made it into the normalized table.\n"
                       "--\n"
                       "-- SELECT r.key FROM " +
                       table + " r LEFT JOIN " + name + " n ON n.id = r.key WHERE n.id IS NULL;\n");
        write_text(dir / "NOTES.md",
                   "# " + name + "\n\nWhat this module does, and what to check after it runs.\n");
        modules.push_back({{"name", name},
                           {"enmaps", {t.enmap_name}},
                           {"transform", {"modules/" + name + "/transform.sql"}},
                           {"verify", {"modules/" + name + "/verify.sql"}},
                           {"notes", "modules/" + name + "/NOTES.md"}});
    }
    nlohmann::json plan = {{"version", 1}, {"drizzle", nullptr}};
    if (drizzle) {
        fs::copy(*drizzle, out / "drizzle", fs::copy_options::recursive);
        plan["drizzle"] = "drizzle";
    }
    plan["renames"] = settings.renames;
    plan["formats"] = settings.formats;
    nlohmann::json policies = nlohmann::json::object();
    if (!settings.invalid_text.empty()) {
        policies["invalid_text"] = settings.invalid_text;
    }
    if (!settings.functions.empty()) {
        policies["functions"] = settings.functions;
    }
    plan["policies"] = policies;
    plan["modules"] = modules;
    write_text(out / "plan.json", plan.dump(2) + "\n");
}

}  // namespace replay
