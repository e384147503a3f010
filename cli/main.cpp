// enmap-migrate: snapshot, replay and roll back Enmap data on its way to PostgreSQL.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "cli/options.hpp"
#include "enmap/error.hpp"
#include "replay/database_url.hpp"
#include "replay/devdb.hpp"

namespace {

constexpr const char* k_exit_statuses =
    "Exit statuses:\n"
    "  0  success\n"
    "  1  internal error (a bug, or an unexpected system error)\n"
    "  2  usage error (bad command line)\n"
    "  3  bad input (missing or malformed file, table, key or value)\n"
    "  4  a data policy (--invalid-text, --functions) refused the data\n"
    "  5  the snapshot store is damaged, or a snapshot is missing\n"
    "  6  PostgreSQL refused a connection or a statement\n"
    "  7  refused for safety (database in use, lock held, earlier run present)\n"
    "  8  validation found a difference between source and target\n"
    "  9  out of disk space (the store, TMPDIR, the data folder or an output folder)\n";

// A full disk reported by a library as text (SQLite, std::filesystem, a wrapped strerror) gets the
// status and hint of one reported as NoSpaceError. PostgreSQL's own disk stays a database error.
bool out_of_space(const std::exception& e) {
    const auto* error = dynamic_cast<const enmap::Error*>(&e);
    if (error != nullptr && error->exit_code() == enmap::ExitCode::k_database) {
        return false;
    }
    if (const auto* system = dynamic_cast<const std::system_error*>(&e)) {
        if (system->code().category() == std::generic_category() ||
            system->code().category() == std::system_category()) {
            if (enmap::is_no_space_errno(system->code().value())) {
                return true;
            }
        }
    }
    return enmap::mentions_no_space(e.what());
}

void set_up_logging(int verbosity) {
    auto logger = spdlog::stderr_color_mt("enmap-migrate");
    logger->set_pattern("%^%l%$: %v");
    spdlog::set_default_logger(logger);
    if (verbosity >= 2) {
        spdlog::set_level(spdlog::level::trace);
    } else if (verbosity == 1) {
        spdlog::set_level(spdlog::level::debug);
    } else if (verbosity == 0) {
        spdlog::set_level(spdlog::level::info);
    } else {
        spdlog::set_level(spdlog::level::warn);
    }
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"enmap-migrate: move Enmap data to PostgreSQL safely: snapshot, replay, roll back."};
    app.footer(k_exit_statuses);
    app.set_version_flag("--version", std::string("enmap-migrate ") + ENMAP_MIGRATE_VERSION);
    app.require_subcommand(0, 1);
    // Options of the program and of a parent command work anywhere after it, as in restic and
    // docker (`devdb start --dir X`, `replay --database URL`): a subcommand hands the options it
    // does not know to its parent. Subcommands inherit the setting when they are added.
    app.fallthrough();

    cli::GlobalOptions globals;
    globals.store = replay::default_store().string();
    if (const char* env = std::getenv("DATABASE_URL")) {
        globals.database = env;
    }
    auto* store = app.add_option("--store", globals.store,
                                 "snapshot store folder (default: enmap-snapshots/ of the project folder)")
                      ->envname("ENMAP_MIGRATE_STORE")
                      ->capture_default_str();
    auto* database = app.add_option("--database", globals.database,
                                    "PostgreSQL URL (default: $DATABASE_URL); one with a password is "
                                    "visible to `ps`: prefer DATABASE_URL or --database-file");
    std::string database_file;
    app.add_option("--database-file", database_file, "read the PostgreSQL URL from this file's first line")
        ->excludes(database);
    app.add_flag("--json", globals.json, "machine-readable output on stdout");
    int verbose = 0;
    int quiet = 0;
    app.add_flag("-v,--verbose", verbose, "more log output (repeat for more)");
    app.add_flag("-q,--quiet", quiet, "only warnings and errors on stderr");

    cli::register_commands(app, globals);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(enmap::ExitCode::k_usage);
    }
    globals.verbosity = verbose - quiet;
    set_up_logging(globals.verbosity);
    if (store->count() == 0 && replay::project_root() != std::filesystem::current_path()) {
        spdlog::info("using the project folder {}: its store is {}", replay::project_root().string(),
                     globals.store);
    }
    try {
        if (!database_file.empty()) {
            globals.database = replay::read_database_file(database_file);
        } else if (database->count() > 0 && replay::has_password(globals.database)) {
            spdlog::warn(
                "--database carries a password, which other users of this machine can read with `ps`; "
                "put the URL in DATABASE_URL or in a file named by --database-file");
        }
    } catch (const enmap::Error& e) {
        spdlog::error("{}", e.what());
        return static_cast<int>(e.exit_code());
    }

    if (!globals.action) {
        std::cout << app.help();
        return 0;
    }
    try {
        return globals.action();
    } catch (const enmap::Error& e) {
        spdlog::error("{}", e.what());
        if (e.exit_code() != enmap::ExitCode::k_no_space && out_of_space(e)) {
            spdlog::info("{}", enmap::k_no_space_hint);
            return static_cast<int>(enmap::ExitCode::k_no_space);
        }
        if (!e.hint().empty()) {
            spdlog::info("{}", e.hint());
        }
        return static_cast<int>(e.exit_code());
    } catch (const std::exception& e) {
        if (out_of_space(e)) {
            spdlog::error("{}", e.what());
            spdlog::info("{}", enmap::k_no_space_hint);
            return static_cast<int>(enmap::ExitCode::k_no_space);
        }
        spdlog::critical("internal error: {}", e.what());
        return static_cast<int>(enmap::ExitCode::k_internal);
    }
}
