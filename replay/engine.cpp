#include "replay/engine.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "enmap/summary.hpp"
#include "replay/catalog.hpp"
#include "replay/catchup.hpp"
#include "replay/copy.hpp"
#include "replay/json_text.hpp"
#include "replay/ledger.hpp"
#include "replay/naming.hpp"
#include "replay/plan.hpp"
#include "replay/sql_text.hpp"
#include "replay/tx_guard.hpp"
#include "replay/url.hpp"
#include "replay/writes.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw enmap::InputError("cannot read " + path.string());
    }
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

// A module's failure: the message and the exit status it maps to.
struct ModuleFailure {
    std::string message;
    enmap::ExitCode code;
};

// Names for the steps outside the plan's modules; '@' cannot appear in a plan module name.
constexpr const char* k_drizzle_step = "@drizzle";
constexpr const char* k_autonum_step = "@autonum";

// A module that succeeded: "committed", or "passed" in a dry run (whose ROLLBACK undoes it).
bool succeeded(const std::string& status) {
    return status == "committed" || status == "passed";
}

class Run {
public:
    Run(Source& source, const ReplayOptions& options, Events& events)
        : m_source(source), m_options(options), m_events(events) {}

    ReplayReport execute();

private:
    void preflight();
    void preflight_catchup();
    void check_target(pqxx::work& tx);
    void check_base(pqxx::work& tx);
    void run_autonum_catchup(pqxx::work& tx);
    void apply_catchup(pqxx::dbtransaction& tx, const Module& module, ModuleReport& report);
    void run_sql_files(pqxx::dbtransaction& tx, const std::vector<fs::path>& files, const Module& module,
                       const ModuleReport& report, const char* what);
    void run_drizzle(pqxx::work& tx);
    void run_autonum(pqxx::work& tx);
    void run_module(pqxx::work& tx, const Module& module, int index, int count);
    std::uint64_t load_table(pqxx::dbtransaction& tx, ModuleReport& report, const std::string& enmap,
                             const std::string& table);
    void run_verify(pqxx::dbtransaction& tx, const fs::path& file);
    std::string offending_keys(pqxx::dbtransaction& tx, const ModuleReport& report, const std::string& sql);
    void record_failed_run(const std::string& error);
    ModuleRecord to_record(const ModuleReport& m, int position) const;

    Source& m_source;
    const ReplayOptions& m_options;
    Events& m_events;
    Plan m_plan;
    std::vector<DrizzleMigration> m_drizzle;
    std::map<std::string, std::uint64_t> m_rows;   // enmap -> rows
    std::map<std::string, std::string> m_digests;  // enmap -> source digest
    ReplayReport m_report;
    std::int64_t m_run_id = 0;
    std::string m_fingerprint;
    std::vector<ModuleRecord> m_records;
    std::optional<WriteTracker> m_writes;
    std::vector<AutonumRow> m_autonum;  // the source's counters, with --autonum's and derived ones
    void plan_autonum();
    [[nodiscard]] std::string run_kind() const {
        return m_options.dry_run ? "dry-run" : (m_options.kind.empty() ? "replay" : m_options.kind);
    }
    [[nodiscard]] const char* ok_status() const { return m_options.dry_run ? "passed" : "committed"; }
    TransactionGuard m_guard;
    std::string m_current_step;
    std::unique_ptr<CatchupDiff> m_diff;                        // a catch-up run's
    std::int64_t m_base_run = 0;                                // a catch-up run's base run
    std::map<std::string, std::vector<std::string>> m_outputs;  // module -> tables its transform wrote
    [[nodiscard]] bool catchup() const { return m_options.since != nullptr; }
};

nlohmann::json options_json(const ReplayOptions& o) {
    nlohmann::json renames = nlohmann::json::object();
    for (const auto& [k, v] : o.renames) {
        renames[k] = v;
    }
    return {
        {"dry_run", o.dry_run},
        {"keep_going", o.keep_going},
        {"only", o.only},
        {"renames", renames},
        {"invalid_text", o.decode.invalid_text == enmap::InvalidTextPolicy::k_error ? "error" : "replace"},
        {"functions", o.decode.functions == enmap::FunctionPolicy::k_error
                          ? "error"
                          : (o.decode.functions == enmap::FunctionPolicy::k_drop ? "drop" : "source")}};
}

void Run::preflight() {
    m_events.phase("preflight");
    m_source.prepare(m_options.decode);
    throw_if_violations(m_source.violations());
    throw_if_long_keys(m_source.tables());
    std::vector<std::string> enmaps;
    for (const auto& t : m_source.tables()) {
        enmaps.push_back(t.enmap_name);
        m_rows[t.enmap_name] = t.rows;
        m_digests[t.enmap_name] = t.digest;
        m_report.lossy += t.lossy;
    }
    m_report.table_names = resolve_table_names(enmaps, m_options.renames);
    m_plan = m_options.plan_dir ? load_plan(*m_options.plan_dir)
                                : implicit_plan(m_source.tables(), m_report.table_names);
    check_plan(m_plan, m_source.tables());
    if (m_plan.drizzle) {
        m_drizzle = read_drizzle_folder(*m_plan.drizzle);
    }
    check_transaction_control(m_plan, m_drizzle);
    std::set<std::string> names;
    for (const auto& m : m_plan.modules) {
        names.insert(m.name);
    }
    for (const auto& only : m_options.only) {
        if (names.count(only) == 0) {
            throw enmap::UsageError("--only " + only + ": the plan has no module of that name");
        }
    }
    m_report.source_id = m_source.id();
    m_report.plan_digest = m_plan.digest;
    plan_autonum();
    if (catchup()) {
        preflight_catchup();
    }
}

