// Shell completions and man pages generated from the command tree (cli/completion.cpp), run in
// the real shells and rendered by the real man and groff.

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "tests/support.hpp"

namespace fs = std::filesystem;

namespace {

struct ShellResult {
    int status = -1;
    std::string output;  // stdout and stderr together
};

/// Runs a script file with an interpreter (bash, zsh, fish, sh) and collects its output.
ShellResult run_script(const std::string& interpreter, const fs::path& script) {
    std::string command = interpreter + " '" + script.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    ShellResult result;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
        result.output.append(buffer, n);
    }
    int status = ::pclose(pipe);
    result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    return result;
}

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
    REQUIRE(out.good());
}

std::string generate(const std::string& shell) {
    auto r = test_support::run_cli({"completion", shell});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    return r.out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

/// What the bash completion function offers for the words typed so far; the last word is the one
/// being completed. The words are split as bash splits them (COMP_WORDBREAKS makes "=" a word).
std::vector<std::string> bash_complete(const fs::path& completion, const std::vector<std::string>& words,
                                       const fs::path& cwd) {
    test_support::TempDir tmp;
    std::ostringstream script;
    script << "set -u\ncd '" << cwd.string() << "'\nsource '" << completion.string() << "'\nCOMP_WORDS=(";
    for (const auto& word : words) {
        script << " '" << word << "'";
    }
    script << " )\nCOMP_CWORD=" << words.size() - 1 << "\n"
           << "complete -p enmap-migrate >/dev/null || exit 9\n"
           << "_enmap_migrate enmap-migrate \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
           << "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
    write_file(tmp.path() / "complete.bash", script.str());
    auto r = run_script("bash", tmp.path() / "complete.bash");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    return lines_of(r.output);
}

/// The subcommand names listed in a --help text (the lines under "Subcommands:").
std::set<std::string> subcommands_in_help(const std::vector<std::string>& args) {
    auto r = test_support::run_cli(args);
    REQUIRE(r.status == 0);
    std::set<std::string> names;
    bool in_list = false;
    for (const auto& line : lines_of(r.out)) {
        if (line.rfind("Subcommands:", 0) == 0) {
            in_list = true;
        } else if (in_list && line.rfind("  ", 0) == 0) {
            std::istringstream words(line);
            std::string name;
            words >> name;
            names.insert(name);
        } else if (in_list) {
            break;
        }
    }
    return names;
}

}  // namespace

TEST_CASE("completion: bash completes `enmap-migrate snap<TAB>` in a real bash") {
    test_support::TempDir tmp;
    auto script = tmp.path() / "enmap-migrate.bash";
    write_file(script, generate("bash"));
    fs::create_directories(tmp.path() / "bot" / "data");
    write_file(tmp.path() / "bot" / "notes.txt", "x");

    CHECK(bash_complete(script, {"enmap-migrate", "snap"}, tmp.path()) ==
          std::vector<std::string>{"snapshot"});
    CHECK(bash_complete(script, {"enmap-migrate", "snapshot", "cr"}, tmp.path()) ==
          std::vector<std::string>{"create"});
    // An option of a subcommand, after a global option that takes a value; program options work
    // after the subcommand too (CLI11 fallthrough), so --database and --database-file are offered.
    auto da =
        bash_complete(script, {"enmap-migrate", "--store", "s", "snapshot", "create", "--da"}, tmp.path());
    CHECK(std::set<std::string>(da.begin(), da.end()) ==
          std::set<std::string>{"--data-dir", "--database", "--database-file"});
    CHECK(bash_complete(script, {"enmap-migrate", "sample-data", "--generation", ""}, tmp.path()) ==
          std::vector<std::string>{"5.7", "5.9", "6"});
    // bash splits --invalid-text=re at the "=".
    CHECK(bash_complete(script, {"enmap-migrate", "dump", "--invalid-text", "=", "re"}, tmp.path()) ==
          std::vector<std::string>{"replace"});
    // --plan takes an existing directory: folders only, not the file beside them.
    CHECK(bash_complete(script, {"enmap-migrate", "replay", "--plan", "bot/"}, tmp.path()) ==
          std::vector<std::string>{"bot/data"});
    // A value that takes a file name completes file names.
    auto files = bash_complete(script, {"enmap-migrate", "snapshot", "create", "--db", "bot/"}, tmp.path());
    CHECK(std::set<std::string>(files.begin(), files.end()) ==
          std::set<std::string>{"bot/data", "bot/notes.txt"});
    // A flag takes no value: the word after it is a subcommand again.
    CHECK(bash_complete(script, {"enmap-migrate", "--json", "roll"}, tmp.path()) ==
          std::vector<std::string>{"rollback"});
    // Hidden commands (completion, man) are not offered.
    auto top = bash_complete(script, {"enmap-migrate", ""}, tmp.path());
    CHECK(std::set<std::string>(top.begin(), top.end()) == subcommands_in_help({"--help"}));
    auto snapshot = bash_complete(script, {"enmap-migrate", "snapshot", ""}, tmp.path());
    CHECK(std::set<std::string>(snapshot.begin(), snapshot.end()) ==
          subcommands_in_help({"snapshot", "--help"}));
}

