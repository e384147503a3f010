#include "rollback/files.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <map>
#include <set>

#include "enmap/error.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/summary.hpp"

namespace rollback {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_journal = "journal.json";
constexpr const char* k_journal_format = "enmap-migrate-rollback-files/1";
constexpr const char* k_sidecars[] = {"-wal", "-shm", "-journal"};

// Test hook: ENMAP_MIGRATE_TEST_KILL_AT=<point> makes the process kill itself with SIGKILL there,
// so the crash tests reach every step of the protocol, not only the ones a timer happens to hit.
void kill_point(const std::string& point) {
    static const char* target = std::getenv("ENMAP_MIGRATE_TEST_KILL_AT");
    if (target != nullptr && point == target) {
        std::raise(SIGKILL);
    }
}

void rename_durably(const fs::path& from, const fs::path& to) {
    if (std::rename(from.c_str(), to.c_str()) != 0) {
        throw enmap::StoreError(
            "cannot rename " + from.string() + " to " + to.string() + ": " + std::strerror(errno),
            "check the permissions of " + to.parent_path().string() +
                ", then run the same rollback files command again");
    }
    snapshot::fsync_dir(to.parent_path());
    if (from.parent_path() != to.parent_path()) {
        snapshot::fsync_dir(from.parent_path());
    }
}

void remove_work_dir(const fs::path& data_dir) {
    std::error_code ec;
    fs::remove_all(data_dir / k_work_dir, ec);
    if (ec) {
        throw enmap::StoreError("cannot remove " + (data_dir / k_work_dir).string() + ": " + ec.message(),
                                "remove it by hand once no enmap-migrate command runs");
    }
    snapshot::fsync_dir(data_dir);
}

// Carries out a written journal; every step can be repeated, so recovery just calls it again.
void apply_journal(const fs::path& data_dir, const nlohmann::json& journal) {
    fs::path work = data_dir / k_work_dir;
    fs::path old_dir = work / "old";
    fs::path new_dir = work / "new";
    if (!fs::exists(old_dir)) {
        snapshot::make_dir(old_dir);
        snapshot::fsync_dir(work);
    }
    // 1. Move every sidecar of the old set out of the way: the database is never beside a
    //    -wal or -shm that belongs to another version of it.
    for (const auto& name : journal["move_out"]) {
        auto n = name.get<std::string>();
        if (fs::exists(data_dir / n) && !fs::exists(old_dir / n)) {
            rename_durably(data_dir / n, old_dir / n);
        }
        kill_point("moved:" + n);
    }
    // 2. Place the new files, the database first, its -wal last.
    for (const auto& file : journal["place"]) {
        auto n = file["name"].get<std::string>();
        if (fs::exists(new_dir / n)) {
            rename_durably(new_dir / n, data_dir / n);
        } else if (!fs::exists(data_dir / n)) {
            throw enmap::StoreError("the staged file " + (new_dir / n).string() + " is missing",
                                    "restore the snapshot again: enmap-migrate rollback files --snapshot " +
                                        journal["snapshot"].get<std::string>() + " --data-dir " +
                                        data_dir.string() + " --force");
        }
        kill_point("placed:" + n);
    }
    // 3. Check what is now in place.
    for (const auto& file : journal["place"]) {
        auto n = file["name"].get<std::string>();
        auto sha = file_sha256(data_dir / n);
        if (sha != file["sha256"].get<std::string>()) {
            throw enmap::StoreError((data_dir / n).string() + " has SHA-256 " + sha + ", the snapshot says " +
                                        file["sha256"].get<std::string>(),
                                    "run the same rollback files command again; if it persists, check the "
                                    "disk and run `enmap-migrate snapshot verify`");
        }
    }
    kill_point("verified");
    // 4. Done: the journal goes first, then the staging leftovers.
    snapshot::remove_durably(work / k_journal);
    kill_point("journal-removed");
    remove_work_dir(data_dir);
}

std::string utc_stamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

}  // namespace

