// `enmap-migrate completion bash|zsh|fish` and `enmap-migrate man [--out DIR]`: shell completions
// and man pages generated from the command tree itself. Both are hidden from --help; the Debian
// package runs them at build time (CMakeLists.txt, install section).

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/completion.hpp"
#include "cli/options.hpp"
#include "enmap/error.hpp"

namespace cli {

namespace {

constexpr const char* k_program = "enmap-migrate";

int run_completion(const CLI::App& root, const std::string& shell) {
    auto tree = command_tree(root);
    if (shell == "bash") {
        std::cout << bash_completion(tree, k_program);
    } else if (shell == "zsh") {
        std::cout << zsh_completion(tree, k_program);
    } else {
        std::cout << fish_completion(tree, k_program);
    }
    return 0;
}

int run_man(const CLI::App& root, const std::string& out_dir, const std::vector<std::string>& command) {
    auto pages = man_pages(command_tree(root), k_program, ENMAP_MIGRATE_VERSION);
    if (out_dir.empty()) {
        std::string wanted = k_program;
        std::string words;
        for (const auto& word : command) {
            wanted += "-" + word;
            words += " " + word;
        }
        for (const auto& page : pages) {
            if (page.file_name == wanted + ".1") {
                std::cout << page.text;
                return 0;
            }
        }
        throw enmap::UsageError("man: no command `" + std::string(k_program) + words + "`",
                                "enmap-migrate --help lists the commands");
    }
    std::filesystem::create_directories(out_dir);
    for (const auto& page : pages) {
        auto path = std::filesystem::path(out_dir) / page.file_name;
        std::ofstream file(path, std::ios::binary | std::ios::trunc);
        file << page.text;
        file.close();
        if (!file) {
            throw enmap::InputError("man: cannot write " + path.string());
        }
        std::cout << path.string() << "\n";
    }
    return 0;
}

}  // namespace

void register_completion(CLI::App& app, GlobalOptions& globals) {
    auto shell = std::make_shared<std::string>();
    auto* completion = app.add_subcommand("completion", "print a shell completion script");
    completion->group("");  // hidden: the package installs the scripts
    completion->add_option("shell", *shell, "the shell")
        ->required()
        ->check(CLI::IsMember({"bash", "zsh", "fish"}));
    completion->footer(
        "Prints the completion script for the shell on stdout. Load it with\n"
        "  source <(enmap-migrate completion bash)\n"
        "or install it: the Debian package puts the three scripts where each shell finds them.\n"
        "Exit statuses: 0 ok; 2 usage error.");
    completion->callback(
        [&app, &globals, shell] { globals.action = [&app, shell] { return run_completion(app, *shell); }; });

    struct ManOptions {
        std::string out;
        std::vector<std::string> command;
    };
    auto options = std::make_shared<ManOptions>();
    auto* man = app.add_subcommand("man", "print or write the man pages");
    man->group("");
    man->add_option("--out", options->out,
                    "write every page (enmap-migrate.1, enmap-migrate-snapshot-create.1, ...) here");
    man->add_option("command", options->command, "the command whose page to print (default: the main page)");
    man->footer(
        "Without --out, prints one page in roff on stdout (read it with `enmap-migrate man snapshot create | "
        "man -l -`).\n"
        "Exit statuses: 0 ok; 2 usage error (no such command); 3 the folder cannot be written.");
    man->callback([&app, &globals, options] {
        globals.action = [&app, options] { return run_man(app, options->out, options->command); };
    });
}

}  // namespace cli
