#include "rollback/cleanup.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "replay/ledger.hpp"
#include "replay/url.hpp"
#include "rollback/files.hpp"
#include "rollback/postgres.hpp"
#include "snapshot/store.hpp"

namespace rollback {

namespace fs = std::filesystem;

namespace {

struct Candidate {
    std::int64_t id = 0;
    std::string source_id;
    double age_seconds = 0;
};

std::string hours(double seconds) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.1f h", seconds / 3600.0);
    return text;
}

// Imports the archive into a fresh store and verifies it there: the archive alone restores.
void check_archive(const fs::path& archive, const std::vector<snapshot::Hash>& ids) {
    std::string pattern = (fs::temp_directory_path() / "enmap-migrate-archive-check-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw enmap::StoreError(
            "cannot create a folder to check the archive in " + fs::temp_directory_path().string(),
            "set TMPDIR to a writable folder with room for the archive");
    }
    fs::path dir = pattern;
    struct Remove {
        fs::path dir;
        ~Remove() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } remove{dir};
    snapshot::Store scratch(dir / "store", snapshot::Store::Access::k_write, "enmap-migrate cleanup (check)");
    auto imported = scratch.import_archive(archive);
    for (const auto& id : ids) {
        if (std::find(imported.begin(), imported.end(), id) == imported.end()) {
            throw enmap::StoreError(
                "the archive " + archive.string() + " lacks snapshot " + snapshot::to_hex(id),
                "nothing was dropped; run cleanup again");
        }
        auto report = scratch.verify(id);
        if (!report.ok()) {
            std::string damaged;
            for (const auto& d : report.damaged) {
                damaged += "\n  " + d;
            }
            throw enmap::StoreError("the archive " + archive.string() + " does not restore snapshot " +
                                        snapshot::to_hex(id) + ":" + damaged,
                                    "nothing was dropped; check the disk and run cleanup again");
        }
    }
}

}  // namespace

nlohmann::json CleanupReport::to_json() const {
    return {
        {"runs", runs},
        {"snapshots", snapshots},
        {"archive", archive.empty() ? nlohmann::json(nullptr) : nlohmann::json(archive)},
        {"archive_sha256", archive_sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(archive_sha256)},
        {"archive_bytes", archive_bytes},
        {"dropped", dropped},
        {"pruned", pruned}};
}

std::string cleanup_note(const std::string& database_url) {
    try {
        auto conn = replay::connect(database_url);
        pqxx::read_transaction tx(*conn);
        if (tx.exec1("SELECT to_regclass('enmap_migrate.actions') IS NULL")[0].as<bool>()) {
            return {};
        }
        std::string note;
        for (const auto& row :
             tx.exec("SELECT c.run_id, c.at::text, coalesce(c.details->>'archive', ''), "
                     "coalesce(c.details->>'snapshot', ''), EXISTS (SELECT 1 FROM enmap_migrate.actions p "
                     "WHERE p.run_id = c.run_id AND p.action = 'cleanup-prune') "
                     "FROM enmap_migrate.actions c WHERE c.action = 'cleanup' ORDER BY c.id DESC LIMIT 5")) {
            std::string archive = row[2].c_str();
            note += std::string(note.empty() ? "" : "; ") + "cleanup of run " + row[0].c_str() + " (at " +
                    row[1].c_str() + ") archived snapshot " + std::string(row[3].c_str()).substr(0, 12) +
                    " to " + archive + (row[4].as<bool>() ? " and pruned it from the store" : "");
        }
        if (note.empty()) {
            return {};
        }
        return note +
               ". Bring the snapshots back with `enmap-migrate snapshot import ARCHIVE`, then run this "
               "again";
    } catch (const std::exception& e) {
        spdlog::debug("cannot read the cleanups from the ledger: {}", e.what());
        return {};
    }
}