// A catch-up's sources: NEW must be a later capture of the database BASE was taken of, holding the
// same enmaps. Then the diff, before anything is written.
void Run::preflight_catchup() {
    Source& base = *m_options.since;
    if (!m_options.only.empty()) {
        throw enmap::UsageError(
            "--since and --only do not go together: a catch-up brings every module up to date");
    }
    base.prepare(m_options.decode);
    throw_if_violations(base.violations());
    auto from = base.origin();
    auto to = m_source.origin();
    if (!from || !to) {
        throw enmap::UsageError("--since needs snapshots on both sides: a catch-up compares two snapshots",
                                "replay with --snapshot NEW --since BASE");
    }
    std::string named = "snapshot " + m_source.description() + " (--snapshot)";
    if (base.id() == m_source.id()) {
        throw enmap::RefusedError(named + " is the base snapshot itself: there is nothing to catch up",
                                  "take a new snapshot (`enmap-migrate snapshot create`) and catch up to it");
    }
    if (from->database != to->database || from->host != to->host) {
        throw enmap::RefusedError(named + " was captured from " + to->host + ":" + to->database +
                                      ", the base " + base.description() + " from " + from->host + ":" +
                                      from->database + ": NEW is not a later capture of the same database",
                                  "catch up from a snapshot of the same bot's database, or replay NEW in "
                                  "full into an empty database");
    }
    if (to->time <= from->time) {
        throw enmap::RefusedError(named + " was captured at " + to->time + ", not after the base " +
                                      base.description() + " (" + from->time + ")",
                                  "swap --snapshot and --since, or take a new snapshot and catch up to it");
    }
    std::set<std::string> before;
    std::set<std::string> now;
    for (const auto& t : base.tables()) {
        before.insert(t.enmap_name);
    }
    for (const auto& t : m_source.tables()) {
        now.insert(t.enmap_name);
    }
    if (before != now) {
        std::string added;
        std::string removed;
        for (const auto& e : now) {
            added += before.count(e) == 0 ? " " + e : "";
        }
        for (const auto& e : before) {
            removed += now.count(e) == 0 ? " " + e : "";
        }
        throw enmap::RefusedError(
            "the enmaps changed between the base " + base.description() + " and " + named +
                " (added:" + (added.empty() ? " none" : added) +
                "; removed:" + (removed.empty() ? " none" : removed) + ")",
            "a new or dropped enmap changes the plan: roll back and replay NEW in full");
    }
    m_diff = std::make_unique<CatchupDiff>(base, m_source);
    m_report.catchup = m_diff->to_json();
    spdlog::debug("catch-up diff: {:.2f} s", m_diff->seconds());
}

// An export() source (dump --export, snapshot create --export) has no internal::autonum: a bot's
// next autonum key after go-live would then collide. Counters come from --autonum, else from the
// highest key of an enmap whose keys are all small integers (autonum-style), said loudly.
void Run::plan_autonum() {
    m_autonum = m_source.autonum();
    std::set<std::string> enmaps;
    for (const auto& t : m_source.tables()) {
        enmaps.insert(t.enmap_name);
    }
    for (const auto& [enmap, n] : m_options.autonum) {
        if (enmaps.count(enmap) == 0) {
            throw enmap::UsageError("--autonum " + enmap + "=" + std::to_string(n) +
                                    ": the source has no enmap of that name");
        }
        const std::string& name = enmap;  // a lambda may not capture a structured binding (clang 14)
        auto it = std::find_if(m_autonum.begin(), m_autonum.end(),
                               [&](const AutonumRow& a) { return a.enmap == name; });
        if (it != m_autonum.end()) {
            spdlog::warn("--autonum {}={} replaces the source's counter {}", enmap, n, it->lastnum);
            it->lastnum = n;
        } else {
            m_autonum.push_back({enmap, n});
        }
        m_report.autonum.push_back({{"enmap", enmap}, {"lastnum", n}, {"from", "--autonum"}});
    }
    if (!m_source.autonum().empty()) {
        return;
    }
    for (const auto& t : m_source.tables()) {
        if (t.rows == 0 || m_options.autonum.count(t.enmap_name) != 0) {
            continue;
        }
        std::int64_t highest = 0;
        bool integers = true;
        m_source.for_each_row(t.enmap_name, [&](std::string_view key, std::string_view) {
            if (!integers) {
                return;
            }
            bool digits = !key.empty() && key.size() <= 18 && key.front() != '0' &&
                          key.find_first_not_of("0123456789") == std::string_view::npos;
            if (!digits) {
                integers = false;
                return;
            }
            highest = std::max<std::int64_t>(highest, std::stoll(std::string(key)));
        });
        // Autonum keys count up from 1; ids such as Discord snowflakes are integers too, far above
        // the row count.
        if (!integers || highest > static_cast<std::int64_t>(t.rows) * 10 + 100) {
            continue;
        }
        spdlog::warn(
            "THE SOURCE HAS NO AUTONUM COUNTERS (internal::autonum; an export() file has none), but the keys "
            "of the enmap '{}' are the integers 1..{}, as autonum writes them: using its highest key, {}, as "
            "its counter. Pass --autonum {}=N to set it yourself",
            t.enmap_name, highest, highest, t.enmap_name);
        m_autonum.push_back({t.enmap_name, highest});
        m_report.autonum.push_back(
            {{"enmap", t.enmap_name}, {"lastnum", highest}, {"from", "the highest numeric key"}});
    }
}

void Run::check_target(pqxx::work& tx) {
    if (catchup()) {
        check_base(tx);
        return;
    }
    auto runs = active_runs(tx);
    if (!runs.empty()) {
        auto id = runs.front()["id"].get<std::int64_t>();
        throw enmap::RefusedError("the database already holds run " + std::to_string(id) + " (source " +
                                      runs.front()["source_id"].get<std::string>() +
                                      "); replaying again would mix two runs",
                                  "undo it first with `enmap-migrate rollback postgres --run " +
                                      std::to_string(id) + "`, or replay into an empty database");
    }
    std::vector<std::string> existing;
    std::vector<std::string> wanted;
    wanted.emplace_back(k_autonum_table);
    for (const auto& [enmap, table] : m_report.table_names) {
        wanted.push_back(table);
    }
    for (const auto& table : wanted) {
        if (!tx.exec1("SELECT to_regclass(" + tx.quote(tx.quote_name(table)) + ") IS NULL")[0].as<bool>()) {
            existing.push_back(table);
        }
    }
    if (!existing.empty()) {
        std::string list;
        for (const auto& t : existing) {
            list += (list.empty() ? "" : ", ") + t;
        }
        throw enmap::RefusedError(
            "the database already has raw_ tables from an earlier run: " + list,
            "undo that run with `enmap-migrate rollback postgres` (or drop the tables if no "
            "run recorded them), then replay again");
    }
}

