#include "rollback/files.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "enmap/error.hpp"
#include "rollback/crash_hooks.hpp"
#include "rollback/fold.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/file_identity.hpp"
#include "snapshot/file_lock.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/manifest_check.hpp"
#include "snapshot/summary.hpp"

namespace rollback {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_journal = "journal.json";
// Format /1 journals (older binaries) always describe the journal protocol.
constexpr const char* k_journal_format_v1 = "enmap-migrate-rollback-files/1";
constexpr const char* k_journal_format = "enmap-migrate-rollback-files/2";
constexpr const char* k_sidecars[] = {"-wal", "-shm", "-journal"};
// The lock file in the data folder that `rollback files` holds (flock) for its whole run.
constexpr const char* k_folder_lock = ".enmap-migrate-rollback.lock";
constexpr const char* k_atomic = "atomic";
constexpr const char* k_journal_protocol = "journal";

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

void fsync_file(const fs::path& path) {
    snapshot::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) {
        throw enmap::StoreError("cannot fsync " + path.string() + ": " + std::strerror(errno));
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

std::string sha_if_present(const fs::path& path) {
    return fs::exists(path) ? file_sha256(path) : std::string();
}

// Checks every placed file against the snapshot's SHA-256.
void verify_placed(const fs::path& data_dir, const nlohmann::json& journal) {
    for (const auto& file : journal["place"]) {
        auto n = file["name"].get<std::string>();
        if (!fs::exists(data_dir / n)) {
            throw enmap::StoreError("the staged file " + (data_dir / k_work_dir / "new" / n).string() +
                                        " is missing and " + (data_dir / n).string() + " is not in place",
                                    "restore the snapshot again: enmap-migrate rollback files --snapshot " +
                                        journal["snapshot"].get<std::string>() + " --data-dir " +
                                        data_dir.string() + " --force");
        }
        auto sha = file_sha256(data_dir / n);
        if (sha != file["sha256"].get<std::string>()) {
            throw enmap::StoreError((data_dir / n).string() + " has SHA-256 " + sha + ", the snapshot says " +
                                        file["sha256"].get<std::string>(),
                                    "run the same rollback files command again; if it persists, check the "
                                    "disk and run `enmap-migrate snapshot verify`");
        }
    }
    kill_point("verified");
}

// Done: the journal goes first, then the staging leftovers.
void finish(const fs::path& data_dir) {
    snapshot::remove_durably(data_dir / k_work_dir / k_journal);
    kill_point("journal-removed");
    remove_work_dir(data_dir);
}

// The journal protocol (the fallback): the old sidecars move out, then the new files move in, the
// database first. The folder holds (old db, old wal), (old db), (new db), (new db, new wal); the
// middle two read differently from both sets, so recovery must roll forward. Every step can be
// repeated, so recovery just calls this again.
void apply_journal(const fs::path& data_dir, const nlohmann::json& journal) {
    fs::path work = data_dir / k_work_dir;
    fs::path old_dir = work / "old";
    fs::path new_dir = work / "new";
    if (!fs::exists(old_dir)) {
        snapshot::make_dir(old_dir);
        snapshot::fsync_dir(work);
    }
    for (const auto& name : journal["move_out"]) {
        auto n = name.get<std::string>();
        if (fs::exists(data_dir / n) && !fs::exists(old_dir / n)) {
            rename_durably(data_dir / n, old_dir / n);
        }
        kill_point("moved:" + n);
    }
    for (const auto& file : journal["place"]) {
        auto n = file["name"].get<std::string>();
        if (fs::exists(new_dir / n)) {
            rename_durably(new_dir / n, data_dir / n);
        }
        kill_point("placed:" + n);
    }
    verify_placed(data_dir, journal);
    finish(data_dir);
}

// The protocol a journal describes, or "" when it is not one this tool wrote.
std::string journal_protocol(const nlohmann::json& journal) {
    if (!journal.is_object() || !journal.contains("snapshot") || !journal["snapshot"].is_string() ||
        !journal.contains("database") || !journal["database"].is_string() || !journal.contains("place") ||
        !journal["place"].is_array() || journal["place"].empty()) {
        return "";
    }
    for (const auto& file : journal["place"]) {
        if (!file.is_object() || !file.contains("name") || !file["name"].is_string() ||
            !file.contains("sha256") || !file["sha256"].is_string()) {
            return "";
        }
    }
    auto text = [&](const char* key) {
        return journal.contains(key) && journal[key].is_string() ? journal[key].get<std::string>() : "";
    };
    std::string format = text("format");
    std::string protocol = format == k_journal_format_v1 ? k_journal_protocol
                           : format == k_journal_format  ? text("protocol")
                                                         : "";
    if (protocol == k_atomic && journal.contains("folded") && journal.contains("old")) {
        const auto& folded = journal["folded"];
        // A snapshot of one file is placed as it is; one with a -wal through a folded copy.
        bool folded_ok = journal["place"].size() == 1 ? folded.is_null()
                                                      : folded.is_object() && folded.contains("sha256") &&
                                                            folded["sha256"].is_string();
        return folded_ok && (journal["old"].is_null() || journal["old"].is_string()) ? protocol : "";
    }
    if (protocol == k_journal_protocol && journal.contains("move_out") && journal["move_out"].is_array()) {
        return protocol;
    }
    return "";
}

// The file the atomic protocol renames over the database first: the snapshot's database, or,
// when the snapshot holds a -wal too, a copy of the two folded into one file.
fs::path first_to_place(const fs::path& data_dir, const nlohmann::json& journal) {
    auto db_name = journal["database"].get<std::string>();
    return data_dir / k_work_dir / (journal["folded"].is_null() ? "new" : "fold") / db_name;
}

// The atomic protocol. Every change to the folder is one rename, one unlink of a sidecar that
// holds nothing, or a fold by SQLite (crash-safe by itself), and each leaves a set that reads as
// the old content or the new one:
//   (old db, old wal) -fold-> (old db folded) -rename-> (new db folded) -rename-> (new db folded,
//   new wal) -rename-> (new db, new wal).
// Reading the folded new db with the new -wal beside it gives the same pages as the exact pair:
// the fold copied the last committed version of each page of the -wal into it. Each step is
// skipped when already done, so recovery calls this again.
void apply_atomic(const fs::path& data_dir, const nlohmann::json& journal) {
    fs::path new_dir = data_dir / k_work_dir / "new";
    auto db_name = journal["database"].get<std::string>();
    fs::path db = data_dir / db_name;
    bool folded = !journal["folded"].is_null();
    fs::path first = first_to_place(data_dir, journal);
    if (fs::exists(first)) {
        // The old set, folded before the journal was written (again if a process wrote since).
        if (fs::exists(db) && needs_fold(db)) {
            fold_database(db, "fold-old");
        }
        for (const char* suffix : k_sidecars) {
            std::string n = db_name + suffix;
            if (fs::exists(data_dir / n)) {
                snapshot::remove_durably(data_dir / n);
                kill_point("removed:" + n);
            }
        }
        rename_durably(first, db);
        kill_point((folded ? "placed-folded:" : "placed:") + db_name);
    }
    if (folded) {
        const auto& place = journal["place"];
        for (std::size_t i = 1; i <= place.size(); ++i) {
            auto n = place[i % place.size()]["name"].get<std::string>();  // the -wal, the database last
            if (fs::exists(new_dir / n)) {
                rename_durably(new_dir / n, data_dir / n);
                kill_point("placed:" + n);
            }
        }
    }
    verify_placed(data_dir, journal);
    finish(data_dir);
}

// True when the folder is still as an interrupted atomic run left it: nobody opened or wrote the
// database since. Only then does recovery roll forward.
bool atomic_state_intact(const fs::path& data_dir, const nlohmann::json& journal) {
    fs::path new_dir = data_dir / k_work_dir / "new";
    auto db_name = journal["database"].get<std::string>();
    fs::path db = data_dir / db_name;
    if (fs::exists(first_to_place(data_dir, journal))) {
        auto old = journal["old"].is_null() ? std::string() : journal["old"].get<std::string>();
        return sha_if_present(db) == old && !needs_fold(db);
    }
    for (const char* suffix : {"-shm", "-journal"}) {
        if (fs::exists(data_dir / (db_name + suffix))) {
            return false;
        }
    }
    for (const auto& file : journal["place"]) {
        auto n = file["name"].get<std::string>();
        bool staged = fs::exists(new_dir / n);
        std::string now = sha_if_present(data_dir / n);
        if (n == db_name) {
            auto want = staged ? journal["folded"]["sha256"] : file["sha256"];
            if (now != want.get<std::string>()) {
                return false;
            }
        } else if (staged ? !now.empty() : now != file["sha256"].get<std::string>()) {
            return false;
        }
    }
    return true;
}

// Stages a copy of the snapshot's database and -wal folded into one file, in work/fold; returns
// its name and SHA-256 for the journal. Throws InputError when SQLite cannot fold them.
nlohmann::json stage_folded(const fs::path& work, const nlohmann::json& place) {
    fs::path fold_dir = work / "fold";
    snapshot::make_dir(fold_dir);
    for (const auto& file : place) {
        auto n = file["name"].get<std::string>();
        std::error_code ec;
        fs::copy_file(work / "new" / n, fold_dir / n, fs::copy_options::overwrite_existing, ec);
        if (ec) {
            throw enmap::StoreError("cannot copy " + (work / "new" / n).string() + " to " +
                                        fold_dir.string() + ": " + ec.message(),
                                    "check free space; the data folder was not touched");
        }
    }
    auto db_name = place[0]["name"].get<std::string>();
    fold_database(fold_dir / db_name, "fold-new");
    fsync_file(fold_dir / db_name);
    snapshot::fsync_dir(fold_dir);
    return {{"name", db_name}, {"sha256", file_sha256(fold_dir / db_name)}};
}

// Run as root (sudo on the bot's VM), the staged files would be root's, and a bot running as
// its own user could not open the database it is rolled back to: they take the owner of the
// database they replace, or of the data folder when there is none.
void match_owner(const fs::path& work, const fs::path& db, const fs::path& data_dir) {
    if (::geteuid() != 0) {
        return;
    }
    struct stat like {};
    if (::stat(db.c_str(), &like) != 0 && ::stat(data_dir.c_str(), &like) != 0) {
        return;
    }
    if (like.st_uid == 0 && like.st_gid == 0) {
        return;
    }
    for (const auto& entry : fs::recursive_directory_iterator(work)) {
        if (::lchown(entry.path().c_str(), like.st_uid, like.st_gid) != 0) {
            throw enmap::Error("cannot give " + entry.path().string() + " the owner of " + db.string() +
                                   ": " + std::strerror(errno),
                               "the data folder was not touched");
        }
    }
}

// The identities of the database and its sidecars.
std::map<std::string, snapshot::FileIdentity> watch_folder(const fs::path& dir, const std::string& db_name) {
    std::map<std::string, snapshot::FileIdentity> ids;
    ids[db_name] = snapshot::file_identity(dir / db_name, true);
    for (const char* suffix : k_sidecars) {
        if (std::string_view(suffix) != "-shm") {
            ids[db_name + suffix] = snapshot::file_identity(dir / (db_name + suffix), false);
        }
    }
    return ids;
}

// Stops the run, before the folder is changed, when a process wrote to (or, unless --force, opened)
// the database since `watched` was taken; the staged files go, the folder stays as it is. After a
// change of our own (the fold), `watched` is taken again.
void check_unchanged(const fs::path& dir, const std::string& db_name,
                     std::map<std::string, snapshot::FileIdentity>& watched, bool open,
                     const fs::path& work) {
    if (open) {
        return;  // --force over an open database: the writes go on, as the user was told
    }
    std::string what;
    for (const auto& [name, id] : watched) {
        what = snapshot::file_identity_change(id, snapshot::file_identity(dir / name, name == db_name),
                                              dir / name);
        if (!what.empty()) {
            break;
        }
    }
    if (what.empty() && fs::exists(dir / db_name)) {
        if (auto holder = snapshot::find_open_connection(dir / db_name)) {
            what = (dir / db_name).string() + " was opened: " + *holder;
        }
    }
    if (what.empty()) {
        watched = watch_folder(dir, db_name);
        return;
    }
    std::error_code ec;
    fs::remove_all(work, ec);
    throw enmap::RefusedError(
        "a process changed " + dir.string() + " during the rollback (" + what +
            "): its writes are in neither the safety snapshot nor the snapshot to restore, so nothing "
            "was replaced; the data folder is as that process left it",
        "stop the bot (every process using " + (dir / db_name).string() +
            "), then run the same command again: it takes a new safety snapshot first");
}

// UTC time with milliseconds, as a label may hold it: 2026-12-03T17:40:34.123Z.
std::string utc_stamp_ms() {
    auto now = std::chrono::system_clock::now();
    std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char text[40];
    std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof(out), "%s.%03dZ", text, static_cast<int>(ms));
    return out;
}

// `base`, or `base-2`, `base-3`, ... when a snapshot of the store already has that label: each
// safety snapshot's label names it alone.
std::string unique_label(const snapshot::Store& store, const std::string& base) {
    std::set<std::string> taken;
    std::vector<std::string> damaged;
    for (const auto& info : store.list(&damaged)) {
        taken.insert(info.label);
    }
    std::string label = base;
    for (int n = 2; taken.count(label) != 0; ++n) {
        label = base + "-" + std::to_string(n);
    }
    return label;
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
        {"protocol", protocol.empty() ? nlohmann::json(nullptr) : nlohmann::json(protocol)},
        {"fallback_reason",
         fallback_reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(fallback_reason)},
        {"files", nlohmann::json::array()}};
    for (const auto& f : files) {
        out["files"].push_back(
            {{"name", f.name},
             {"change", f.change()},
             {"before", f.before.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.before)},
             {"after", f.after.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.after)},
             {"size", f.size},
             {"kept_as", f.kept_as.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.kept_as)}});
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
        std::string protocol = journal_protocol(journal);
        if (protocol.empty()) {
            throw enmap::StoreError((work / k_journal).string() + " is not a rollback journal",
                                    "inspect it; remove " + work.string() + " by hand only if no rollback " +
                                        "was interrupted there");
        }
        auto snapshot_id = journal["snapshot"].get<std::string>();
        if (protocol == k_atomic) {
            if (!atomic_state_intact(data_dir, journal)) {
                // Every state of the atomic protocol is a whole set, so keeping it loses nothing.
                spdlog::warn(
                    "the files in {} changed after an interrupted rollback files of snapshot {} (a "
                    "process opened or wrote the database): keeping them as they are",
                    data_dir.string(), snapshot_id);
                finish(data_dir);
                return "discarded";
            }
            spdlog::warn("finishing an interrupted rollback files of snapshot {} in {}", snapshot_id,
                         data_dir.string());
            apply_atomic(data_dir, journal);
            return "completed";
        }
        spdlog::warn("finishing an interrupted rollback files of snapshot {} in {}", snapshot_id,
                     data_dir.string());
        apply_journal(data_dir, journal);
        return "completed";
    }
    spdlog::warn(
        "discarding the staged files of an interrupted rollback files in {} (the files there still hold "
        "their old content)",
        data_dir.string());
    remove_work_dir(data_dir);
    return "discarded";
}

