#include "cli/completion.hpp"

#include <sstream>

namespace cli {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
    std::vector<std::string> parts;
    std::string part;
    std::istringstream in(text);
    while (std::getline(in, part, separator)) {
        parts.push_back(part);
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
    std::string out;
    for (const auto& part : parts) {
        if (!out.empty()) {
            out += separator;
        }
        out += part;
    }
    return out;
}

bool is_hidden(const CLI::App& app) {
    return !app.get_name().empty() && app.get_group().empty();
}

OptionSpec describe(const CLI::Option& option) {
    OptionSpec spec;
    for (const auto& name : option.get_snames()) {
        spec.names.push_back("-" + name);
    }
    for (const auto& name : option.get_lnames()) {
        spec.names.push_back("--" + name);
    }
    if (spec.names.empty()) {
        spec.positional = option.get_name();
    }
    spec.description = option.get_description();
    spec.envname = option.get_envname();
    spec.default_value = option.get_default_str();
    spec.required = option.get_required();
    if (option.get_expected_max() == 0 || option.get_type_size() == 0) {
        return spec;
    }
    // get_type_name() is the type ("TEXT", "UINT") then ":<description>" of each validator, such as
    // "DIR" (CLI::ExistingDirectory) or "{a,b}" (CLI::IsMember).
    auto parts = split(option.get_type_name(), ':');
    std::string base = parts.empty() ? "TEXT" : parts.front();
    spec.value_name = base;
    spec.value = (base == "TEXT") ? OptionSpec::Value::k_file : OptionSpec::Value::k_text;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        const auto& validator = parts[i];
        if (validator.size() >= 2 && validator.front() == '{' && validator.back() == '}') {
            spec.value = OptionSpec::Value::k_choice;
            spec.choices = split(validator.substr(1, validator.size() - 2), ',');
            spec.value_name = validator;
        } else if (validator == "DIR") {
            spec.value = OptionSpec::Value::k_dir;
            spec.value_name = "DIR";
        } else if (validator == "FILE") {
            spec.value = OptionSpec::Value::k_file;
            spec.value_name = "FILE";
        }
    }
    return spec;
}

void add_options(const CLI::App& app, std::vector<OptionSpec>& out) {
    for (const CLI::Option* option : app.get_options()) {
        if (option->get_group().empty()) {
            continue;
        }
        out.push_back(describe(*option));
    }
    // Option groups are unnamed subcommands whose options belong to this command.
    for (const CLI::App* group :
         app.get_subcommands([](const CLI::App* sub) { return sub->get_name().empty(); })) {
        add_options(*group, out);
    }
}

void walk(const CLI::App& app, std::vector<std::string> path, const std::vector<OptionSpec>& parent_options,
          std::vector<CommandSpec>& out) {
    CommandSpec spec;
    spec.path = path;
    spec.description = app.get_description();
    spec.footer = app.get_footer();
    add_options(app, spec.options);
    if (app.get_fallthrough()) {
        for (const auto& option : parent_options) {
            if (option.positional.empty() &&
                std::find(option.names.begin(), option.names.end(), "--help") == option.names.end()) {
                spec.inherited.push_back(option);
            }
        }
    }
    auto children =
        app.get_subcommands([](const CLI::App* sub) { return !sub->get_name().empty() && !is_hidden(*sub); });
    for (const CLI::App* child : children) {
        spec.subcommands.push_back(child->get_name());
        spec.subcommand_descriptions.push_back(child->get_description());
    }
    std::vector<OptionSpec> visible = spec.options;
    visible.insert(visible.end(), spec.inherited.begin(), spec.inherited.end());
    out.push_back(std::move(spec));
    for (const CLI::App* child : children) {
        auto child_path = path;
        child_path.push_back(child->get_name());
        walk(*child, child_path, visible, out);
    }
}

std::string shell_function_name(const std::string& program) {
    std::string name = "_";
    for (char c : program) {
        name += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
    }
    return name;
}

/// The key of a command in the generated scripts' tables: ":" for the root, ":snapshot create".
std::string key(const CommandSpec& command) {
    return ":" + join(command.path, " ");
}

std::vector<const OptionSpec*> named_options(const CommandSpec& command) {
    std::vector<const OptionSpec*> out;
    for (const auto* list : {&command.options, &command.inherited}) {
        for (const auto& option : *list) {
            if (option.positional.empty()) {
                out.push_back(&option);
            }
        }
    }
    return out;
}