std::string FileChange::change() const {
    if (before.empty() && !after.empty()) {
        return "created";
    }
    if (!before.empty() && after.empty()) {
        return "removed";
    }
    return before == after ? "unchanged" : "replaced";
}

nlohmann::json FilesReport::to_json() const {
    nlohmann::json out = {
        {"snapshot", snapshot_id},
        {"changed", changed},
        {"safety_snapshot",
         safety_snapshot_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(safety_snapshot_id)},
        {"safety_label", safety_label.empty() ? nlohmann::json(nullptr) : nlohmann::json(safety_label)},
        {"recovered", recovered.empty() ? nlohmann::json(nullptr) : nlohmann::json(recovered)},
        {"files", nlohmann::json::array()}};
    for (const auto& f : files) {
        out["files"].push_back(
            {{"name", f.name},
             {"change", f.change()},
             {"before", f.before.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.before)},
             {"after", f.after.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.after)},
             {"size", f.size}});
    }
    return out;
}

std::string file_sha256(const fs::path& path) {
    auto fd = snapshot::open_read(path);
    snapshot::Sha256 hasher;
    std::string buffer(1 << 20, '\0');
    std::uint64_t offset = 0;
    for (;;) {
        std::size_t got = snapshot::pread_full(fd.get(), buffer.data(), buffer.size(), offset);
        hasher.update(buffer.data(), got);
        offset += got;
        if (got < buffer.size()) {
            break;
        }
    }
    return snapshot::to_hex(hasher.finish());
}

std::string recover_files(const fs::path& data_dir) {
    fs::path work = data_dir / k_work_dir;
    if (!fs::exists(work)) {
        return "";
    }
    if (fs::exists(work / k_journal)) {
        auto journal = nlohmann::json::parse(snapshot::read_small_file(work / k_journal), nullptr, false);
        if (journal.is_discarded() || journal.value("format", "") != k_journal_format) {
            throw enmap::StoreError((work / k_journal).string() + " is not a rollback journal",
                                    "inspect it; remove " + work.string() + " by hand only if no rollback " +
                                        "was interrupted there");
        }
        spdlog::warn("finishing an interrupted rollback files of snapshot {} in {}",
                     journal["snapshot"].get<std::string>(), data_dir.string());
        apply_journal(data_dir, journal);
        return "completed";
    }
    spdlog::warn(
        "discarding the staged files of an interrupted rollback files in {} (the files there are "
        "untouched)",
        data_dir.string());
    remove_work_dir(data_dir);
    return "discarded";
}