// A catch-up's target: its newest run that holds data must be a committed run of BASE, with this
// plan, these policies and these table names. Notes the tables each module's transform wrote to in
// that run and the runs it rests on.
void Run::check_base(pqxx::work& tx) {
    const std::string base_id = m_options.since->id();
    const std::string base_name = "the base " + m_options.since->description();
    auto runs = active_runs(tx);
    if (runs.empty() || runs.front()["source_id"].get<std::string>() != base_id) {
        std::string now = runs.empty()
                              ? "it holds no committed run"
                              : "its newest run, " + std::to_string(runs.front()["id"].get<std::int64_t>()) +
                                    ", replayed " + runs.front()["source_id"].get<std::string>();
        throw enmap::RefusedError(
            "the database does not hold a committed run of " + base_name + " (" + base_id + "): " + now,
            runs.empty()
                ? "replay the base first (`enmap-migrate replay --snapshot BASE --plan DIR`), then catch up"
                : "catch up from the snapshot that run replayed: --since " +
                      runs.front()["source_id"].get<std::string>());
    }
    m_base_run = runs.front()["id"].get<std::int64_t>();
    const std::string id = std::to_string(m_base_run);
    auto row = tx.exec1(
        "SELECT status, plan_digest, coalesce(options->>'invalid_text', ''), coalesce(options->>'functions', "
        "'') "
        "FROM enmap_migrate.runs WHERE id = " +
        id);
    const std::string rollback = "`enmap-migrate rollback postgres --run " + id + "`";
    if (std::string(row[0].c_str()) != "committed") {
        throw enmap::RefusedError("run " + id + " of " + base_name + " is " + row[0].c_str() +
                                      ": a catch-up rests on a run whose every module committed",
                                  "undo it with " + rollback + " and replay NEW in full");
    }
    if (std::string(row[1].c_str()) != m_plan.digest) {
        throw enmap::RefusedError("the plan changed since run " + id + " replayed " + base_name +
                                      " (plan digest " + std::string(row[1].c_str()).substr(0, 12) +
                                      ", now " + m_plan.digest.substr(0, 12) +
                                      "): a changed plan needs a full rehearsal",
                                  "undo run " + id + " with " + rollback +
                                      " and replay NEW in full with the new plan (or catch up with the plan "
                                      "run " +
                                      id + " used)");
    }
    nlohmann::json now = options_json(m_options);
    if (now["invalid_text"] != row[2].c_str() || now["functions"] != row[3].c_str()) {
        throw enmap::RefusedError("the data policies differ from run " + id + "'s (--invalid-text " +
                                      row[2].c_str() + " --functions " + row[3].c_str() + ")",
                                  "catch up with the policies run " + id + " used, or replay NEW in full");
    }
    std::map<std::string, std::string> loaded;
    for (const auto& t : tx.exec("SELECT enmap, table_name FROM enmap_migrate.tables WHERE run_id = " + id +
                                 " AND enmap <> 'internal::autonum'")) {
        loaded[t[0].c_str()] = t[1].c_str();
    }
    if (loaded != m_report.table_names) {
        throw enmap::RefusedError(
            "run " + id + " loaded other tables than this catch-up would write (" +
                std::to_string(loaded.size()) + " raw_ tables then, " +
                std::to_string(m_report.table_names.size()) +
                " now; a --rename, or modules left out with --only)",
            "catch up with the same --rename options and no --only, or replay NEW in full");
    }
    // The tables each module's transform wrote to, over the chain of runs down to the full replay,
    // without the raw_ tables.
    for (const auto& t : tx.exec(
             "WITH RECURSIVE chain(id, base) AS (SELECT id, base_run FROM enmap_migrate.runs WHERE id = " +
             id +
             " UNION ALL SELECT r.id, r.base_run FROM enmap_migrate.runs r JOIN chain c ON r.id = c.base) "
             "SELECT DISTINCT w.module, w.identity FROM enmap_migrate.written_tables w "
             "WHERE w.run_id IN (SELECT id FROM chain) AND to_regclass(w.identity) IS NOT NULL "
             "AND to_regclass(w.identity) NOT IN (SELECT to_regclass(quote_ident(t.table_name)) "
             "FROM enmap_migrate.tables t WHERE t.run_id IN (SELECT id FROM chain)) ORDER BY 1, 2")) {
        m_outputs[t[0].c_str()].emplace_back(t[1].c_str());
    }
}

ModuleRecord Run::to_record(const ModuleReport& m, int position) const {
    ModuleRecord r;
    r.position = position;
    r.name = m.name;
    r.status = m.status;
    r.rows = m.rows;
    r.load_seconds = m.load_seconds;
    r.transform_seconds = m.transform_seconds;
    r.verify_seconds = m.verify_seconds;
    r.seconds = m.seconds;
    r.error = m.error;
    return r;
}

std::uint64_t Run::load_table(pqxx::dbtransaction& tx, ModuleReport& report, const std::string& enmap,
                              const std::string& table) {
    const std::string& module = report.name;
    auto start = Clock::now();
    std::string name = tx.quote_name(table);
    tx.exec("CREATE TABLE " + name + " (key text NOT NULL, value jsonb NOT NULL)");
    std::uint64_t total = m_rows[enmap];
    std::uint64_t rows = 0;
    std::uint64_t loaded = 0;
    {
        // Binary tuples in large writes; FREEZE, since the table was created in this savepoint:
        // the rows are written frozen and the pages all-visible, so reading them back (validation,
        // transforms) sets no hint bits. Nobody else can see the table before COMMIT anyway.
        CopyIn copy(tx, table, "key, value", true);
        m_source.for_each_tuple_chunk(enmap, [&](std::string_view tuples, std::uint64_t n) {
            copy.write(tuples);
            rows += n;
            if (rows < total) {
                m_events.progress(module, table, rows, total, since(start));
            }
        });
        loaded = copy.finish();
    }
    m_events.progress(module, table, rows, total, since(start));
    if (rows != total || loaded != total) {
        throw enmap::InputError("the source gave " + std::to_string(rows) + " rows for the enmap '" + enmap +
                                "' (PostgreSQL took " + std::to_string(loaded) +
                                ") while preflight counted " + std::to_string(total) + "; did it change?");
    }
    auto key_start = Clock::now();
    try {
        tx.exec("ALTER TABLE " + name + " ADD PRIMARY KEY (key)");
    } catch (const pqxx::unique_violation& e) {
        // A snapshot source names the stored keys in preflight; this is the last line of defence.
        throw enmap::InputError(
            "the enmap '" + enmap + "' of the source " + m_source.description() +
                " gives one key twice once decoded (--invalid-text=replace can make two "
                "stored keys one): " +
                e.what(),
            "rename or delete one of the two keys in the bot's data, take a new snapshot, "
            "and replay again");
    }
    report.copy_seconds += std::chrono::duration<double>(key_start - start).count();
    report.key_seconds += since(key_start);
    spdlog::debug("{}: COPY {:.2f} s, primary key {:.2f} s", table,
                  std::chrono::duration<double>(key_start - start).count(), since(key_start));
    return rows;
}