const OptionSpec* first_positional(const CommandSpec& command) {
    for (const auto& option : command.options) {
        if (!option.positional.empty()) {
            return &option;
        }
    }
    return nullptr;
}

/// The kind of value, as the generated scripts name it: file, dir, choice:a b c, or none.
std::string value_kind(const OptionSpec& option) {
    switch (option.value) {
        case OptionSpec::Value::k_file:
            return "file";
        case OptionSpec::Value::k_dir:
            return "dir";
        case OptionSpec::Value::k_choice:
            return "choice:" + join(option.choices, " ");
        case OptionSpec::Value::k_text:
            return "text";
        case OptionSpec::Value::k_none:
            break;
    }
    return "none";
}

/// A bash/zsh double-quoted string (names, choices: no quotes or backslashes in practice).
std::string dq(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '"' || c == '\\' || c == '$' || c == '`') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

/// A zsh $'...' string.
std::string ansi_c(const std::string& text) {
    std::string out = "$'";
    for (char c : text) {
        if (c == '\'' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out + "'";
}

/// A fish single-quoted string.
std::string fish_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

/// First line of a help text, for one-line descriptions.
std::string first_line(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

/// The tables the bash and zsh scripts share: subcommands, options, options taking a value, and
/// the kind of each value, keyed by command.
void shared_tables(const std::vector<CommandSpec>& tree, std::ostream& out) {
    out << "    local -A subs opts valued kinds\n";
    for (const auto& command : tree) {
        std::string k = key(command);
        std::vector<std::string> names;
        std::vector<std::string> takes_value;
        for (const OptionSpec* option : named_options(command)) {
            for (const auto& name : option->names) {
                names.push_back(name);
                if (option->value != OptionSpec::Value::k_none) {
                    takes_value.push_back(name);
                    out << "    kinds[" << dq(k + "|" + name) << "]=" << dq(value_kind(*option)) << "\n";
                }
            }
        }
        if (const OptionSpec* positional = first_positional(command)) {
            out << "    kinds[" << dq(k + "|@") << "]=" << dq(value_kind(*positional)) << "\n";
        }
        out << "    subs[" << dq(k) << "]=" << dq(join(command.subcommands, " ")) << "\n";
        out << "    opts[" << dq(k) << "]=" << dq(join(names, " ")) << "\n";
        out << "    valued[" << dq(k) << "]=" << dq(" " + join(takes_value, " ") + " ") << "\n";
    }
}

}  // namespace

std::vector<CommandSpec> command_tree(const CLI::App& root) {
    std::vector<CommandSpec> tree;
    walk(root, {}, {}, tree);
    return tree;
}

std::string bash_completion(const std::vector<CommandSpec>& tree, const std::string& program) {
    const std::string function = shell_function_name(program);
    std::ostringstream out;
    out << "# bash completion for " << program << ", generated by `" << program
        << " completion bash` from its command definitions: do not edit.\n";
    out << function << "() {\n";
    shared_tables(tree, out);
    out << R"(    local cur=${COMP_WORDS[COMP_CWORD]} cpath=":" skip="" w i kind
    [[ $cur == "=" ]] && cur=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ -n $skip ]]; then
            [[ $w == "=" ]] && continue
            skip=""
            continue
        fi
        case $w in
            --*=*) continue ;;
            -*) [[ ${valued[$cpath]} == *" $w "* ]] && skip=$w; continue ;;
        esac
        if [[ " ${subs[$cpath]} " == *" $w "* ]]; then
            [[ $cpath == ":" ]] && cpath=":$w" || cpath="$cpath $w"
        fi
    done
    COMPREPLY=()
    if [[ -n $skip ]]; then
        kind=${kinds["$cpath|$skip"]}
    elif [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${opts[$cpath]}" -- "$cur")
        return 0
    elif [[ -n ${subs[$cpath]} ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${subs[$cpath]}" -- "$cur")
        return 0
    else
        kind=${kinds["$cpath|@"]}
    fi
    case $kind in
        choice:*) mapfile -t COMPREPLY < <(compgen -W "${kind#choice:}" -- "$cur") ;;
        dir) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
        file) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
    return 0
}
)";
    out << "complete -F " << function << " " << program << "\n";
    return out.str();
}

