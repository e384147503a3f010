// `enmap-migrate snapshot prune`: forget old snapshots and remove the data only they used.

#include <iostream>

#include "cli/cmd_snapshot.hpp"
#include "enmap/error.hpp"
#include "snapshot/store.hpp"

namespace cli {

namespace {
struct PruneOptions {
    std::optional<std::size_t> keep_last;
    std::string keep_within;
    std::vector<std::string> keep_labels;
    bool dry_run = false;
};

// "30d", "12h", "1d12h", "2w", "90m", "45s", "1y".
std::int64_t parse_duration(const std::string& text) {
    std::int64_t total = 0;
    std::size_t at = 0;
    auto bad = [&] {
        return enmap::UsageError("--keep-within '" + text + "' is not a duration",
                                 "write it like 30d, 12h, 1d12h, 2w, 90m or 1y");
    };
    if (text.empty()) {
        throw bad();
    }
    while (at < text.size()) {
        std::size_t start = at;
        while (at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])) != 0) {
            ++at;
        }
        if (at == start || at == text.size() || at - start > 9) {
            throw bad();
        }
        std::int64_t value = std::stoll(text.substr(start, at - start));
        switch (text[at]) {
            case 's':
                total += value;
                break;
            case 'm':
                total += value * 60;
                break;
            case 'h':
                total += value * 3600;
                break;
            case 'd':
                total += value * 86400;
                break;
            case 'w':
                total += value * 7 * 86400;
                break;
            case 'y':
                total += value * 365 * 86400;
                break;
            default:
                throw bad();
        }
        ++at;
    }
    return total;
}

int run_snapshot_prune(const PruneOptions& options, const GlobalOptions& globals) {
    snapshot::PrunePolicy policy;
    policy.keep_last = options.keep_last;
    if (!options.keep_within.empty()) {
        policy.keep_within_seconds = parse_duration(options.keep_within);
    }
    policy.keep_labels = options.keep_labels;
    policy.dry_run = options.dry_run;
    if (!policy.keep_last && !policy.keep_within_seconds && policy.keep_labels.empty()) {
        throw enmap::UsageError("prune needs at least one rule saying what to keep",
                                "pass --keep-last N, --keep-within DURATION or --keep-label NAME");
    }
    snapshot::Store store(globals.store, snapshot::Store::Access::k_maintain, "enmap-migrate snapshot prune");
    auto report = store.prune(policy);
    if (globals.json) {
        auto out = report.to_json();
        out["dry_run"] = options.dry_run;
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    for (const auto& id : report.kept) {
        std::cout << "keep    " << id << "\n";
    }
    for (const auto& id : report.removed) {
        std::cout << (options.dry_run ? "would remove " : "removed ") << id << "\n";
    }
    if (!options.dry_run) {
        std::cout << report.packs_removed << " packs removed, " << report.packs_repacked << " repacked, "
                  << report.chunks_removed << " chunks removed, " << human_bytes(report.bytes_freed)
                  << " freed\n";
    }
    return 0;
}
}  // namespace

void register_snapshot_prune(CLI::App& snapshot, GlobalOptions& globals) {
    auto options = std::make_shared<PruneOptions>();
    auto* cmd =
        snapshot.add_subcommand("prune", "remove snapshots no rule keeps, then the data only they used");
    cmd->add_option("--keep-last", options->keep_last, "keep the N newest snapshots");
    cmd->add_option("--keep-within", options->keep_within,
                    "keep snapshots newer than DURATION (30d, 12h, 1d12h)");
    cmd->add_option("--keep-label", options->keep_labels, "keep every snapshot with this label (repeatable)");
    cmd->add_flag("--dry-run", options->dry_run, "only say what would be removed");
    cmd->footer(snapshot_exit_statuses());
    cmd->callback([options, &globals] {
        globals.action = [options, &globals] { return run_snapshot_prune(*options, globals); };
    });
}

}  // namespace cli