TEST_CASE(
    "completion: every option of `snapshot create --help` and of the program is completed, and only those") {
    test_support::TempDir tmp;
    auto script = tmp.path() / "enmap-migrate.bash";
    write_file(script, generate("bash"));
    auto offered = bash_complete(script, {"enmap-migrate", "snapshot", "create", "--"}, tmp.path());
    // The command's own options, and the program's and its parent's, which fall through to it.
    std::set<std::string> in_help;
    std::string text;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"snapshot", "create", "--help"}, {"snapshot", "--help"}, {"--help"}}) {
        auto help = test_support::run_cli(args);
        REQUIRE(help.status == 0);
        // Only the options section: the program's help also names commands, not options.
        text += help.out.substr(0, help.out.find("Subcommands:")) + "\n";
    }
    std::replace(text.begin(), text.end(), ',', ' ');
    std::istringstream words(text);
    std::string word;
    while (words >> word) {
        if (word.rfind("--", 0) == 0) {
            in_help.insert(word.substr(0, word.find('=')));
        }
    }
    CHECK(std::set<std::string>(offered.begin(), offered.end()) == in_help);
    CHECK(in_help.count("--data-dir") == 1);
}

TEST_CASE("completion: fish completes subcommands, options and choices in a real fish") {
    test_support::TempDir tmp;
    write_file(tmp.path() / "enmap-migrate.fish", generate("fish"));
    write_file(tmp.path() / "check.fish",
               "source '" + (tmp.path() / "enmap-migrate.fish").string() +
                   "'\n"
                   "complete -C'enmap-migrate snap'\n"
                   "echo ---\n"
                   "complete -C'enmap-migrate snapshot create --da'\n"
                   "echo ---\n"
                   "complete -C'enmap-migrate --store x sample-data --generation '\n");
    auto r = run_script("fish", tmp.path() / "check.fish");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    auto lines = lines_of(r.output);
    REQUIRE(lines.size() == 9);
    CHECK(lines[0].rfind("snapshot\t", 0) == 0);
    std::set<std::string> da;
    for (std::size_t i = 2; i < 5; ++i) {
        da.insert(lines[i].substr(0, lines[i].find('\t')));
    }
    CHECK(da == std::set<std::string>{"--data-dir", "--database", "--database-file"});
    CHECK(lines[6].rfind("5.7", 0) == 0);
    CHECK(lines[7].rfind("5.9", 0) == 0);
    CHECK(lines[8].rfind("6", 0) == 0);
    CHECK(run_script("fish", tmp.path() / "enmap-migrate.fish").status == 0);
    auto parsed = run_script("fish -n", tmp.path() / "enmap-migrate.fish");
    CHECK_MESSAGE(parsed.status == 0, parsed.output);
}

