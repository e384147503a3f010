#include "rollback/cutover.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "replay/ledger.hpp"
#include "replay/snapshot_source.hpp"
#include "replay/url.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/summary.hpp"

namespace rollback {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string utc_stamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H-%M-%SZ", &tm);
    return stamp;
}

// Before the capture: the bot has stopped, and the target holds BASE's committed run. Both are
// checked again later (by capture and by the replay's own checks); here they fail in milliseconds.
void preflight(const CutoverOptions& options, const std::string& base_id) {
    if (!std::filesystem::exists(options.database)) {
        throw enmap::InputError(options.database.string() + " does not exist",
                                "give the bot's Enmap folder with --data-dir (it holds enmap.sqlite)");
    }
    if (auto holder = snapshot::find_open_connection(options.database)) {
        throw enmap::RefusedError(options.database.string() + " is open in another process: " + *holder,
                                  "stop the bot (every process using the database), then run cutover again");
    }
    auto conn = replay::connect(options.database_url);
    pqxx::read_transaction tx(*conn);
    auto runs = replay::active_runs(tx);
    if (runs.empty() || runs.front()["source_id"].get<std::string>() != base_id) {
        std::string now = runs.empty()
                              ? "it holds no committed run"
                              : "its newest run, " + std::to_string(runs.front()["id"].get<std::int64_t>()) +
                                    ", replayed " + runs.front()["source_id"].get<std::string>();
        throw enmap::RefusedError(
            "the target does not hold a committed run of the base snapshot " + base_id + ": " + now,
            runs.empty()
                ? "pre-seed it first: `enmap-migrate snapshot create --live` and `enmap-migrate replay "
                  "--snapshot BASE --plan DIR` while the bot runs"
                : "run cutover --since " + runs.front()["source_id"].get<std::string>());
    }
}

std::string capture_final(const CutoverOptions& options, std::string& label) {
    snapshot::CaptureOptions capture;
    capture.kind = snapshot::CaptureOptions::Kind::k_exact;
    capture.database = options.database;
    label = options.label.empty() ? "cutover-" + utc_stamp() : options.label;
    capture.label = label;
    capture.compression = options.compression;
    capture.threads = options.threads;
    capture.summarize = snapshot::summarize_enmap;
    capture.summarize_pages = snapshot::summarize_enmap_pages;
    capture.command = "enmap-migrate cutover";
    snapshot::Store store(options.store, snapshot::Store::Access::k_write, capture.command);
    auto result = snapshot::capture(store, capture);
    return snapshot::to_hex(result.id);
}

// The hint of a failure after the capture: the target is as it was, and what to run.
std::string after_capture_hint(const CutoverOptions& options, const std::string& snapshot_id,
                               const std::string& hint) {
    std::string out = "the target is as it was (the catch-up is one transaction); the final snapshot " +
                      snapshot_id.substr(0, 12) + " stays in the store. ";
    if (!hint.empty()) {
        out += hint + ". ";
    }
    out += "Once the cause is fixed, `enmap-migrate replay --snapshot " + snapshot_id.substr(0, 12) +
           " --since " + options.base_ref + " --plan " + options.plan_dir.string() +
           "` finishes the catch-up; or start the bot again on Enmap: its data is untouched";
    return out;
}

// `e` again, of the same class (so of the same exit status), with another message and hint.
[[noreturn]] void rethrow_as(const enmap::Error& e, const std::string& message, const std::string& hint) {
    using enmap::ExitCode;
    switch (e.exit_code()) {
        case ExitCode::k_usage:
            throw enmap::UsageError(message, hint);
        case ExitCode::k_input:
            throw enmap::InputError(message, hint);
        case ExitCode::k_policy:
            throw enmap::PolicyError(message, hint);
        case ExitCode::k_store:
            throw enmap::StoreError(message, hint);
        case ExitCode::k_database:
            throw enmap::DatabaseError(message, hint);
        case ExitCode::k_refused:
            throw enmap::RefusedError(message, hint);
        case ExitCode::k_validation:
            throw enmap::ValidationError(message, hint);
        case ExitCode::k_no_space:
            throw enmap::NoSpaceError(message, hint);
        default:
            throw enmap::Error(message, hint);
    }
}

}  // namespace

Downtime Downtime::of(const replay::ReplayReport& run, double snapshot_seconds, double total_seconds) {
    Downtime d;
    d.snapshot = snapshot_seconds;
    d.diff = run.preflight_seconds;
    for (const auto& m : run.modules) {
        d.apply += m.apply_seconds;
        d.transforms += m.catchup == "counters" ? 0.0 : m.transform_seconds - m.apply_seconds;
        d.validation += m.verify_seconds;
    }
    d.validation += run.validation.seconds;
    d.total = total_seconds;
    d.other = std::max(0.0, total_seconds - d.snapshot - d.diff - d.apply - d.transforms - d.validation);
    return d;
}

nlohmann::json Downtime::to_json() const {
    return {{"snapshot", snapshot},     {"diff", diff},   {"apply", apply}, {"transforms", transforms},
            {"validation", validation}, {"other", other}, {"total", total}};
}

nlohmann::json CutoverReport::to_json() const {
    return {{"base", base_id},
            {"snapshot", snapshot_id},
            {"label", label},
            {"replay", replay.to_json()},
            {"downtime", downtime.to_json()}};
}

CutoverReport cutover(const CutoverOptions& options, replay::Events& events) {
    auto start = Clock::now();
    CutoverReport report;
    {
        snapshot::Store store(options.store, snapshot::Store::Access::k_read, "enmap-migrate cutover");
        report.base_id = snapshot::to_hex(store.resolve(options.base_ref));
    }
    events.phase("preflight");
    preflight(options, report.base_id);
    events.phase("snapshot");
    auto phase = Clock::now();
    report.snapshot_id = capture_final(options, report.label);
    double snapshot_seconds = since(phase);
    spdlog::info("cutover: final snapshot {} ({}) in {:.2f} s", report.snapshot_id.substr(0, 12),
                 report.label, snapshot_seconds);
    replay::SnapshotSource target(options.store, report.snapshot_id, options.formats);
    replay::SnapshotSource base(options.store, report.base_id, options.formats);
    replay::ReplayOptions o;
    o.database_url = options.database_url;
    o.plan_dir = options.plan_dir;
    o.dry_run = options.dry_run;
    o.decode = options.decode;
    o.renames = options.renames;
    o.autonum = options.autonum;
    o.since = &base;
    try {
        report.replay = replay::run_replay(target, o, events);
    } catch (const enmap::Error& e) {
        rethrow_as(e, std::string("cutover: ") + e.what(),
                   after_capture_hint(options, report.snapshot_id, e.hint()));
    }
    report.downtime = Downtime::of(report.replay, snapshot_seconds, since(start));
    return report;
}

}  // namespace rollback
