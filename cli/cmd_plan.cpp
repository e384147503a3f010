// enmap-migrate plan init: write a starting migration plan, one module per enmap.

#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/options.hpp"
#include "cli/replay_source.hpp"
#include "enmap/error.hpp"
#include "replay/naming.hpp"
#include "replay/plan.hpp"

namespace cli {

namespace {

struct PlanInitOptions {
    SourceOptions source;
    std::string out;
    std::vector<std::string> renames;
    std::string drizzle;
};

int run_plan_init(const PlanInitOptions& options, const GlobalOptions& globals) {
    auto source = open_source(options.source, globals.store);
    enmap::DecodeOptions decode;
    decode.invalid_text = enmap::InvalidTextPolicy::k_replace;  // plan init only needs names and counts
    decode.functions = enmap::FunctionPolicy::k_drop;
    source->prepare(decode);
    std::vector<std::string> enmaps;
    for (const auto& t : source->tables()) {
        enmaps.push_back(t.enmap_name);
    }
    replay::PlanSettings settings;
    settings.renames = replay::parse_renames(options.renames);
    for (const auto& [table, encoding] : format_overrides(options.source)) {
        settings.formats[table] = std::string(enmap::encoding_name(encoding));
    }
    settings.invalid_text = options.source.invalid_text;
    settings.functions = options.source.functions;
    auto names = replay::resolve_table_names(enmaps, settings.renames);
    std::optional<std::filesystem::path> drizzle;
    if (!options.drizzle.empty()) {
        drizzle = options.drizzle;
    } else if (std::filesystem::is_regular_file(std::filesystem::path("drizzle") / "meta" /
                                                "_journal.json")) {
        drizzle = std::filesystem::path("drizzle");  // the bot's own drizzle-kit folder, run from its root
    }
    replay::write_starter_plan(options.out, source->tables(), names, settings, drizzle);
    std::printf("wrote a plan with %zu modules to %s/plan.json\n", enmaps.size(), options.out.c_str());
    if (drizzle) {
        std::printf("  drizzle migrations: copied %s to %s/drizzle (\"drizzle\": \"drizzle\")\n",
                    std::filesystem::absolute(*drizzle).string().c_str(), options.out.c_str());
    } else {
        std::printf("  drizzle migrations: none (copy drizzle-kit's folder to %s/drizzle to apply them)\n",
                    options.out.c_str());
    }
    if (!settings.renames.empty() || !settings.formats.empty()) {
        std::printf("  kept in plan.json: %zu rename(s), %zu format(s)\n", settings.renames.size(),
                    settings.formats.size());
    }
    for (const auto& t : source->tables()) {
        std::printf("  %-24s -> %s (%llu rows)\n", t.enmap_name.c_str(), names.at(t.enmap_name).c_str(),
                    static_cast<unsigned long long>(t.rows));
    }
    return 0;
}

}  // namespace

void register_plan(CLI::App& app, GlobalOptions& globals) {
    auto options = std::make_shared<PlanInitOptions>();
    auto* plan = app.add_subcommand("plan", "migration plans");
    plan->require_subcommand(1);
    auto* init = plan->add_subcommand(
        "init", "write a starting plan: one module per enmap, with commented example SQL");
    add_source_options(init, options->source, false);
    add_policy_options(init, options->source);  // saved in plan.json for replay and rehearse
    init->add_option("--out", options->out, "the new plan folder (must not exist or be empty)")->required();
    init->add_option("--rename", options->renames,
                     "ENMAP=TABLE: name raw_TABLE for ENMAP (repeatable; saved in plan.json)");
    init->add_option(
            "--drizzle", options->drizzle,
            "drizzle-kit migrations folder to copy into the plan (default: ./drizzle when it is one)")
        ->check(CLI::ExistingDirectory);
    init->footer(
        "plan.json keeps --rename, --format, --invalid-text and --functions (\"renames\", \"formats\",\n"
        "\"policies\"): replay and rehearse with --plan apply them.\n"
        "Exit statuses: 0 written; 2 usage; 3 bad input, a name collision, or --out not empty.");
    init->callback([options, &globals] {
        globals.action = [options, &globals] { return run_plan_init(*options, globals); };
    });
}

}  // namespace cli