std::string zsh_completion(const std::vector<CommandSpec>& tree, const std::string& program) {
    const std::string function = shell_function_name(program);
    std::ostringstream out;
    out << "#compdef " << program << "\n";
    out << "# zsh completion for " << program << ", generated by `" << program
        << " completion zsh` from its command definitions: do not edit.\n";
    out << function << "() {\n";
    shared_tables(tree, out);
    out << "    local -A subdescs optdescs\n";
    for (const auto& command : tree) {
        std::string k = key(command);
        std::vector<std::string> lines;
        for (std::size_t i = 0; i < command.subcommands.size(); ++i) {
            lines.push_back(command.subcommands[i] + ":" + first_line(command.subcommand_descriptions[i]));
        }
        out << "    subdescs[" << dq(k) << "]=" << ansi_c(join(lines, "\n")) << "\n";
        lines.clear();
        for (const OptionSpec* option : named_options(command)) {
            for (const auto& name : option->names) {
                lines.push_back(name + ":" + first_line(option->description));
            }
        }
        out << "    optdescs[" << dq(k) << "]=" << ansi_c(join(lines, "\n")) << "\n";
    }
    out << R"(    local cur=${words[CURRENT]} cpath=":" skip="" w i kind
    local -a described
    for ((i = 2; i < CURRENT; i++)); do
        w=${words[i]}
        if [[ -n $skip ]]; then
            skip=""
            continue
        fi
        case $w in
            --*=*) continue ;;
            -*) [[ ${valued[$cpath]} == *" $w "* ]] && skip=$w; continue ;;
        esac
        if [[ " ${subs[$cpath]} " == *" $w "* ]]; then
            if [[ $cpath == ":" ]]; then cpath=":$w"; else cpath="$cpath $w"; fi
        fi
    done
    if [[ -n $skip ]]; then
        kind=${kinds[$cpath|$skip]}
    elif [[ $cur == --*=* ]]; then
        kind=${kinds[$cpath|${cur%%=*}]}
        compset -P '*='
    elif [[ $cur == -* ]]; then
        described=(${(f)optdescs[$cpath]})
        _describe -t options option described
        return
    elif [[ -n ${subs[$cpath]} ]]; then
        described=(${(f)subdescs[$cpath]})
        _describe -t commands command described
        return
    else
        kind=${kinds[$cpath|@]}
    fi
    case $kind in
        choice:*) compadd -- ${=kind#choice:} ;;
        dir) _files -/ ;;
        file) _files ;;
        *) _message value ;;
    esac
}
)";
    out << function << " \"$@\"\n";
    return out.str();
}

