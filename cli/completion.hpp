#pragma once
// Shell completions (bash, zsh, fish) and man pages, generated from the CLI11 command tree at run
// time, so that they always match the options the binary accepts.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace cli {

/// One option or positional argument of a command, as the generators see it.
struct OptionSpec {
    enum class Value { k_none, k_text, k_file, k_dir, k_choice };
    std::vector<std::string> names;  // "-v", "--verbose"; empty for a positional
    std::string positional;          // the positional's name, else empty
    std::string description;
    std::string value_name;            // TEXT, DIR, UINT, ... (empty for a flag)
    Value value = Value::k_none;       // what its value completes to
    std::vector<std::string> choices;  // for k_choice
    std::string default_value;         // shown when the option captures its default
    std::string envname;               // the environment variable it reads, if any
    bool required = false;
};

/// One visible command: its path from the root ("snapshot create"), help text and arguments.
struct CommandSpec {
    std::vector<std::string> path;  // empty for the root
    std::string description;
    std::string footer;
    std::vector<OptionSpec> options;       // its own options and positionals, help included
    std::vector<OptionSpec> inherited;     // options of parents it passes through (fallthrough)
    std::vector<std::string> subcommands;  // names of its visible subcommands
    std::vector<std::string> subcommand_descriptions;
};

/// Every visible command of root (hidden ones, those with an empty group, are left out), the
/// root first, then depth first in definition order.
std::vector<CommandSpec> command_tree(const CLI::App& root);

/// The bash completion script for program (a function and a `complete -F` line).
std::string bash_completion(const std::vector<CommandSpec>& tree, const std::string& program);
/// The zsh completion script (`#compdef program`), for a file named _<program> in $fpath.
std::string zsh_completion(const std::vector<CommandSpec>& tree, const std::string& program);
/// The fish completion script, for <program>.fish in fish's vendor_completions.d.
std::string fish_completion(const std::vector<CommandSpec>& tree, const std::string& program);

/// A man page in roff (man(7) macros).
struct ManPage {
    std::string file_name;  // enmap-migrate-snapshot-create.1
    std::string text;
};

/// One man page per command: <program>.1 for the root, <program>-<path...>.1 for the others.
std::vector<ManPage> man_pages(const std::vector<CommandSpec>& tree, const std::string& program,
                               const std::string& version);

}  // namespace cli