// A failed transform statement, run again on halves of each of the module's raw_ tables (the other
// rows deleted inside a savepoint that is rolled back), narrows the failure down to single keys:
// up to 10 of them, each with its value, for the error message. Empty when it cannot.
std::string Run::offending_keys(pqxx::dbtransaction& tx, const ModuleReport& report, const std::string& sql) {
    constexpr std::size_t k_max = 10;
    std::string out;
    try {
        for (const auto& [enmap, table] : report.tables) {
            if (sql.find(table) == std::string::npos) {
                continue;
            }
            std::string name = tx.quote_name(table);
            std::vector<std::string> keys;
            for (const auto& row : tx.exec("SELECT key FROM " + name + " ORDER BY key COLLATE \"C\"")) {
                keys.emplace_back(row[0].c_str());
            }
            std::vector<std::string> found;
            // Does the statement fail on keys[lo, hi) alone?
            auto fails = [&](std::size_t lo, std::size_t hi) {
                pqxx::subtransaction sp(tx, "enmap_migrate_bisect");
                sp.exec("DELETE FROM " + name + " WHERE NOT (key COLLATE \"C\" >= " + sp.quote(keys[lo]) +
                        " AND key COLLATE \"C\" <= " + sp.quote(keys[hi - 1]) + ")");
                bool failed = false;
                try {
                    pqxx::subtransaction inner(sp, "enmap_migrate_bisect_run");
                    inner.exec(sql);
                } catch (const pqxx::broken_connection&) {
                    throw;
                } catch (const pqxx::sql_error&) {
                    failed = true;
                }
                sp.abort();
                return failed;
            };
            std::function<void(std::size_t, std::size_t)> search = [&](std::size_t lo, std::size_t hi) {
                if (found.size() >= k_max || lo >= hi || !fails(lo, hi)) {
                    return;
                }
                if (hi - lo == 1) {
                    found.push_back(keys[lo]);
                    return;
                }
                std::size_t mid = lo + (hi - lo) / 2;
                search(lo, mid);
                search(mid, hi);
            };
            if (!keys.empty()) {
                search(0, keys.size());
            }
            if (found.empty()) {
                continue;
            }
            out += "\n  the statement fails on these rows of ";
            out += table;
            out += " (enmap '";
            out += enmap;
            out += "'), the first ";
            out += std::to_string(found.size());
            out += " found by running it on halves of the table:";
            for (const auto& key : found) {
                std::string value =
                    tx.exec1("SELECT value::text FROM " + name + " WHERE key = " + tx.quote(key))[0].c_str();
                if (value.size() > 200) {
                    value = value.substr(0, 200) + "...";
                }
                out += "\n    ";
                out += enmap;
                out += "/";
                out += key;
                out += ": ";
                out += value;
            }
        }
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const std::exception& e) {
        spdlog::debug("could not narrow the failed statement down to keys: {}", e.what());
    }
    return out;
}

void Run::run_sql_files(pqxx::dbtransaction& tx, const std::vector<fs::path>& files, const Module& module,
                        const ModuleReport& report, const char* what) {
    for (const auto& file : files) {
        for (const auto& statement : split_sql(slurp(file))) {
            std::string where = file.string() + ":" + std::to_string(statement.line);
            try {
                m_writes->run_statement(tx, [&](pqxx::dbtransaction& t) {
                    t.exec(statement.sql, std::string(what) + " " + where);
                });
                m_guard.check(tx, where, module.name);
            } catch (const pqxx::broken_connection&) {
                throw;
            } catch (const pqxx::sql_error& e) {
                throw enmap::DatabaseError(std::string(what) + " at " + where + " failed: " + e.what() +
                                           offending_keys(tx, report, statement.sql));
            }
        }
    }
}

// A catch-up module: the diff applied to its raw_ tables (COPY into a temporary table, upsert where
// the value differs, delete the removed keys), each change noted in changed_<table>(key, op); then
// its incremental SQL, or its transform in full after the tables it wrote to are emptied.
void Run::apply_catchup(pqxx::dbtransaction& tx, const Module& module, ModuleReport& report) {
    auto start = Clock::now();
    std::vector<std::string> changed_tables;
    for (const auto& enmap : module.enmaps) {
        const std::string& table = m_report.table_names.at(enmap);
        const std::string raw = tx.quote_name(table);
        const std::string changed = tx.quote_name("changed_" + table.substr(4));
        tx.exec("CREATE TEMP TABLE " + changed + " (key text PRIMARY KEY, op text NOT NULL)");
        changed_tables.push_back(changed);
        const EnmapDelta& delta = m_diff->delta(enmap);
        if (delta.empty()) {
            continue;
        }
        auto copy_into = [&](const char* name, bool upserts) {
            tx.exec(std::string("CREATE TEMP TABLE ") + name + " (key text NOT NULL, value jsonb NOT NULL)");
            CopyIn copy(tx, name, "key, value", false);
            auto write = [&](std::string_view tuples, std::uint64_t) { copy.write(tuples); };
            if (upserts) {
                m_diff->read_upserts(enmap, write);
            } else {
                m_diff->read_removals(enmap, write);
            }
            copy.finish();
        };
        copy_into("enmap_migrate_upserts", true);
        copy_into("enmap_migrate_removals", false);
        const std::string where = "catch-up of " + table;
        std::uint64_t rows = 0;  // the statement may run twice (WriteTracker::run_statement)
        std::string upsert = "WITH up AS (INSERT INTO ";
        upsert += raw;
        upsert +=
            " AS r (key, value) SELECT key, value FROM enmap_migrate_upserts ON CONFLICT (key) DO UPDATE "
            "SET value = EXCLUDED.value WHERE r.value IS DISTINCT FROM EXCLUDED.value RETURNING r.key) "
            "INSERT INTO ";
        upsert += changed;
        upsert += " SELECT key, 'upsert' FROM up";
        m_writes->run_statement(tx, [&](pqxx::dbtransaction& t) {
            auto r = t.exec(upsert, where);
            rows = r.affected_rows();
        });
        report.upserted += rows;
        m_guard.check(tx, where, module.name);
        std::string remove = "WITH gone AS (DELETE FROM ";
        remove += raw;
        remove += " r USING enmap_migrate_removals x WHERE r.key = x.key RETURNING r.key) INSERT INTO ";
        remove += changed;
        remove += " SELECT key, 'delete' FROM gone";
        m_writes->run_statement(tx, [&](pqxx::dbtransaction& t) {
            auto r = t.exec(remove, where);
            rows = r.affected_rows();
        });
        report.deleted += rows;
        m_guard.check(tx, where, module.name);
        tx.exec("DROP TABLE enmap_migrate_upserts, enmap_migrate_removals");
    }
    report.apply_seconds = since(start);
    if (report.upserted + report.deleted == 0) {
        report.catchup = "unchanged";
    } else if (!module.incremental.empty()) {
        report.catchup = "incremental";
        run_sql_files(tx, module.incremental, module, report, "incremental");
    } else {
        report.catchup = "full";
        auto it = m_outputs.find(module.name);
        if (it != m_outputs.end()) {
            for (const auto& identity : it->second) {
                m_writes->run_statement(tx, [&](pqxx::dbtransaction& t) {
                    t.exec("DELETE FROM " + identity, "catch-up: empty " + identity + " for the transform");
                });
            }
        }
        run_sql_files(tx, module.transform, module, report, "transform");
    }
    for (const auto& changed : changed_tables) {
        tx.exec("DROP TABLE " + changed);
    }
}