std::string fish_completion(const std::vector<CommandSpec>& tree, const std::string& program) {
    const std::string prefix = "__" + shell_function_name(program).substr(1);
    std::ostringstream out;
    out << "# fish completion for " << program << ", generated by `" << program
        << " completion fish` from its command definitions: do not edit.\n";
    // Tables: the subcommands and the options taking a value, per command.
    for (const auto& [name, of] :
         std::vector<std::pair<std::string, bool>>{{"subs", true}, {"valued", false}}) {
        out << "function " << prefix << "_" << name << "\n    switch \"$argv[1]\"\n";
        for (const auto& command : tree) {
            std::vector<std::string> items;
            if (of) {
                items = command.subcommands;
            } else {
                for (const OptionSpec* option : named_options(command)) {
                    if (option->value != OptionSpec::Value::k_none) {
                        items.insert(items.end(), option->names.begin(), option->names.end());
                    }
                }
            }
            out << "        case " << fish_quote(join(command.path, " ")) << "\n";
            if (!items.empty()) {
                out << "            printf '%s\\n' " << join(items, " ") << "\n";
            }
        }
        out << "    end\nend\n";
    }
    out << "function " << prefix << "_path\n"
        << "    set -l tokens (commandline -opc)\n"
        << "    set -e tokens[1]\n"
        << "    set -l cpath ''\n"
        << "    set -l skip 0\n"
        << "    for w in $tokens\n"
        << "        if test $skip = 1\n"
        << "            set skip 0\n"
        << "            continue\n"
        << "        end\n"
        << "        switch $w\n"
        << "            case '--*=*'\n"
        << "                continue\n"
        << "            case '-*'\n"
        << "                if contains -- $w (" << prefix << "_valued \"$cpath\")\n"
        << "                    set skip 1\n"
        << "                end\n"
        << "                continue\n"
        << "        end\n"
        << "        if contains -- $w (" << prefix << "_subs \"$cpath\")\n"
        << "            set cpath (string trim -- \"$cpath $w\")\n"
        << "        end\n"
        << "    end\n"
        << "    echo $cpath\n"
        << "end\n"
        << "function " << prefix << "_at\n"
        << "    test (" << prefix << "_path) = \"$argv[1]\"\n"
        << "end\n";
    out << "complete -c " << program << " -f\n";
    for (const auto& command : tree) {
        const std::string condition = fish_quote(prefix + "_at " + fish_quote(join(command.path, " ")));
        for (std::size_t i = 0; i < command.subcommands.size(); ++i) {
            out << "complete -c " << program << " -n " << condition << " -a " << command.subcommands[i]
                << " -d " << fish_quote(first_line(command.subcommand_descriptions[i])) << "\n";
        }
        for (const OptionSpec* option : named_options(command)) {
            out << "complete -c " << program << " -n " << condition;
            for (const auto& name : option->names) {
                out << (name.rfind("--", 0) == 0 ? " -l " + name.substr(2) : " -s " + name.substr(1));
            }
            switch (option->value) {
                case OptionSpec::Value::k_none:
                    break;
                case OptionSpec::Value::k_text:
                    out << " -x";
                    break;
                case OptionSpec::Value::k_file:
                    out << " -r -F";
                    break;
                case OptionSpec::Value::k_dir:
                    out << " -x -a '(__fish_complete_directories (commandline -ct))'";
                    break;
                case OptionSpec::Value::k_choice:
                    out << " -x -a " << fish_quote(join(option->choices, " "));
                    break;
            }
            out << " -d " << fish_quote(first_line(option->description)) << "\n";
        }
        if (const OptionSpec* positional = first_positional(command)) {
            if (positional->value == OptionSpec::Value::k_choice) {
                out << "complete -c " << program << " -n " << condition << " -a "
                    << fish_quote(join(positional->choices, " ")) << "\n";
            } else if (positional->value == OptionSpec::Value::k_file ||
                       positional->value == OptionSpec::Value::k_dir) {
                out << "complete -c " << program << " -n " << condition << " -F\n";
            }
        }
    }
    return out.str();
}

namespace {

/// Text for a filled roff line: backslashes escaped, a leading . or ' made literal.
std::string roff_text(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '\\') {
            out += "\\e";
        } else {
            out += c;
        }
    }
    if (!out.empty() && (out.front() == '.' || out.front() == '\'')) {
        out.insert(0, "\\&");
    }
    return out;
}

/// An option name or command word in roff: '-' is a minus sign, so that it can be copied.
std::string roff_name(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '-') {
            out += "\\-";
        } else if (c == '\\') {
            out += "\\e";
        } else {
            out += c;
        }
    }
    return out;
}

std::string page_name(const std::string& program, const std::vector<std::string>& path) {
    return path.empty() ? program : program + "-" + join(path, "-");
}

/// A reference to another page, in bold and never hyphenated: \fBname\fR(1).
std::string page_reference(const std::string& name) {
    return "\\fB\\%" + roff_name(name) + "\\fR(1)";
}

std::string without_final_period(std::string text) {
    if (!text.empty() && text.back() == '.') {
        text.pop_back();
    }
    return text;
}

/// A help footer as roff: indented lines stay as they are, the rest is filled text.
void roff_footer(const std::string& footer, std::ostream& out) {
    bool literal = false;
    for (const auto& line : split(footer, '\n')) {
        bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
        if (indented != literal) {
            out << (indented ? ".nf\n" : ".fi\n");
            literal = indented;
        }
        if (line.empty()) {
            out << ".PP\n";
        } else {
            out << roff_text(line) << "\n";
        }
    }
    if (literal) {
        out << ".fi\n";
    }
}

void roff_option(const OptionSpec& option, std::ostream& out) {
    out << ".TP\n";
    if (option.positional.empty()) {
        std::vector<std::string> names;
        for (const auto& name : option.names) {
            names.push_back("\\fB" + roff_name(name) + "\\fR");
        }
        out << join(names, ", ");
        if (!option.value_name.empty()) {
            out << " \\fI" << roff_name(option.value_name) << "\\fR";
        }
    } else {
        out << "\\fI" << roff_name(option.positional) << "\\fR";
    }
    out << "\n" << roff_text(option.description);
    if (!option.default_value.empty()) {
        out << " (default: " << roff_text(option.default_value) << ")";
    }
    if (!option.envname.empty()) {
        out << " (environment: \\fB" << roff_name(option.envname) << "\\fR)";
    }
    if (option.required) {
        out << " (required)";
    }
    out << "\n";
}

}  // namespace

