// enmap-migrate rollback files|postgres: restore a snapshot's exact Enmap files, or undo a run in
// PostgreSQL from its ledger.

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/options.hpp"
#include "enmap/error.hpp"
#include "replay/devdb.hpp"
#include "rollback/cleanup.hpp"
#include "rollback/files.hpp"
#include "rollback/postgres.hpp"

namespace cli {

namespace {

struct RollbackFilesOptions {
    std::string snapshot;
    std::string data_dir;
    bool force = false;
};

struct RollbackPostgresOptions {
    std::string database;
    std::int64_t run = 0;
    std::string module;
    bool force = false;
    bool all = false;  // the whole chain of catch-up runs down to its full replay
};

std::string short_sha(const std::string& sha) {
    return sha.empty() ? "(absent)" : sha.substr(0, 16);
}

int run_rollback_files(const RollbackFilesOptions& options, const GlobalOptions& globals) {
    snapshot::Store store(globals.store, snapshot::Store::Access::k_write, "enmap-migrate rollback files");
    rollback::FilesOptions o{options.data_dir, options.snapshot, options.force};
    rollback::FilesReport report;
    try {
        report = rollback::rollback_files(store, o);
    } catch (const enmap::StoreError& e) {
        // A snapshot cleanup pruned: the ledger (when a database is known) names its archive.
        std::string note =
            globals.database.empty() ? std::string() : rollback::cleanup_note(globals.database);
        throw enmap::StoreError(e.what(), note.empty()
                                              ? e.hint() +
                                                    " (if `cleanup --prune` removed it, import its "
                                                    "archive with `enmap-migrate snapshot import "
                                                    "FILE`; give --database to find it in the ledger)"
                                              : note);
    }
    if (globals.json) {
        std::cout << report.to_json().dump(2) << "\n";
        return 0;
    }
    if (report.recovered == "completed") {
        std::cout << "finished an interrupted rollback files in " << options.data_dir << " first\n";
    } else if (report.recovered == "discarded") {
        std::cout << "discarded the staged files of an interrupted rollback files in " << options.data_dir
                  << " first\n";
    }
    if (!report.changed) {
        std::cout << options.data_dir << " already holds the files of snapshot " << report.snapshot_id
                  << ": nothing changed\n";
        return 0;
    }
    if (!report.safety_snapshot_id.empty()) {
        std::cout << "safety snapshot " << report.safety_snapshot_id << " (label " << report.safety_label
                  << ") holds the files as they were\n";
    }
    std::cout << "restored snapshot " << report.snapshot_id << " into " << options.data_dir
              << " (every file's SHA-256 verified):\n";
    for (const auto& f : report.files) {
        std::cout << "  " << f.change() << "  " << f.name << "  " << short_sha(f.before) << " -> "
                  << short_sha(f.after)
                  << (f.kept_as.empty() ? "" : "  (no database beside it: kept as " + f.kept_as + ")")
                  << "\n";
    }
    if (report.protocol == "atomic") {
        std::cout
            << "crash safety: atomic (at every moment the folder read as the old files or the new ones)\n";
    } else if (report.protocol == "journal") {
        std::cout << "crash safety: journal fallback (" << report.fallback_reason
                  << "); a crash could have left the database without its -wal until the next rollback "
                     "files finished the restore\n";
    }
    if (!report.safety_snapshot_id.empty()) {
        // The id, not the label: it names these files whatever else is labelled later.
        std::cout << "to undo: enmap-migrate rollback files --snapshot " << report.safety_snapshot_id
                  << " --data-dir " << options.data_dir << "\n";
    }
    return 0;
}

void print_postgres_report(const rollback::PostgresReport& report);

int run_rollback_postgres(const RollbackPostgresOptions& options, const GlobalOptions& globals) {
    rollback::PostgresOptions o;
    o.database_url =
        replay::default_database_url(options.database.empty() ? globals.database : options.database);
    if (options.run > 0) {
        o.run_id = options.run;
    }
    o.module = options.module;
    o.force = options.force;
    o.store = globals.store;
    if (const char* pg_dump = std::getenv("ENMAP_MIGRATE_PG_DUMP")) {
        o.pg_dump = pg_dump;
    }
    if (options.all) {
        auto reports = rollback::rollback_chain(o);
        if (globals.json) {
            nlohmann::json out = nlohmann::json::array();
            for (const auto& r : reports) {
                out.push_back(r.to_json());
            }
            std::cout << nlohmann::json{{"rolled_back", out}}.dump(2) << "\n";
            return 0;
        }
        for (const auto& r : reports) {
            print_postgres_report(r);
        }
        std::cout << "rolled back the chain of " << reports.size() << " run(s), newest first\n";
        return 0;
    }
    auto report = rollback::rollback_postgres(o);
    if (globals.json) {
        std::cout << report.to_json().dump(2) << "\n";
        return 0;
    }
    print_postgres_report(report);
    return 0;
}

void print_postgres_report(const rollback::PostgresReport& report) {
    std::cout << "rolled back " << (report.module.empty() ? "run " : "module '" + report.module + "' of run ")
              << report.run_id << " (run status now " << report.status << "): its " << report.objects
              << " object(s) are gone, " << report.dropped.size() << " dropped, the rest with their tables\n";
    for (const auto& d : report.dropped) {
        std::cout << "  dropped " << d << "\n";
    }
    if (report.drizzle_table_dropped) {
        std::cout << "  (drizzle.__drizzle_migrations was the run's own: dropped with the "
                  << report.drizzle_rows_deleted << " row(s) the run added)\n";
    } else if (report.drizzle_rows_deleted > 0) {
        std::cout << "  deleted " << report.drizzle_rows_deleted
                  << " row(s) the run added to drizzle.__drizzle_migrations\n";
    }
    for (const auto& r : report.restored) {
        std::cout << "  restored " << r.identity << " as it was before the run: " << r.rows << " row(s)"
                  << (r.how == "emptied" ? " (it was empty: emptied)"
                                         : ", from the before-image " + r.before_image)
                  << "; count and checksum match the ledger\n";
    }
    if (!report.cleanup_archive.empty()) {
        std::cout << "  the run had been cleaned up (--force); the pre-migration snapshot is in the archive "
                  << report.cleanup_archive << "\n";
    }
    if (!report.saved_file.empty()) {
        std::cout << "  tables changed after the run were saved first, whole, by " << report.saved.method
                  << ", to " << report.saved_file
                  << "\n  (load them back with: psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f "
                  << report.saved_file << ")\n";
        if (!report.saved.changes_file.empty()) {
            std::cout << "  the rows written since the run are in " << report.saved.changes_file
                      << " (docs/rollback.md: merging them back):\n";
            for (const auto& t : report.saved.tables) {
                std::cout << "    " << t.identity << ": " << t.rows_written_after
                          << " row(s) written since the run, " << t.rows_gone
                          << " of the run's rows gone; as " << t.changes_table << "\n";
            }
        }
    }
    if (report.fingerprint_checked) {
        std::cout << "  catalog fingerprint "
                  << (report.fingerprint_matches ? "matches the one recorded before the run"
                                                 : "DIFFERS from the one recorded before the run (--force)")
                  << "\n";
    }
}

}  // namespace

void register_rollback(CLI::App& app, GlobalOptions& globals) {
    auto* rollback =
        app.add_subcommand("rollback", "undo: restore the Enmap files, or undo a run in PostgreSQL");
    rollback->require_subcommand(1);

    auto files = std::make_shared<RollbackFilesOptions>();
    auto* f = rollback->add_subcommand("files",
                                       "restore a snapshot's exact Enmap files into the bot's data folder");
    f->add_option("--snapshot", files->snapshot, "snapshot id, unique id prefix, label or latest")
        ->required();
    f->add_option("--data-dir", files->data_dir, "the bot's Enmap folder (holds enmap.sqlite)")->required();
    f->add_flag("--force", files->force, "restore even while a process has the database open");
    f->footer(
        "A safety snapshot labelled pre-rollback-<UTC time> is taken first. A kill at any point leaves\n"
        "files that read as the old set or the new one, and the next rollback files finishes the\n"
        "interrupted restore first. Only the journal fallback (the database is open and --force is\n"
        "given, or SQLite cannot fold the files; the output says so) can leave the database without\n"
        "its -wal until the next rollback files runs. See docs/rollback.md.\n"
        "A --data-dir that does not exist yet is created (mode 0700).\n"
        "Exit statuses: 0 restored (or already in place); 2 usage; 3 not a folder, an export\n"
        "snapshot, or SQLite cannot read the old database while finishing an interrupted restore; 5 the\n"
        "store is damaged or the snapshot is missing; 7 the database is open (stop the bot) or the\n"
        "store is locked; 9 out of disk space (the store, the data folder or TMPDIR; the data folder\n"
        "is left as it was).");
    f->callback([files, &globals] {
        globals.action = [files, &globals] { return run_rollback_files(*files, globals); };
    });

    auto pg = std::make_shared<RollbackPostgresOptions>();
    auto* p = rollback->add_subcommand("postgres",
                                       "undo a run in PostgreSQL: drop what it created, from the ledger");
    p->add_option("--database", pg->database,
                  "PostgreSQL URL (default: $DATABASE_URL, else the dev database)");
    auto* run = p->add_option("--run", pg->run, "the run to undo (default: the newest committed run)");
    auto* module = p->add_option("--module", pg->module, "undo only this module of the run");
    auto* all = p->add_flag("--all", pg->all,
                            "undo the newest run and, while it was a catch-up (replay --since, cutover), "
                            "the run it rested on: the whole chain");
    all->excludes(run)->excludes(module);
    p->add_flag("--force", pg->force,
                "save tables written to after the run (whole, by pg_dump when one suits the server, and "
                "the rows written since the run apart) under the store's saved/ folder, then drop them; "
                "commit even when the catalog fingerprint differs");
    p->footer(
        "--all undoes a chain of catch-up runs (replay --since, cutover) down to its full replay, newest\n"
        "first, each run in a transaction of its own.\n"
        "Exit statuses: 0 rolled back; 2 usage (unknown module); 6 PostgreSQL error (nothing changed);\n"
        "7 refused: no run to undo, a later run holds data, or tables changed after the run (use --force\n"
        "to save and drop them); 8 the catalog does not match the fingerprint recorded before the run\n"
        "(nothing changed).");
    p->callback(
        [pg, &globals] { globals.action = [pg, &globals] { return run_rollback_postgres(*pg, globals); }; });
}

}  // namespace cli