void Run::run_verify(pqxx::dbtransaction& tx, const fs::path& file) {
    for (const auto& statement : split_sql(slurp(file))) {
        std::string where = file.string() + ":" + std::to_string(statement.line);
        pqxx::result result;
        try {
            m_writes->run_statement(
                tx, [&](pqxx::dbtransaction& t) { result = t.exec(statement.sql, "verify " + where); });
            m_guard.check(tx, where, m_current_step);
        } catch (const pqxx::broken_connection&) {
            throw;
        } catch (const pqxx::sql_error& e) {
            throw enmap::DatabaseError("verify query at " + where + " failed: " + e.what());
        }
        if (result.empty()) {
            continue;
        }
        std::string rows;
        for (std::size_t i = 0; i < result.size() && i < 10; ++i) {
            nlohmann::json row = nlohmann::json::object();
            for (const auto& field : result[static_cast<pqxx::result::size_type>(i)]) {
                row[field.name()] = field.is_null() ? nlohmann::json() : nlohmann::json(field.c_str());
            }
            rows += "\n    " + row.dump();
        }
        std::string message = "verify query at " + where + " returned " + std::to_string(result.size()) +
                              " offending row(s); the first " +
                              std::to_string(std::min<std::size_t>(10, result.size())) + ":";
        message += rows;
        throw enmap::ValidationError(message);
    }
}

void Run::run_drizzle(pqxx::work& tx) {
    m_events.phase("drizzle");
    ModuleReport report;
    report.name = k_drizzle_step;
    auto start = Clock::now();
    std::vector<CatalogObject> objects;
    {
        pqxx::subtransaction sub(tx, "enmap_migrate_drizzle");
        try {
            auto before = catalog_objects(sub);
            m_current_step = k_drizzle_step;
            m_writes->begin_module(k_drizzle_step);
            m_writes->run_statement(sub, [&](pqxx::dbtransaction& t) {
                m_report.drizzle_rows =
                    apply_drizzle(t, m_drizzle, *m_plan.drizzle / "meta" / "_journal.json");
            });
            m_guard.check(sub, m_plan.drizzle->string(), k_drizzle_step);
            objects = catalog_diff(before, catalog_objects(sub));
            sub.commit();
            m_writes->commit_module();
        } catch (const pqxx::broken_connection&) {
            throw;
        } catch (const pqxx::sql_error& e) {
            m_writes->abort_module();
            throw enmap::DatabaseError(
                "the Drizzle migrations in " + m_plan.drizzle->string() + " failed: " + e.what(),
                "fix the migration; the whole replay rolled back and nothing was committed");
        }
    }
    report.status = ok_status();
    report.seconds = since(start);
    report.transform_seconds = report.seconds;
    report.objects_created = objects.size();
    ModuleRecord record = to_record(report, 0);
    record.objects = objects;
    record.object_rows.assign(objects.size(), -1);
    m_records.push_back(record);
    m_report.modules.push_back(report);
    m_events.module_finished(report.to_json());
}

void Run::run_autonum(pqxx::work& tx) {
    ModuleReport report;
    report.name = k_autonum_step;
    auto start = Clock::now();
    std::string name(k_autonum_table);
    std::vector<CatalogObject> objects;
    {
        pqxx::subtransaction sub(tx, "enmap_migrate_autonum");
        auto before = catalog_objects(sub);
        sub.exec("CREATE TABLE " + name + " (enmap text NOT NULL, lastnum bigint NOT NULL)");
        {
            pqxx::stream_to stream(sub, name, std::vector<std::string>{"enmap", "lastnum"});
            for (const auto& a : m_autonum) {
                stream << std::make_tuple(a.enmap, a.lastnum);
            }
            stream.complete();
        }
        sub.exec("ALTER TABLE " + name + " ADD PRIMARY KEY (enmap)");
        objects = catalog_diff(before, catalog_objects(sub));
        sub.commit();
    }
    report.status = ok_status();
    report.rows = m_autonum.size();
    report.seconds = since(start);
    report.load_seconds = report.seconds;
    report.apply_seconds = report.seconds;
    report.tables.emplace_back("internal::autonum", name);
    report.objects_created = objects.size();
    ModuleRecord record = to_record(report, 1);
    record.tables.push_back({"internal::autonum", name, report.rows, ""});
    record.objects = objects;
    for (const auto& o : objects) {
        record.object_rows.push_back(o.kind == "table" ? static_cast<std::int64_t>(report.rows) : -1);
    }
    m_records.push_back(record);
    m_report.modules.push_back(report);
    m_events.module_finished(report.to_json());
}

// A catch-up's counters: raw_internal_autonum made equal to NEW's, writing only what differs.
void Run::run_autonum_catchup(pqxx::work& tx) {
    ModuleReport report;
    report.name = k_autonum_step;
    auto start = Clock::now();
    const std::string name(k_autonum_table);
    std::string values;
    for (const auto& a : m_autonum) {
        values += (values.empty() ? "(" : ", (") + tx.quote(a.enmap) + ", " + std::to_string(a.lastnum) +
                  "::bigint)";
    }
    {
        pqxx::subtransaction sub(tx, "enmap_migrate_autonum");
        m_current_step = k_autonum_step;
        m_writes->begin_module(k_autonum_step);
        m_writes->run_statement(sub, [&](pqxx::dbtransaction& t) {
            t.exec("DELETE FROM " + name +
                   (values.empty()
                        ? std::string()
                        : " WHERE enmap NOT IN (SELECT v.enmap FROM (VALUES " + values + ") v(enmap, n))"));
        });
        if (!values.empty()) {
            m_writes->run_statement(sub, [&](pqxx::dbtransaction& t) {
                t.exec("INSERT INTO " + name + " AS a (enmap, lastnum) VALUES " + values +
                       " ON CONFLICT (enmap) DO UPDATE SET lastnum = EXCLUDED.lastnum "
                       "WHERE a.lastnum IS DISTINCT FROM EXCLUDED.lastnum");
            });
        }
        m_guard.check(sub, "the autonum counters", k_autonum_step);
        sub.commit();
        m_writes->commit_module();
    }
    report.status = ok_status();
    report.rows = m_autonum.size();
    report.seconds = since(start);
    report.load_seconds = report.seconds;
    report.apply_seconds = report.seconds;
    report.tables.emplace_back("internal::autonum", name);
    report.catchup = "counters";
    ModuleRecord record = to_record(report, 0);
    record.tables.push_back({"internal::autonum", name, report.rows, ""});
    m_records.push_back(record);
    m_report.modules.push_back(report);
    m_events.module_finished(report.to_json());
}