std::vector<ManPage> man_pages(const std::vector<CommandSpec>& tree, const std::string& program,
                               const std::string& version) {
    std::vector<ManPage> pages;
    for (const auto& command : tree) {
        std::string name = page_name(program, command.path);
        std::string title;
        for (char c : name) {
            title += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        std::string summary = first_line(command.description);
        if (summary.rfind(program + ": ", 0) == 0) {
            summary = summary.substr(program.size() + 2);
        }
        std::ostringstream out;
        out << ".\\\" Generated by `" << program << " man` from its command definitions: do not edit.\n";
        out << ".TH " << roff_name(title) << " 1 \"\" \"" << program << " " << version << "\" \"" << program
            << "\"\n";
        out << ".SH NAME\n" << roff_name(name) << " \\- " << roff_text(summary) << "\n";
        out << ".SH SYNOPSIS\n.B " << roff_name(program) << "\n";
        if (!command.path.empty()) {
            out << "[\\fIglobal options\\fR]\n.B " << roff_name(join(command.path, " ")) << "\n";
        }
        bool has_options = false;
        for (const auto& option : command.options) {
            has_options = has_options || option.positional.empty();
        }
        if (has_options) {
            out << "[\\fIoptions\\fR]\n";
        }
        for (const auto& option : command.options) {
            if (!option.positional.empty()) {
                out << (option.required ? "\\fI" : "[\\fI") << roff_name(option.positional)
                    << (option.required ? "\\fR\n" : "\\fR]\n");
            }
        }
        if (!command.subcommands.empty()) {
            out << "\\fIcommand\\fR ...\n";
        }
        out << ".SH DESCRIPTION\n";
        for (const auto& line : split(command.description, '\n')) {
            out << (line.empty() ? ".PP" : roff_text(line)) << "\n";
        }
        if (!command.options.empty()) {
            out << ".SH OPTIONS\n";
            for (const auto& option : command.options) {
                roff_option(option, out);
            }
        }
        if (!command.inherited.empty()) {
            out << ".SH GLOBAL OPTIONS\nThese may also be given after the command.\n";
            for (const auto& option : command.inherited) {
                roff_option(option, out);
            }
        }
        if (!command.subcommands.empty()) {
            out << ".SH COMMANDS\n";
            for (std::size_t i = 0; i < command.subcommands.size(); ++i) {
                auto child = command.path;
                child.push_back(command.subcommands[i]);
                out << ".TP\n.B " << roff_name(command.subcommands[i]) << "\n"
                    << roff_text(without_final_period(first_line(command.subcommand_descriptions[i])))
                    << "; see " << page_reference(page_name(program, child)) << ".\n";
            }
        }
        if (!command.footer.empty()) {
            out << ".SH NOTES\n";
            roff_footer(command.footer, out);
        }
        if (command.path.empty()) {
            std::vector<const OptionSpec*> with_env;
            for (const auto& other : tree) {
                for (const auto& option : other.options) {
                    if (!option.envname.empty()) {
                        with_env.push_back(&option);
                    }
                }
            }
            if (!with_env.empty()) {
                out << ".SH ENVIRONMENT\n";
                for (const OptionSpec* option : with_env) {
                    out << ".TP\n.B " << roff_name(option->envname) << "\nthe default of \\fB"
                        << roff_name(option->names.empty() ? option->positional : option->names.back())
                        << "\\fR: " << roff_text(option->description) << "\n";
                }
            }
        }
        out << ".SH SEE ALSO\n.ad l\n";
        std::vector<std::string> see_also;
        if (!command.path.empty()) {
            auto parent = command.path;
            parent.pop_back();
            see_also.push_back(page_reference(page_name(program, parent)));
        }
        for (const auto& sub : command.subcommands) {
            auto child = command.path;
            child.push_back(sub);
            see_also.push_back(page_reference(page_name(program, child)));
        }
        if (see_also.empty()) {
            see_also.push_back(page_reference(program));
        }
        out << join(see_also, ",\n") << "\n";
        pages.push_back({name + ".1", out.str()});
    }
    return pages;
}

}  // namespace cli
