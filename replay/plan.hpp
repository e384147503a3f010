#pragma once
// replay/ the migration plan: a folder with plan.json naming the modules in order (each with its
// enmaps, transform SQL, verify SQL and notes) and an optional Drizzle migrations folder.
// docs/replay.md documents the layout.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "replay/source.hpp"

namespace replay {

/// One module: the enmaps it owns and the SQL that turns their raw_ tables into normalized ones.
struct Module {
    std::string name;
    std::vector<std::string> enmaps;
    std::vector<std::filesystem::path> transform;  // run in order, after the raw_ tables are loaded
    std::vector<std::filesystem::path> verify;     // dbt convention: each query returns offending rows
    /// A catch-up replay's SQL (plan.json "incremental"): brings the module's tables up to date from
    /// the temporary tables changed_<table> (key, op); empty: the transform re-runs in full.
    std::vector<std::filesystem::path> incremental;
    std::string notes;  // free text, or the text of the notes file
};

/// The replay options a plan keeps (plan.json's "renames", "formats" and "policies"; all optional,
/// so plan.json files written before them stay valid). The command line adds to them and wins.
struct PlanSettings {
    std::map<std::string, std::string> renames;  // enmap -> table name without raw_
    std::map<std::string, std::string> formats;  // enmap -> json, serialize-javascript, better-serialize
    std::string invalid_text;                    // error|replace, empty when the plan does not say
    std::string functions;                       // error|drop|source, empty when the plan does not say
};

/// A plan: modules in order, optional Drizzle folder, and a digest of everything it refers to.
struct Plan {
    std::optional<std::filesystem::path> dir;      // empty for the implicit plan
    std::optional<std::filesystem::path> drizzle;  // the drizzle-kit migrations folder
    std::vector<Module> modules;
    PlanSettings settings;
    std::string digest;  // sha256 over plan.json and every file it names
};

/// Reads only the settings of DIR/plan.json. Throws enmap::InputError naming the file and field.
PlanSettings read_plan_settings(const std::filesystem::path& dir);

/// Reads DIR/plan.json and checks that every file it names exists. Throws enmap::InputError
/// listing every problem with its file.
Plan load_plan(const std::filesystem::path& dir);

/// The plan used without --plan: one module per enmap, named like its table, raw_ tables only.
Plan implicit_plan(const std::vector<SourceTable>& tables,
                   const std::map<std::string, std::string>& table_names);

/// Checks the plan against the source: enmaps unknown to the source, enmaps in two modules,
/// enmaps in no module, duplicate module names. Throws enmap::InputError listing all of them.
void check_plan(const Plan& plan, const std::vector<SourceTable>& tables);

/// Writes a starting plan into `out` (which must be empty or absent): plan.json with one module
/// per enmap and the settings, and per module a transform.sql and verify.sql of commented examples
/// and NOTES.md. With `drizzle` (a drizzle-kit folder), copies it to out/drizzle and names it.
/// Throws enmap::InputError when `out` holds files or `drizzle` is not a drizzle-kit folder.
void write_starter_plan(const std::filesystem::path& out, const std::vector<SourceTable>& tables,
                        const std::map<std::string, std::string>& table_names,
                        const PlanSettings& settings = {},
                        const std::optional<std::filesystem::path>& drizzle = std::nullopt);

}  // namespace replay