void Run::run_module(pqxx::work& tx, const Module& module, int index, int count) {
    ModuleReport report;
    report.name = module.name;
    m_current_step = module.name;
    std::uint64_t expected = 0;
    for (const auto& e : module.enmaps) {
        expected += m_rows[e];
    }
    m_events.module_started(module.name, index, count, expected);
    auto start = Clock::now();
    ModuleRecord record;
    std::optional<ModuleFailure> failure;
    auto lost = [&](const std::exception& e) {
        return enmap::DatabaseError("the connection to PostgreSQL was lost in module '" + module.name +
                                        "': " + redact_message(e.what(), m_options.database_url),
                                    "nothing was committed: the whole transaction rolled back; replay again");
    };
    {
        // A subtransaction is a SAVEPOINT: libpqxx rolls back to it when a statement in it fails.
        pqxx::subtransaction sub(tx, "enmap_migrate_module");
        m_writes->begin_module(module.name);
        try {
            auto before = catalog_objects(sub);
            auto phase = Clock::now();
            for (const auto& enmap : module.enmaps) {
                const std::string& table = m_report.table_names.at(enmap);
                std::uint64_t rows = catchup() ? m_rows[enmap] : load_table(sub, report, enmap, table);
                report.rows += rows;
                report.tables.emplace_back(enmap, table);
                record.tables.push_back({enmap, table, rows, m_digests[enmap]});
            }
            report.load_seconds = since(phase);
            phase = Clock::now();
            if (catchup()) {
                apply_catchup(sub, module, report);
            } else {
                run_sql_files(sub, module.transform, module, report, "transform");
            }
            report.transform_seconds = since(phase);
            phase = Clock::now();
            for (const auto& file : module.verify) {
                run_verify(sub, file);
            }
            report.verify_seconds = since(phase);
            record.objects = catalog_diff(before, catalog_objects(sub));
            // Without transform or verify files nothing touched the raw_ tables after COPY: their
            // row counts are COPY's.
            std::map<std::string, std::uint64_t> loaded;
            if (module.transform.empty() && module.verify.empty()) {
                for (const auto& t : record.tables) {
                    loaded[t.table] = t.rows;
                }
            }
            for (const auto& o : record.objects) {
                std::int64_t rows = -1;
                auto it = loaded.find(o.name);
                if (o.kind == "table" && it != loaded.end() && o.identity == o.name) {
                    rows = static_cast<std::int64_t>(it->second);
                } else if (o.kind == "table") {
                    rows = sub.exec1("SELECT count(*) FROM " + o.identity)[0].as<std::int64_t>();
                }
                record.object_rows.push_back(rows);
            }
            sub.commit();
            m_writes->commit_module();
            report.status = ok_status();
        } catch (const pqxx::broken_connection& e) {
            throw lost(e);
        } catch (const TransactionEscaped&) {
            throw;
        } catch (const std::exception& e) {
            failure = ModuleFailure{e.what(), enmap::ExitCode::k_database};
            if (const auto* err = dynamic_cast<const enmap::Error*>(&e)) {
                failure->code = err->exit_code();
            }
            m_writes->abort_module();
            try {
                sub.abort();
            } catch (const std::exception& again) {
                throw lost(again);
            }
        }
    }
    if (failure) {
        // The subtransaction was rolled back; make sure the connection survived it.
        try {
            tx.exec("SELECT 1");
        } catch (const std::exception& e) {
            throw lost(e);
        }
        report.status = "failed";
        report.error = redact_message(failure->message, m_options.database_url);
        report.failure = failure->code;
        report.seconds = since(start);
        m_records.push_back(to_record(report, index + 1));
        m_report.modules.push_back(report);
        m_events.module_failed(report.to_json());
        if (!m_options.keep_going) {
            std::string message = "module '" + module.name + "' failed: " + report.error;
            std::string hint =
                "the whole replay rolled back; nothing was committed. Fix the module, or use "
                "--keep-going to commit the other modules";
            switch (failure->code) {
                case enmap::ExitCode::k_validation:
                    throw enmap::ValidationError(message, hint);
                case enmap::ExitCode::k_input:
                    throw enmap::InputError(message, hint);
                default:
                    throw enmap::DatabaseError(message, hint);
            }
        }
        return;
    }
    report.seconds = since(start);
    report.objects_created = record.objects.size();
    ModuleRecord full = to_record(report, index + 1);
    full.tables = record.tables;
    full.objects = record.objects;
    full.object_rows = record.object_rows;
    m_records.push_back(full);
    m_report.modules.push_back(report);
    m_events.module_finished(report.to_json());
}

void Run::record_failed_run(const std::string& error) {
    try {
        auto conn = connect(m_options.database_url);
        pqxx::work tx(*conn);
        tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(k_advisory_lock_key) + ")");
        ensure_ledger(tx);
        RunRecord run{m_report.source_id, m_source.description(),
                      m_plan.digest,      m_plan.dir ? m_plan.dir->string() : "",
                      "replay",           redact_url(m_options.database_url),
                      m_fingerprint,      options_json(m_options),
                      run_kind()};
        run.base_run = m_base_run;
        auto id = begin_run(tx, run);
        int position = 0;
        for (auto record : m_records) {
            // The transaction rolled back: nothing the modules made is left.
            record.status = succeeded(record.status) ? "rolled_back" : record.status;
            record.position = position++;
            record.tables.clear();
            record.objects.clear();
            record.object_rows.clear();
            record_module(tx, id, record);
        }
        finish_run(tx, id, "failed", 0, 0, static_cast<int>(m_records.size()), error,
                   lossy_json(m_report.lossy));
        tx.commit();
        m_report.run_id = id;
    } catch (const std::exception& e) {
        spdlog::warn("could not record the failed run in the ledger: {}",
                     redact_message(e.what(), m_options.database_url));
    }
}