FilesReport rollback_files(snapshot::Store& store, const FilesOptions& options) {
    const fs::path& dir = options.data_dir;
    if (!fs::is_directory(dir)) {
        throw enmap::InputError("--data-dir " + dir.string() + ": no such folder",
                                "give the bot's Enmap data folder (the one that holds enmap.sqlite)");
    }
    FilesReport report;
    auto id = store.resolve(options.snapshot_ref);
    report.snapshot_id = snapshot::to_hex(id);
    auto manifest = store.read_manifest(id);
    if (manifest.value("kind", "") == "export") {
        throw enmap::InputError(
            "snapshot " + report.snapshot_id + " holds export() files, not a database",
            "restore them with `enmap-migrate snapshot restore " + options.snapshot_ref + " --to DIR`");
    }
    std::string db_name;
    nlohmann::json place = nlohmann::json::array();
    std::map<std::string, std::string> after;
    for (const auto& file : manifest["files"]) {
        auto name = file["name"].get<std::string>();
        if (file.value("role", "") == "database") {
            db_name = name;
        }
        after[name] = file["sha256"].get<std::string>();
    }
    if (db_name.empty()) {
        throw enmap::StoreError("snapshot " + report.snapshot_id + " names no database file",
                                "run `enmap-migrate snapshot verify " + report.snapshot_id + "`");
    }
    place.push_back({{"name", db_name}, {"sha256", after[db_name]}});
    for (const auto& [name, sha] : after) {
        if (name != db_name) {
            place.push_back({{"name", name}, {"sha256", sha}});
        }
    }
    fs::path db = dir / db_name;
    bool open = false;
    if (fs::exists(db)) {
        if (auto holder = snapshot::find_open_connection(db)) {
            if (!options.force) {
                throw enmap::RefusedError(db.string() + " is open: " + *holder,
                                          "stop the bot first (or pass --force to replace the files anyway; "
                                          "the bot would then keep writing to the old, deleted file)");
            }
            open = true;
        }
    }
    report.recovered = recover_files(dir);

    // What is there now, and what will be.
    std::set<std::string> names;
    std::map<std::string, std::string> before;
    names.insert(db_name);
    for (const char* suffix : k_sidecars) {
        names.insert(db_name + suffix);
    }
    for (const auto& [name, sha] : after) {
        names.insert(name);
    }
    nlohmann::json move_out = nlohmann::json::array();
    for (const auto& name : names) {
        if (fs::exists(dir / name)) {
            before[name] = file_sha256(dir / name);
            if (name != db_name) {
                move_out.push_back(name);
            }
        }
    }
    for (const auto& name : names) {
        if (before.count(name) == 0 && after.count(name) == 0) {
            continue;
        }
        FileChange change{name, before.count(name) ? before[name] : "", after.count(name) ? after[name] : "",
                          0};
        if (fs::exists(dir / name)) {
            change.size = fs::file_size(dir / name);
        }
        if (change.change() != "unchanged") {
            report.changed = true;
        }
        report.files.push_back(change);
    }
    if (!report.changed) {
        return report;
    }

    // A safety snapshot first, so this rollback can itself be rolled back.
    if (before.count(db_name) != 0) {
        snapshot::CaptureOptions capture;
        capture.kind =
            open ? snapshot::CaptureOptions::Kind::k_live : snapshot::CaptureOptions::Kind::k_exact;
        capture.database = db;
        capture.label = "pre-rollback-" + utc_stamp();
        capture.summarize = [](const fs::path& copy) -> nlohmann::json {
            // The safety copy must not depend on the data being readable Enmap data.
            try {
                return snapshot::summarize_enmap(copy);
            } catch (const std::exception& e) {
                spdlog::warn("the safety snapshot has no table summaries: {}", e.what());
                return nullptr;
            }
        };
        capture.command = "enmap-migrate rollback files";
        auto result = snapshot::capture(store, capture);
        report.safety_snapshot_id = snapshot::to_hex(result.id);
        report.safety_label = capture.label;
        spdlog::debug("safety snapshot {} ({}) holds the files as they were", report.safety_snapshot_id,
                      capture.label);
    }
    kill_point("safety-snapshot");

    // Stage the new set beside the old one (same file system, so renames are atomic) and check it.
    fs::path work = dir / k_work_dir;
    snapshot::make_dir(work);
    snapshot::fsync_dir(dir);
    store.materialize(id, work / "new");
    for (const auto& file : place) {
        auto n = file["name"].get<std::string>();
        auto sha = file_sha256(work / "new" / n);
        if (sha != file["sha256"].get<std::string>()) {
            throw enmap::StoreError("the staged " + n + " has SHA-256 " + sha + ", the snapshot says " +
                                        file["sha256"].get<std::string>(),
                                    "run `enmap-migrate snapshot verify " + report.snapshot_id +
                                        "`; the data folder was not touched");
        }
    }
    kill_point("staged");

    // The journal is the commit point: once it exists, recovery rolls forward.
    nlohmann::json journal = {{"format", k_journal_format},
                              {"snapshot", report.snapshot_id},
                              {"database", db_name},
                              {"move_out", move_out},
                              {"place", place}};
    snapshot::write_file_atomic(work, work / k_journal, journal.dump(2) + "\n");
    kill_point("journal-written");
    apply_journal(dir, journal);
    return report;
}

}  // namespace rollback
