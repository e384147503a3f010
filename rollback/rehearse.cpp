#include "rollback/rehearse.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <pqxx/pqxx>

#include "enmap/error.hpp"
#include "replay/digest.hpp"
#include "replay/ledger.hpp"
#include "replay/snapshot_source.hpp"
#include "replay/url.hpp"
#include "rollback/postgres.hpp"
#include "snapshot/capture.hpp"
#include "snapshot/summary.hpp"

namespace rollback {

namespace {

constexpr const char* k_action = "rehearse";

std::string capture_data_dir(const RehearseOptions& options) {
    snapshot::CaptureOptions capture;
    capture.kind =
        options.live ? snapshot::CaptureOptions::Kind::k_live : snapshot::CaptureOptions::Kind::k_exact;
    capture.database = *options.data_dir / "enmap.sqlite";
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    capture.label = std::string("rehearsal-") + stamp;
    capture.summarize = snapshot::summarize_enmap;
    capture.summarize_pages = snapshot::summarize_enmap_pages;
    capture.command = "enmap-migrate rehearse";
    snapshot::Store store(options.store, snapshot::Store::Access::k_write, capture.command);
    auto result = snapshot::capture(store, capture);
    spdlog::info("rehearse: snapshot {} of {} ({})", snapshot::to_hex(result.id), capture.database.string(),
                 capture.label);
    return snapshot::to_hex(result.id);
}

// The runs still holding data, newest first, and whether each was a rehearsal.
std::vector<std::pair<std::int64_t, bool>> held_runs(const std::string& url) {
    std::vector<std::pair<std::int64_t, bool>> out;
    auto conn = replay::connect(url);
    pqxx::read_transaction tx(*conn);
    bool actions = !tx.exec1("SELECT to_regclass('enmap_migrate.actions') IS NULL")[0].as<bool>();
    for (const auto& run : replay::active_runs(tx)) {
        auto id = run["id"].get<std::int64_t>();
        bool rehearsal =
            actions && !tx.exec("SELECT 1 FROM enmap_migrate.actions WHERE run_id = " + std::to_string(id) +
                                " AND action = " + tx.quote(k_action))
                            .empty();
        out.emplace_back(id, rehearsal);
    }
    return out;
}

}  // namespace

nlohmann::json RehearseReport::to_json() const {
    return {{"snapshot", snapshot_id},    {"snapshot_created", snapshot_created},
            {"rolled_back", rolled_back}, {"run", replay.run_id},
            {"replay", replay.to_json()}, {"validation", validation.to_json()},
            {"tables", digests},          {"digest", digest}};
}

std::map<std::string, std::string> run_table_digests(const std::string& database_url, std::int64_t run_id) {
    std::map<std::string, std::string> out;
    auto conn = replay::connect(database_url);
    pqxx::read_transaction tx(*conn);
    for (const auto& row :
         tx.exec("SELECT identity, rows, digest FROM enmap_migrate.table_states WHERE run_id = " +
                 std::to_string(run_id))) {
        out[row[0].c_str()] = std::string(row[1].c_str()) + ":" + row[2].c_str();
    }
    return out;
}

RehearseReport rehearse(const RehearseOptions& options, replay::Events& events) {
    RehearseReport report;
    if (options.data_dir) {
        report.snapshot_id = capture_data_dir(options);
        report.snapshot_created = true;
    } else {
        snapshot::Store store(options.store, snapshot::Store::Access::k_read, "enmap-migrate rehearse");
        report.snapshot_id = snapshot::to_hex(store.resolve(options.snapshot_ref));
    }

    // Undo the previous rehearsal; never a real migration.
    for (const auto& [id, rehearsal] : held_runs(options.database_url)) {
        if (!rehearsal) {
            throw enmap::RefusedError(
                "the database holds run " + std::to_string(id) + ", which is not a rehearsal",
                "rehearse only undoes its own runs: use a separate database for rehearsals, or undo that run "
                "with `enmap-migrate rollback postgres --run " +
                    std::to_string(id) + "` if it is one");
        }
        events.phase("rollback");
        PostgresOptions undo;
        undo.database_url = options.database_url;
        undo.run_id = id;
        undo.store = options.store;
        auto undone = rollback_postgres(undo);
        spdlog::info(
            "rehearse: rolled back the previous rehearsal, run {}: its {} objects gone ({} dropped, the rest "
            "with their tables){}",
            id, undone.objects, undone.dropped.size(),
            undone.restored.empty() ? ""
                                    : ", " + std::to_string(undone.restored.size()) +
                                          " existing table(s) put back as they were before it");
        report.rolled_back.push_back(id);
    }

    replay::SnapshotSource source(options.store, report.snapshot_id, options.formats);
    replay::ReplayOptions replay_options;
    replay_options.database_url = options.database_url;
    replay_options.plan_dir = options.plan_dir;
    replay_options.decode = options.decode;
    replay_options.renames = options.renames;
    replay_options.only = options.only;
    replay_options.keep_going = options.keep_going;
    replay_options.kind = "rehearsal";
    replay_options.autonum = options.autonum;
    report.replay = replay::run_replay(source, replay_options, events);
    {
        auto conn = replay::connect(options.database_url);
        pqxx::work tx(*conn);
        ensure_actions(tx);
        record_action(tx, report.replay.run_id, k_action,
                      {{"snapshot", report.snapshot_id}, {"plan", options.plan_dir.string()}});
        tx.commit();
    }

    events.phase("validate");
    report.validation = replay::run_validate(source, options.database_url, options.decode);
    report.digests = run_table_digests(options.database_url, report.replay.run_id);
    std::string all = report.replay.plan_digest + "\n";
    for (const auto& [table, digest] : report.digests) {
        all += table + " " + digest + "\n";
    }
    report.digest = replay::sha256_hex(all);
    if (!report.validation.ok) {
        throw enmap::ValidationError("rehearsal run " + std::to_string(report.replay.run_id) +
                                         " does not match snapshot " + report.snapshot_id + ":" +
                                         report.validation.describe(),
                                     "report this; roll the run back with `enmap-migrate rollback postgres`");
    }
    return report;
}

}  // namespace rollback