ReplayReport Run::execute() {
    auto start = Clock::now();
    preflight();
    m_report.preflight_seconds = since(start);
    auto phase_start = Clock::now();
    auto conn = connect(m_options.database_url);
    std::string lock = "SELECT pg_advisory_xact_lock(" + std::to_string(k_advisory_lock_key) + ")";
    if (!m_options.dry_run) {
        pqxx::work setup(*conn);
        setup.exec(lock);
        ensure_ledger(setup);
        setup.commit();
    }
    bool started = false;
    try {
        pqxx::work tx(*conn);
        // A server-side statement_timeout or idle_in_transaction_session_timeout (Neon's, a role's)
        // must not cut a long COPY or the idle moments while the client validates.
        tx.exec("SET LOCAL statement_timeout = 0");
        tx.exec("SET LOCAL idle_in_transaction_session_timeout = 0");
        tx.exec(lock);
        check_target(tx);
        m_fingerprint = catalog_fingerprint(tx);
        started = true;
        if (m_options.dry_run) {
            ensure_ledger(tx);
        }
        RunRecord run{m_report.source_id,
                      m_source.description(),
                      m_plan.digest,
                      m_plan.dir ? m_plan.dir->string() : "",
                      m_options.dry_run ? "dry-run" : "replay",
                      redact_url(m_options.database_url),
                      m_fingerprint,
                      options_json(m_options),
                      run_kind()};
        for (const auto& a : m_report.autonum) {
            run.options["autonum"][a["enmap"].get<std::string>()] = a["lastnum"];
        }
        if (catchup()) {
            run.base_run = m_base_run;
            run.options["since"] = m_options.since->id();
            m_report.base_run = m_base_run;
        }
        m_run_id = begin_run(tx, run);
        m_writes.emplace(tx, m_run_id);
        m_guard.start(tx);
        // A catch-up's plan is its base run's (check_base): its Drizzle migrations are applied.
        if (!m_drizzle.empty() && !catchup()) {
            run_drizzle(tx);
        }
        m_report.setup_seconds = since(phase_start);
        if (catchup()) {
            run_autonum_catchup(tx);
        } else {
            run_autonum(tx);
        }
        std::vector<const Module*> selected;
        for (const auto& m : m_plan.modules) {
            bool chosen = m_options.only.empty() || std::find(m_options.only.begin(), m_options.only.end(),
                                                              m.name) != m_options.only.end();
            if (chosen) {
                selected.push_back(&m);
            } else {
                ModuleReport skipped;
                skipped.name = m.name;
                skipped.status = "skipped";
                m_records.push_back(to_record(skipped, static_cast<int>(m_records.size())));
                m_report.modules.push_back(skipped);
            }
        }
        int index = 0;
        for (const Module* m : selected) {
            run_module(tx, *m, ++index, static_cast<int>(selected.size()));
        }
        m_events.phase("validate");
        std::vector<TableToValidate> tables;
        for (const auto& m : m_report.modules) {
            if (succeeded(m.status) && m.name != k_autonum_step) {
                for (const auto& [enmap, table] : m.tables) {
                    tables.push_back({enmap, table});
                }
            }
        }
        m_report.validation = validate_tables(tx, m_source, tables, true, &m_autonum);
        if (!m_report.validation.ok) {
            throw enmap::ValidationError("validation found differences between the source and PostgreSQL:" +
                                             m_report.validation.describe(),
                                         "the whole replay rolled back; nothing was committed. Report this: "
                                         "it means a row changed on its way in");
        }
        phase_start = Clock::now();
        int committed = 0;
        int failed = 0;
        for (const auto& m : m_report.modules) {
            committed += succeeded(m.status) ? 1 : 0;
            failed += m.status == "failed" ? 1 : 0;
            m_report.rows += succeeded(m.status) && m.name != k_autonum_step ? m.rows : 0;
            m_report.load_seconds += m.load_seconds;
        }
        for (std::size_t i = 0; i < m_records.size(); ++i) {
            m_records[i].position = static_cast<int>(i);
            record_module(tx, m_run_id, m_records[i]);
        }
        record_drizzle_rows(tx, m_run_id, m_report.drizzle_rows);
        if (!m_options.dry_run) {
            auto states_start = Clock::now();
            // Validation has just read every raw_ table back with table_state's checksum; other
            // tables (a transform's) are read here.
            std::map<std::uint32_t, const ServerChecksum*> validated;
            for (const auto& c : m_report.validation.checksums) {
                validated[c.oid] = &c;
            }
            std::vector<TableState> states;
            for (const auto& record : m_records) {
                for (const auto& o : record.objects) {
                    if (o.kind != "table") {
                        continue;
                    }
                    auto it = validated.find(o.oid);
                    if (it != validated.end()) {
                        states.push_back({o.identity, static_cast<std::int64_t>(it->second->rows),
                                          std::to_string(it->second->sum)});
                    } else {
                        states.push_back(table_state(tx, o.identity));
                    }
                }
            }
            record_table_states(tx, m_run_id, states);
            record_written_tables(tx, m_run_id, m_writes->finish(tx));
            spdlog::debug("table states of {} tables: {:.2f} s", states.size(), since(states_start));
        }
        m_report.status = m_options.dry_run ? "dry-run" : (failed > 0 ? "partial" : "committed");
        finish_run(tx, m_run_id, m_report.status, m_report.rows, committed, failed, "",
                   lossy_json(m_report.lossy));
        m_events.phase(m_options.dry_run ? "rollback" : "commit");
        if (m_options.dry_run) {
            tx.abort();
            m_report.run_id = 0;
        } else {
            tx.commit();
            m_report.run_id = m_run_id;
        }
        m_report.finish_seconds = since(phase_start);
    } catch (const pqxx::broken_connection& e) {
        std::string message =
            "the connection to PostgreSQL was lost: " + redact_message(e.what(), m_options.database_url);
        if (started && !m_options.dry_run) {
            record_failed_run(message);
        }
        throw enmap::DatabaseError(message,
                                   "nothing was committed: the whole transaction rolled back; replay again");
    } catch (const enmap::RefusedError&) {
        throw;
    } catch (const TransactionEscaped& e) {
        std::string what;
        try {
            what = m_guard.record_escape(m_options.database_url, m_run_id, m_records, e.step(), e.what());
        } catch (const std::exception& again) {
            what = "what it committed could not be recorded in the ledger: " +
                   redact_message(again.what(), m_options.database_url);
        }
        throw enmap::DatabaseError(
            std::string(e.what()) + " (transaction control in plan SQL); " + what,
            "remove BEGIN/COMMIT/ROLLBACK and the like from " + e.where() +
                ", undo what was committed with `enmap-migrate rollback postgres --run " +
                std::to_string(m_run_id) + "`, then replay again");
    } catch (const enmap::Error& e) {
        if (started && !m_options.dry_run) {
            record_failed_run(e.what());
        }
        throw;
    } catch (const pqxx::sql_error& e) {
        std::string message = redact_message(e.what(), m_options.database_url);
        if (started && !m_options.dry_run) {
            record_failed_run(message);
        }
        throw enmap::DatabaseError("PostgreSQL refused a statement: " + message,
                                   "nothing was committed: the whole transaction rolled back");
    }
    m_report.seconds = since(start);
    m_events.run_finished(m_report.to_json());
    return m_report;
}

}  // namespace