FilesReport rollback_files(snapshot::Store& store, const FilesOptions& options) {
    const fs::path& dir = options.data_dir;
    if (fs::exists(dir) && !fs::is_directory(dir)) {
        throw enmap::InputError("--data-dir " + dir.string() + ": not a folder",
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
    if (!fs::exists(dir)) {
        // A fresh folder (the README's restore recipe on a new machine): created private, as
        // Enmap's data is the bot's alone.
        fs::create_directories(dir);
        fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
        spdlog::info("created the data folder {} (mode 0700)", dir.string());
    }
    // One rollback per folder at a time, for the whole run (recovery included);
    // taken once the folder exists, so that a missing one can be created first.
    snapshot::FileLock folder_lock(dir / k_folder_lock, "enmap-migrate rollback files");
    struct stat folder {};
    if (::geteuid() == 0 && ::stat(dir.c_str(), &folder) == 0) {
        // Run with sudo: the bot's own user must be able to take the lock later.
        [[maybe_unused]] int ignored = ::lchown((dir / k_folder_lock).c_str(), folder.st_uid, folder.st_gid);
    }
    std::string db_name;
    nlohmann::json place = nlohmann::json::array();
    std::map<std::string, std::string> after;
    // Names first, before anything is read or written: a crafted manifest must not make the safety
    // snapshot capture, or the restore write, a file outside the data folder.
    if (!manifest.contains("files") || !manifest["files"].is_array()) {
        throw enmap::StoreError("snapshot " + report.snapshot_id + " has no list of files",
                                "the manifest is not one this tool wrote; do not restore it");
    }
    for (const auto& file : manifest["files"]) {
        if (!file.is_object() || !file.contains("name") || !file["name"].is_string() ||
            !snapshot::plain_file_name(file["name"].get<std::string>()) || !file.contains("sha256") ||
            !file["sha256"].is_string()) {
            throw enmap::StoreError(
                "snapshot " + report.snapshot_id + " names a file " +
                    (file.is_object() && file.contains("name") ? file["name"].dump() : "?") +
                    " that is not a plain name",
                "the manifest is not one this tool wrote; do not restore it");
        }
    }
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
    for (const auto& name : names) {
        if (fs::exists(dir / name)) {
            before[name] = file_sha256(dir / name);
        }
    }
    for (const auto& name : names) {
        if (before.count(name) == 0 && after.count(name) == 0) {
            continue;
        }
        FileChange change{name, before.count(name) ? before[name] : "", after.count(name) ? after[name] : "",
                          0, ""};
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

    // A safety snapshot first, so this rollback can itself be rolled back. What the folder holds
    // now is noted first: anything that writes to it after this, before the swap, stops the run.
    if (before.count(db_name) != 0) {
        snapshot::CaptureOptions capture;
        capture.kind =
            open ? snapshot::CaptureOptions::Kind::k_live : snapshot::CaptureOptions::Kind::k_exact;
        capture.database = db;
        capture.label = unique_label(store, "pre-rollback-" + utc_stamp_ms());
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
    // What the folder holds now, as the safety snapshot captured it (an exact capture fails when
    // anything changes during its copy): anything that writes to it after this, before the swap,
    // stops the run. Without a database there is nothing of it to lose.
    auto watched = watch_folder(dir, db_name);
    bool watching = before.count(db_name) != 0;
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
            std::string message = "the staged " + n;
            message += " has SHA-256 " + sha + ", the snapshot says " + file["sha256"].get<std::string>();
            throw enmap::StoreError(message, "run `enmap-migrate snapshot verify " + report.snapshot_id +
                                                 "`; the data folder was not touched");
        }
    }
    std::string fallback;
    if (open) {
        fallback = "the database is open in another process (--force)";
    }
    nlohmann::json folded = nullptr;
    if (fallback.empty() && place.size() > 1) {
        try {
            folded = stage_folded(work, place);
        } catch (const enmap::InputError& e) {
            if (enmap::mentions_no_space(e.what())) {
                throw enmap::NoSpaceError(e.what(), enmap::k_no_space_hint);  // no fallback that writes more
            }
            fallback = std::string("the snapshot's files cannot be folded into one: ") + e.what();
        }
    }
    match_owner(work, db, dir);
    kill_point("staged");

    // Without its database there was nothing to snapshot, and a -wal or -journal cannot be applied to
    // another database: it is kept under a name SQLite does not read, not deleted (it may be the
    // only trace of writes someone needs to look at). A -shm holds nothing of its own. This is the
    // first change to the folder, after staging: a rollback that fails before it leaves it as it was.
    if (before.count(db_name) == 0) {
        const std::string stamp = utc_stamp();
        for (const char* suffix : {"-wal", "-journal"}) {
            const std::string name = db_name + suffix;
            std::error_code ec;
            if (before.count(name) == 0 || fs::file_size(dir / name, ec) == 0 || ec) {
                continue;
            }
            std::string base = name;
            base += ".orphaned-";
            base += stamp;
            std::string kept = base;
            for (int n = 2; fs::exists(dir / kept); ++n) {  // never over an earlier one
                kept = base + "-" + std::to_string(n);
            }
            if (::rename((dir / name).c_str(), (dir / kept).c_str()) != 0) {
                throw enmap::Error("cannot move " + (dir / name).string() + " aside to " + kept + ": " +
                                       std::strerror(errno),
                                   "move it out of " + dir.string() + " by hand, then run the same command");
            }
            snapshot::fsync_dir(dir);
            spdlog::warn("{} had no {} beside it; kept as {}", name, db_name, kept);
            for (auto& change : report.files) {
                if (change.name == name) {
                    change.kept_as = kept;
                }
            }
        }
    }

    // Nothing may have written to the folder since the safety snapshot: its files would then hold
    // writes that neither the safety snapshot nor the restored set has.
    check_unchanged(dir, db_name, watched, open || !watching, work);
    // The old set becomes one file with the same content (its exact bytes are in the safety snapshot).
    std::string old_sha = before.count(db_name) != 0 ? before[db_name] : "";
    if (fallback.empty() && fs::exists(db) && needs_fold(db)) {
        try {
            fold_database(db, "fold-old");
            old_sha = file_sha256(db);
        } catch (const enmap::InputError& e) {
            if (enmap::mentions_no_space(e.what())) {
                throw enmap::NoSpaceError(e.what(), enmap::k_no_space_hint);  // no fallback that writes more
            }
            fallback = std::string("the files in the folder cannot be folded into one: ") + e.what();
        }
    }
    kill_point("folded");
    watched = watch_folder(dir, db_name);  // the fold changed the old set, not its content

    // The journal: once it exists, recovery rolls forward.
    report.protocol = fallback.empty() ? k_atomic : k_journal_protocol;
    report.fallback_reason = fallback;
    nlohmann::json journal = {{"format", k_journal_format},
                              {"snapshot", report.snapshot_id},
                              {"database", db_name},
                              {"protocol", report.protocol},
                              {"place", place}};
    if (fallback.empty()) {
        journal["folded"] = folded;
        journal["old"] = old_sha.empty() ? nlohmann::json(nullptr) : nlohmann::json(old_sha);
    } else {
        spdlog::warn(
            "falling back to the journal protocol: {}. Until this command ends, a crash can leave {} without "
            "its -wal; after a crash, run the same command again before starting the bot",
            fallback, db.string());
        nlohmann::json move_out = nlohmann::json::array();
        for (const char* suffix : k_sidecars) {
            if (fs::exists(dir / (db_name + suffix))) {
                move_out.push_back(db_name + suffix);
            }
        }
        journal["move_out"] = move_out;
    }
    check_unchanged(dir, db_name, watched, open || !watching, work);  // right before the swap
    snapshot::write_file_atomic(work, work / k_journal, journal.dump(2) + "\n");
    kill_point("journal-written");
    if (fallback.empty()) {
        apply_atomic(dir, journal);
    } else {
        apply_journal(dir, journal);
    }
    return report;
}

}  // namespace rollback