TEST_CASE("completion: the zsh script parses and defines its function") {
    test_support::TempDir tmp;
    auto text = generate("zsh");
    CHECK(text.rfind("#compdef enmap-migrate\n", 0) == 0);
    write_file(tmp.path() / "_enmap-migrate", text);
    auto parsed = run_script("zsh -n", tmp.path() / "_enmap-migrate");
    CHECK_MESSAGE(parsed.status == 0, parsed.output);
    // Loaded through compinit from $fpath, as zsh does it for an installed _enmap-migrate.
    write_file(tmp.path() / "load.zsh",
               "fpath=('" + tmp.path().string() + "' $fpath)\nautoload -Uz compinit && compinit -u -d '" +
                   (tmp.path() / "zcompdump").string() + "'\nprint -r -- ${_comps[enmap-migrate]}\n");
    auto loaded = run_script("zsh -f", tmp.path() / "load.zsh");
    CHECK_MESSAGE(loaded.status == 0, loaded.output);
    CHECK(loaded.output == "_enmap-migrate\n");
}

TEST_CASE("completion: an unknown shell is a usage error") {
    auto r = test_support::run_cli({"completion", "tcsh"});
    CHECK(r.status == 2);
    CHECK(r.err.find("tcsh") != std::string::npos);
}

TEST_CASE("man: one page per command, each rendered by groff and man without a warning") {
    test_support::TempDir tmp;
    auto r = test_support::run_cli({"man", "--out", (tmp.path() / "man1").string()});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    std::set<std::string> pages;
    for (const auto& entry : fs::directory_iterator(tmp.path() / "man1")) {
        pages.insert(entry.path().filename().string());
    }
    CHECK(pages.count("enmap-migrate.1") == 1);
    CHECK(pages.count("enmap-migrate-snapshot-create.1") == 1);
    CHECK(pages.count("enmap-migrate-rollback-files.1") == 1);
    CHECK(pages.count("enmap-migrate-completion.1") == 0);
    for (const auto& name : subcommands_in_help({"--help"})) {
        CAPTURE(name);
        CHECK(pages.count("enmap-migrate-" + name + ".1") == 1);
    }
    for (const auto& page : pages) {
        CAPTURE(page);
        auto path = tmp.path() / "man1" / page;
        write_file(tmp.path() / "render.sh", "groff -man -Tutf8 -ww -z '" + path.string() +
                                                 "'\nMANWIDTH=80 man --warnings -l '" + path.string() +
                                                 "' >/dev/null\n");
        auto rendered = run_script("sh", tmp.path() / "render.sh");
        CHECK(rendered.status == 0);
        CHECK(rendered.output == "");
    }
    write_file(tmp.path() / "show.sh",
               "MANWIDTH=80 man -l '" + (tmp.path() / "man1" / "enmap-migrate-snapshot-create.1").string() +
                   "' | col -b\n");
    auto shown = run_script("sh", tmp.path() / "show.sh");
    // man justifies the text: compare with every run of blanks made one space.
    std::string flat;
    for (char c : shown.output) {
        bool blank = c == ' ' || c == '\t' || c == '\n';
        if (!blank || (!flat.empty() && flat.back() != ' ')) {
            flat += blank ? ' ' : c;
        }
    }
    shown.output = flat;
    CHECK(shown.output.find("enmap-migrate-snapshot-create - capture a bot's Enmap data") !=
          std::string::npos);
    CHECK(shown.output.find("--data-dir TEXT") != std::string::npos);
    CHECK(shown.output.find("zstd level, 1-19 (default: 3)") != std::string::npos);
    CHECK(shown.output.find("7 refused for safety") != std::string::npos);
}

TEST_CASE("man: prints one command's page, and names an unknown command") {
    auto r = test_support::run_cli({"man", "rollback", "files"});
    CHECK(r.status == 0);
    CHECK(r.out.find(".TH ENMAP\\-MIGRATE\\-ROLLBACK\\-FILES 1") != std::string::npos);
    auto bad = test_support::run_cli({"man", "rollback", "nothing"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("enmap-migrate rollback nothing") != std::string::npos);
}
