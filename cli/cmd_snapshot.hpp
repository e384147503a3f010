#pragma once
// `enmap-migrate snapshot ...`: the parent command and what its subcommands share.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/options.hpp"

namespace cli {

/// Registers `snapshot` and all its subcommands.
void register_snapshot(CLI::App& app, GlobalOptions& globals);

/// Each subcommand's registration (one file each).
void register_snapshot_create(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_list(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_show(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_diff(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_verify(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_prune(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_archive(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_import(CLI::App& snapshot, GlobalOptions& globals);
void register_snapshot_restore(CLI::App& snapshot, GlobalOptions& globals);

/// "1.5 MiB"-style size.
std::string human_bytes(std::uint64_t bytes);
/// The footer naming a snapshot command's exit statuses.
std::string snapshot_exit_statuses(const std::string& extra = {});

}  // namespace cli