std::int64_t parse_duration(const std::string& text) {
    std::size_t used = 0;
    long long n = -1;
    try {
        n = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::string unit = text.substr(used);
    std::int64_t scale = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : unit == "d" ? 86400 : 0;
    if (used == 0 || n < 0 || scale == 0) {
        throw enmap::UsageError("'" + text + "' is not a duration", "write it like 90s, 30m, 48h or 7d");
    }
    return static_cast<std::int64_t>(n) * scale;
}

CleanupReport cleanup(const CleanupOptions& options) {
    CleanupReport report;
    std::vector<Candidate> candidates;
    {
        auto conn = replay::connect(options.database_url);
        pqxx::read_transaction tx(*conn);
        if (!replay::ledger_exists(tx)) {
            throw enmap::RefusedError("the database has no enmap_migrate ledger: nothing to clean up",
                                      "check --database");
        }
        bool actions = !tx.exec1("SELECT to_regclass('enmap_migrate.actions') IS NULL")[0].as<bool>();
        for (const auto& row : tx.exec(
                 std::string("SELECT r.id, r.source_id, extract(epoch FROM clock_timestamp() - "
                             "r.finished_at)::float8 "
                             "FROM enmap_migrate.runs r WHERE r.status IN ('committed', 'partial')") +
                 (actions ? " AND NOT EXISTS (SELECT 1 FROM enmap_migrate.actions a WHERE a.run_id = r.id "
                            "AND a.action = 'cleanup')"
                          : "") +
                 " ORDER BY r.id")) {
            candidates.push_back({row[0].as<std::int64_t>(), row[1].c_str(), row[2].as<double>()});
        }
    }
    std::string inside;
    for (const auto& c : candidates) {
        if (c.age_seconds < static_cast<double>(options.older_than_seconds)) {
            inside += "\n  run " + std::to_string(c.id) + " committed " + hours(c.age_seconds) + " ago";
        }
    }
    if (!inside.empty() && !options.force) {
        throw enmap::RefusedError(
            "these runs are inside the " + hours(static_cast<double>(options.older_than_seconds)) +
                " window after go-live:" + inside,
            "wait until the window has passed (a rollback stays cheap until then), or pass "
            "--force");
    }
    if (candidates.empty()) {
        return report;
    }
    std::vector<snapshot::Hash> ids;
    for (const auto& c : candidates) {
        if (!snapshot::is_hex_digest(c.source_id)) {
            throw enmap::RefusedError(
                "run " + std::to_string(c.id) + " was replayed from " + c.source_id +
                    ", not from a snapshot: there is no pre-migration snapshot to archive",
                "snapshot the data (`enmap-migrate snapshot create`) and keep it yourself; "
                "cleanup archives before it drops anything");
        }
        auto id = snapshot::from_hex(c.source_id);
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
            ids.push_back(id);
            report.snapshots.push_back(snapshot::to_hex(id));
        }
        report.runs.push_back(c.id);
    }

    // Archive, then check the archive on its own, and only then drop anything.
    {
        snapshot::Store store(options.store, snapshot::Store::Access::k_read, "enmap-migrate cleanup");
        store.archive(ids, options.archive_to);
    }
    check_archive(options.archive_to, ids);
    report.archive = fs::absolute(options.archive_to).string();
    report.archive_sha256 = file_sha256(options.archive_to);
    report.archive_bytes = fs::file_size(options.archive_to);
    spdlog::info("cleanup: archive {} verified ({} snapshot(s), sha256 {})", report.archive, ids.size(),
                 report.archive_sha256);

    try {
        auto conn = replay::connect(options.database_url);
        pqxx::work tx(*conn);
        tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(replay::k_advisory_lock_key) + ")");
        ensure_actions(tx);
        for (const auto& c : candidates) {
            std::vector<std::string> dropped;
            for (const auto& row : tx.exec("SELECT table_name FROM enmap_migrate.tables WHERE run_id = " +
                                           std::to_string(c.id) + " ORDER BY table_name")) {
                std::string table = row[0].c_str();
                if (!tx.exec1("SELECT to_regclass(" + tx.quote(table) + ") IS NULL")[0].as<bool>()) {
                    tx.exec("DROP TABLE " + table, "cleanup: drop " + table);
                    dropped.push_back(table);
                    report.dropped.push_back(table);
                }
            }
            record_action(tx, c.id, "cleanup",
                          {{"archive", report.archive},
                           {"archive_sha256", report.archive_sha256},
                           {"snapshot", c.source_id},
                           {"dropped", dropped},
                           {"forced", c.age_seconds < static_cast<double>(options.older_than_seconds)}});
        }
        tx.commit();
    } catch (const pqxx::broken_connection& e) {
        throw enmap::DatabaseError(
            "the connection to PostgreSQL was lost: " +
                replay::redact_message(e.what(), options.database_url),
            "nothing was dropped; the archive is written and checked: run cleanup again");
    } catch (const pqxx::sql_error& e) {
        throw enmap::DatabaseError(
            "PostgreSQL refused the cleanup: " + replay::redact_message(e.what(), options.database_url),
            "nothing was dropped; the archive is written and checked");
    }

    if (options.prune) {
        snapshot::Store store(options.store, snapshot::Store::Access::k_maintain,
                              "enmap-migrate cleanup --prune");
        snapshot::PrunePolicy policy;
        policy.remove_ids = ids;
        auto pruned = store.prune(policy);
        report.pruned = pruned.removed;
        auto conn = replay::connect(options.database_url);
        pqxx::work tx(*conn);
        for (const auto& c : candidates) {
            record_action(tx, c.id, "cleanup-prune",
                          {{"archive", report.archive},
                           {"snapshots", report.pruned},
                           {"bytes_freed", pruned.bytes_freed}});
        }
        tx.commit();
    }
    return report;
}

}  // namespace rollback
