// enmap-migrate plan init: write a starting migration plan, one module per enmap.

#include <cstdio>

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
    auto names = replay::resolve_table_names(enmaps, replay::parse_renames(options.renames));
    replay::write_starter_plan(options.out, source->tables(), names);
    std::printf("wrote a plan with %zu modules to %s/plan.json\n", enmaps.size(), options.out.c_str());
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
    init->add_option("--out", options->out, "the new plan folder (must not exist or be empty)")->required();
    init->add_option("--rename", options->renames, "ENMAP=TABLE: name raw_TABLE for ENMAP (repeatable)");
    init->footer("Exit statuses: 0 written; 2 usage; 3 bad input, a name collision, or --out not empty.");
    init->callback([options, &globals] {
        globals.action = [options, &globals] { return run_plan_init(*options, globals); };
    });
}

}  // namespace cli