std::map<std::string, std::int64_t> parse_autonum(const std::vector<std::string>& values) {
    std::map<std::string, std::int64_t> out;
    for (const auto& v : values) {
        auto eq = v.rfind('=');
        std::size_t used = 0;
        std::int64_t n = -1;
        if (eq != std::string::npos && eq > 0 && eq + 1 < v.size()) {
            try {
                n = std::stoll(v.substr(eq + 1), &used);
            } catch (const std::exception&) {
                n = -1;
            }
        }
        if (n < 0 || used != v.size() - eq - 1) {
            throw enmap::UsageError("--autonum " + v + ": expected ENMAP=N with N a whole number >= 0",
                                    "for example --autonum tickets=1287 (the last number handed out)");
        }
        out[v.substr(0, eq)] = n;
    }
    return out;
}

nlohmann::json lossy_json(const enmap::LossyCounts& c) {
    return enmap::lossy_to_json(c);
}

nlohmann::json ModuleReport::to_json() const {
    nlohmann::json t = nlohmann::json::object();
    for (const auto& [enmap, table] : tables) {
        t[enmap] = table;
    }
    double rate = load_seconds > 0 ? static_cast<double>(rows) / load_seconds : 0.0;
    nlohmann::json j = {{"module", name},
                        {"status", status},
                        {"rows", rows},
                        {"seconds", seconds},
                        {"load_seconds", load_seconds},
                        {"copy_seconds", copy_seconds},
                        {"key_seconds", key_seconds},
                        {"transform_seconds", transform_seconds},
                        {"verify_seconds", verify_seconds},
                        {"rows_per_second", static_cast<std::uint64_t>(rate)},
                        {"tables", t},
                        {"objects_created", objects_created}};
    if (!catchup.empty()) {
        j["catchup"] = {
            {"how", catchup}, {"upserted", upserted}, {"deleted", deleted}, {"apply_seconds", apply_seconds}};
    }
    if (!error.empty()) {
        j["error"] = error;
    }
    return j;
}

nlohmann::json ReplayReport::to_json() const {
    nlohmann::json modules_json = nlohmann::json::array();
    for (const auto& m : modules) {
        modules_json.push_back(m.to_json());
    }
    nlohmann::json names = nlohmann::json::object();
    for (const auto& [enmap, table] : table_names) {
        names[enmap] = table;
    }
    nlohmann::json drizzle = nlohmann::json::array();
    for (const auto& r : drizzle_rows) {
        drizzle.push_back({{"id", r.id}, {"hash", r.hash}, {"created_at", r.created_at}});
    }
    double rate = load_seconds > 0 ? static_cast<double>(rows) / load_seconds : 0.0;
    nlohmann::json j = {{"run_id", run_id},
                        {"status", status},
                        {"source_id", source_id},
                        {"plan_digest", plan_digest},
                        {"tables", names},
                        {"modules", modules_json},
                        {"drizzle_rows", drizzle},
                        {"rows", rows},
                        {"seconds", seconds},
                        {"preflight_seconds", preflight_seconds},
                        {"setup_seconds", setup_seconds},
                        {"finish_seconds", finish_seconds},
                        {"load_seconds", load_seconds},
                        {"rows_per_second", static_cast<std::uint64_t>(rate)},
                        {"validation", validation.to_json()},
                        {"autonum", autonum},
                        {"lossy", lossy_json(lossy)}};
    if (base_run > 0 || !catchup.is_null()) {
        j["base_run"] = base_run;
        j["catchup"] = catchup;
    }
    return j;
}

int ReplayReport::exit_status() const {
    for (const auto& m : modules) {
        if (m.status == "failed") {
            return static_cast<int>(m.failure);
        }
    }
    return 0;
}

ReplayReport run_replay(Source& source, const ReplayOptions& options, Events& events) {
    Run run(source, options, events);
    return run.execute();
}

ValidationReport run_validate(Source& source, const std::string& database_url,
                              const enmap::DecodeOptions& decode) {
    source.prepare(decode);
    throw_if_violations(source.violations());
    auto conn = connect(database_url);
    try {
        pqxx::work tx(*conn);
        auto runs = active_runs(tx);
        if (runs.empty()) {
            throw enmap::RefusedError(
                "the database " + redact_url(database_url) + " holds no committed run to validate",
                "run `enmap-migrate replay` first");
        }
        std::string run_id = std::to_string(runs.front()["id"].get<std::int64_t>());
        std::map<std::string, std::string> loaded;
        for (const auto& row : tx.exec("SELECT enmap, table_name FROM enmap_migrate.tables WHERE run_id = " +
                                       run_id + " AND enmap <> 'internal::autonum'")) {
            loaded[row[0].c_str()] = row[1].c_str();
        }
        // Counters the run took from --autonum or the keys, not from the source (its options).
        std::vector<AutonumRow> counters = source.autonum();
        auto given = nlohmann::json::parse(
            tx.exec1("SELECT coalesce(options->'autonum', '{}')::text FROM enmap_migrate.runs WHERE id = " +
                     run_id)[0]
                .c_str());
        for (const auto& [enmap, n] : given.items()) {
            const std::string& name = enmap;  // a lambda may not capture a structured binding (clang 14)
            auto it = std::find_if(counters.begin(), counters.end(),
                                   [&](const AutonumRow& a) { return a.enmap == name; });
            if (it != counters.end()) {
                it->lastnum = n.get<std::int64_t>();
            } else {
                counters.push_back({enmap, n.get<std::int64_t>()});
            }
        }
        std::vector<TableToValidate> tables;
        ValidationReport missing_tables;
        for (const auto& t : source.tables()) {
            auto it = loaded.find(t.enmap_name);
            if (it == loaded.end()) {
                missing_tables.count_mismatches.push_back("the enmap '" + t.enmap_name + "' (" +
                                                          std::to_string(t.rows) +
                                                          " rows) was not loaded by run " + run_id);
            } else {
                tables.push_back({t.enmap_name, it->second});
            }
        }
        ValidationReport report = validate_tables(tx, source, tables, true, &counters);
        for (const auto& m : missing_tables.count_mismatches) {
            report.count_mismatches.push_back(m);
        }
        report.ok = report.ok && missing_tables.count_mismatches.empty();
        tx.abort();
        return report;
    } catch (const pqxx::broken_connection& e) {
        throw enmap::DatabaseError("the connection to PostgreSQL was lost during validation: " +
                                   redact_message(e.what(), database_url));
    } catch (const pqxx::sql_error& e) {
        throw enmap::DatabaseError("PostgreSQL refused a validation query: " +
                                   redact_message(e.what(), database_url));
    }
}

}  // namespace replay
