#include "replay/doctor.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <pqxx/largeobject>
#include <pqxx/pqxx>
#include <random>

#include "enmap/error.hpp"
#include "replay/copy.hpp"
#include "replay/session.hpp"
#include "replay/url.hpp"

namespace replay {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// pqxx 6.4 keeps the libpq connection to itself; largeobject hands it to its subclasses.
struct RawConnection : pqxx::largeobject {
    static PGconn* of(const pqxx::dbtransaction& tx) { return raw_connection(tx); }
};

std::string fixed(double v, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string duration_text(double seconds) {
    if (seconds < 60) {
        return fixed(seconds, seconds < 10 ? 1 : 0) + " s";
    }
    auto s = static_cast<long long>(std::llround(seconds));
    if (s < 3600) {
        return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
    }
    return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
}

std::string mb(double bytes) {
    return fixed(bytes / 1e6, bytes < 1e7 ? 1 : 0) + " MB";
}

class Doctor {
public:
    explicit Doctor(const DoctorOptions& options) : m_options(options) {
        m_report.database = redact_url(options.database_url);
    }
    DoctorReport run();

private:
    DoctorCheck& add(std::string name, std::string status, std::string detail, std::string hint = {}) {
        m_report.checks.push_back(
            {std::move(name), std::move(status), std::move(detail), std::move(hint), {}});
        return m_report.checks.back();
    }
    void server(pqxx::work& tx);
    void tls(pqxx::work& tx);
    void endpoint(pqxx::work& tx);
    void privileges(pqxx::work& tx);
    void encoding(pqxx::work& tx);
    void timeouts(pqxx::work& tx);
    void round_trip(pqxx::connection& conn);
    void copy(pqxx::connection& conn);
    void estimate();

    const DoctorOptions& m_options;
    DoctorReport m_report;
    double m_rtt = 0;
    // The COPY sample: rows, bytes, and the seconds of its COPY, primary key and checksum.
    std::uint64_t m_sample_rows = 0;
    std::uint64_t m_sample_bytes = 0;
    double m_copy_s = 0;
    double m_key_s = 0;
    double m_sum_s = 0;
};

void Doctor::server(pqxx::work& tx) {
    int num = tx.exec1("SHOW server_version_num")[0].as<int>();
    std::string version = tx.exec1("SHOW server_version")[0].c_str();
    auto& c = num < 110000   ? add("server", "fail", "PostgreSQL " + version,
                                   "replay needs PostgreSQL 11 or later (validation uses hashtextextended)")
              : num < 130000 ? add("server", "warn", "PostgreSQL " + version,
                                   "replay is tested on PostgreSQL 13 to 17; upgrade if you can")
                             : add("server", "ok", "PostgreSQL " + version);
    c.data = {{"version", version}, {"version_num", num}};
}

void Doctor::tls(pqxx::work& tx) {
    PGconn* pq = RawConnection::of(tx);
    bool in_use = PQsslInUse(pq) == 1;
    auto row = tx.exec("SELECT ssl, version, cipher, bits FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
    std::string version;
    std::string cipher;
    if (!row.empty() && row[0][0].as<bool>()) {
        version = row[0][1].c_str();
        cipher = row[0][2].c_str();
    }
    std::string sslmode;
    std::string binding;
    if (PQconninfoOption* opts = PQconninfo(pq)) {
        for (auto* o = opts; o->keyword != nullptr; ++o) {
            if (o->val == nullptr) {
                continue;
            }
            if (std::string_view(o->keyword) == "sslmode") {
                sslmode = o->val;
            } else if (std::string_view(o->keyword) == "channel_binding") {
                binding = o->val;
            }
        }
        PQconninfoFree(opts);
    }
    if (in_use) {
        add("tls", "ok", version + " " + cipher + " (sslmode=" + sslmode + ")").data = {
            {"in_use", true}, {"version", version}, {"cipher", cipher}, {"sslmode", sslmode}};
    } else {
        add("tls", "warn",
            "not in use (sslmode=" + sslmode + "): the password and every row cross the link in clear",
            "add sslmode=require to the URL (Neon requires it); only a server on this machine can do without")
            .data = {{"in_use", false}, {"sslmode", sslmode}};
    }
    nlohmann::json data = {{"channel_binding", binding}};
    if (binding == "require") {
        add("channel_binding", "ok",
            "required: the server must prove it holds the certificate's key (SCRAM-SHA-256-PLUS)")
            .data = data;
    } else if (!in_use) {
        add("channel_binding", "warn", "not possible without TLS (channel_binding=" + binding + ")",
            "use sslmode=require&channel_binding=require, as Neon's connection strings do")
            .data = data;
    } else {
        add("channel_binding", "warn",
            "channel_binding=" + binding +
                ": used only when the server offers SCRAM-SHA-256-PLUS, not required",
            "add channel_binding=require (Neon's connection strings carry it), so a man in the middle with "
            "another certificate cannot take the password's proof")
            .data = data;
    }
}

void Doctor::endpoint(pqxx::work& tx) {
    PGconn* pq = RawConnection::of(tx);
    std::string host = PQhost(pq) != nullptr ? PQhost(pq) : "";
    std::string port = PQport(pq) != nullptr ? PQport(pq) : "";
    nlohmann::json data = {{"host", host}, {"port", port}, {"pooler", is_neon_pooler(host)}};
    if (is_neon_pooler(host)) {
        std::string direct = host;
        direct.erase(direct.find("-pooler"), 7);
        add("endpoint", "warn", host + " is a Neon pooler (PgBouncer in transaction mode)",
            "migrate through the direct endpoint, as Neon advises for migrations and long transactions: " +
                direct)
            .data = data;
    } else {
        add("endpoint", "ok", host + (port.empty() ? "" : ":" + port) + " (not a pooler)").data = data;
    }
}

void Doctor::privileges(pqxx::work& tx) {
    auto r = tx.exec1(
        "SELECT current_user, current_database(), has_database_privilege(current_database(), 'CREATE'), "
        "has_schema_privilege('public', 'CREATE') AND has_schema_privilege('public', 'USAGE')");
    std::string user = r[0].c_str();
    std::string database = r[1].c_str();
    bool db_create = r[2].as<bool>();
    bool public_create = r[3].as<bool>();
    add("privilege_database", db_create ? "ok" : "warn",
        user + (db_create ? " may" : " may not") + " create schemas in " + database,
        db_create ? "" : "needed only while the enmap_migrate or drizzle schema does not exist yet (below)")
        .data = {{"user", user}, {"database", database}, {"create", db_create}};
    add("privilege_public", public_create ? "ok" : "fail",
        user + (public_create ? " may" : " may not") + " create tables in schema public (the raw_ tables)",
        public_create ? "" : "GRANT USAGE, CREATE ON SCHEMA public TO " + user + " (as the database's owner)")
        .data = {{"create", public_create}};
    for (const char* schema : {"enmap_migrate", "drizzle"}) {
        bool ledger = std::string_view(schema) == "enmap_migrate";
        std::string what = ledger ? "the ledger" : "drizzle-orm's __drizzle_migrations";
        auto s = tx.exec1("SELECT to_regnamespace(" + tx.quote(schema) +
                          ") IS NOT NULL, has_schema_privilege(" + tx.quote(user) +
                          ", (SELECT oid FROM "
                          "pg_namespace WHERE nspname = " +
                          tx.quote(schema) +
                          "), 'CREATE') AND "
                          "has_schema_privilege(" +
                          tx.quote(user) +
                          ", (SELECT oid FROM pg_namespace WHERE "
                          "nspname = " +
                          tx.quote(schema) + "), 'USAGE')");
        bool exists = s[0].as<bool>();
        std::string name = std::string("privilege_") + schema;
        nlohmann::json data = {{"exists", exists}};
        if (exists) {
            bool ok = !s[1].is_null() && s[1].as<bool>();
            data["create"] = ok;
            add(name, ok ? "ok" : "fail",
                std::string("schema ") + schema + " exists; " + user + (ok ? " may" : " may not") +
                    " create and use objects in it (" + what + ")",
                ok ? "" : std::string("GRANT USAGE, CREATE ON SCHEMA ") + schema + " TO " + user)
                .data = data;
        } else if (db_create) {
            add(name, "ok",
                std::string("schema ") + schema + " does not exist yet; " + user + " may create it")
                .data = data;
        } else {
            add(name, ledger ? "fail" : "warn",
                std::string("schema ") + schema + " does not exist and " + user + " may not create it (" +
                    what + ")",
                "GRANT CREATE ON DATABASE " + database + " TO " + user + ", or create the schema " + schema +
                    " owned by " + user + (ledger ? "" : " (needed when the plan has a Drizzle folder)"))
                .data = data;
        }
    }
}

void Doctor::encoding(pqxx::work& tx) {
    auto r = tx.exec1(
        "SELECT pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = "
        "current_database()");
    std::string enc = r[0].c_str();
    std::string collate = r[1].c_str();
    std::string ctype = r[2].c_str();
    if (enc == "UTF8") {
        add("encoding", "ok", "UTF8").data = {{"encoding", enc}};
    } else {
        add("encoding", "fail",
            enc + ": Enmap's keys and values are Unicode text, and jsonb needs UTF8 to hold them all",
            "create the database with ENCODING 'UTF8' (CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE "
            "template0)")
            .data = {{"encoding", enc}};
    }
    bool bytewise = collate == "C" || collate == "POSIX" || collate == "C.UTF-8" || collate == "C.utf8";
    add("collation", "ok",
        collate + (bytewise
                       ? ": bytewise, the order replay sends keys in: ADD PRIMARY KEY sorts them 2-3x faster"
                       : ": not bytewise: replay loads the same, only key-ordered loading speeds up the "
                         "primary key less"))
        .data = {{"collate", collate}, {"ctype", ctype}, {"bytewise", bytewise}};
}

void Doctor::timeouts(pqxx::work& tx) {
    for (const char* setting : {"statement_timeout", "idle_in_transaction_session_timeout"}) {
        std::string value = tx.exec1(std::string("SHOW ") + setting)[0].c_str();
        if (value == "0") {
            add(setting, "ok", "0 (off)").data = {{"value", value}};
        } else {
            add(setting, "warn",
                value +
                    ": would cut a long replay, but replay sets it to 0 with SET LOCAL inside its own "
                    "transaction, so it applies to other sessions only",
                "nothing to do for replay; psql, the bot's migrate() and your own scripts still get " + value)
                .data = {{"value", value}};
        }
    }
}

void Doctor::round_trip(pqxx::connection& conn) {
    std::vector<double> samples;
    pqxx::nontransaction tx(conn);
    for (int i = 0; i < std::max(1, m_options.round_trips); ++i) {
        auto start = Clock::now();
        tx.exec("SELECT 1");
        samples.push_back(since(start));
    }
    std::sort(samples.begin(), samples.end());
    m_rtt = samples[samples.size() / 2];
    std::string detail = "median " + fixed(m_rtt * 1000, 2) + " ms of " + std::to_string(samples.size()) +
                         " SELECT 1 (min " + fixed(samples.front() * 1000, 2) + ", max " +
                         fixed(samples.back() * 1000, 2) + ")";
    auto& c = m_rtt > 0.1 ? add("round_trip", "warn", detail,
                                "far from the database: run the migration from a machine in its region")
                          : add("round_trip", "ok", detail);
    c.data = {
        {"median_ms", m_rtt * 1000}, {"min_ms", samples.front() * 1000}, {"max_ms", samples.back() * 1000}};
}

void Doctor::copy(pqxx::connection& conn) {
    // Rows shaped like a bot's points values, keys in bytewise order as replay sends them.
    std::mt19937_64 rng(1);
    std::vector<std::string> keys;
    std::vector<std::string> values;
    std::uint64_t bytes = 0;
    while (bytes < m_options.copy_bytes) {
        std::string key = std::to_string(100000000000000000ULL + rng() % 900000000000000000ULL) + "-" +
                          std::to_string(100000000000000000ULL + rng() % 900000000000000000ULL);
        nlohmann::json v = {{"xp", rng() % 100000},
                            {"level", rng() % 100},
                            {"guild", key.substr(0, 18)},
                            {"user", key.substr(19)},
                            {"lastSeen", "2024-05-" + std::to_string(10 + rng() % 19) + "T12:00:00.000Z"},
                            {"multiplier", 1.5},
                            {"badges", {"early", "helper", std::to_string(rng() % 1000)}},
                            {"roles", {std::to_string(rng()), std::to_string(rng())}}};
        std::string text = v.dump();
        bytes += key.size() + text.size() + 11;  // the tuple: field count, two lengths, jsonb version
        keys.push_back(std::move(key));
        values.push_back(std::move(text));
    }
    std::vector<std::size_t> order(keys.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return keys[a] < keys[b]; });
    std::string tuples;
    for (auto i : order) {
        append_copy_tuple(tuples, keys[i], values[i]);
    }
    try {
        pqxx::work tx(conn);
        tx.exec("SET LOCAL statement_timeout = 0");
        tx.exec(
            "CREATE TEMPORARY TABLE enmap_migrate_doctor (key text NOT NULL, value jsonb NOT NULL) ON COMMIT "
            "DROP");
        auto start = Clock::now();
        std::uint64_t rows = 0;
        {
            CopyIn in(tx, "enmap_migrate_doctor", "key, value", false);
            in.write(tuples);
            rows = in.finish();
        }
        m_copy_s = since(start);
        start = Clock::now();
        tx.exec("ALTER TABLE enmap_migrate_doctor ADD PRIMARY KEY (key)");
        m_key_s = since(start);
        start = Clock::now();
        tx.exec1(
            "SELECT sum(hashtextextended(key || E'\\t' || value::text, 0)::numeric) FROM "
            "enmap_migrate_doctor");
        m_sum_s = since(start);
        tx.abort();
        m_sample_rows = rows;
        m_sample_bytes = tuples.size();
    } catch (const pqxx::broken_connection&) {
        throw;
    } catch (const std::exception& e) {
        add("copy", "fail",
            "COPY into a temporary table failed: " + redact_message(e.what(), m_options.database_url),
            "replay loads with COPY: the user needs the TEMPORARY privilege here, and CREATE on schema "
            "public");
        return;
    }
    double rate = m_copy_s > 0 ? static_cast<double>(m_sample_bytes) / m_copy_s : 0;
    std::string detail =
        mb(static_cast<double>(m_sample_bytes)) + " (" + std::to_string(m_sample_rows) + " jsonb rows) in " +
        fixed(m_copy_s, 2) + " s: " + mb(rate) + "/s, " +
        std::to_string(static_cast<std::uint64_t>(static_cast<double>(m_sample_rows) / m_copy_s)) +
        " rows/s; primary key " + fixed(m_key_s, 2) + " s, checksum " + fixed(m_sum_s, 2) + " s";
    auto& c = rate < 1e6
                  ? add("copy", "warn", detail,
                        "a slow link: a large replay will take long (see the estimate with --snapshot)")
                  : add("copy", "ok", detail);
    c.data = {{"rows", m_sample_rows},    {"bytes", m_sample_bytes}, {"seconds", m_copy_s},
              {"bytes_per_second", rate}, {"key_seconds", m_key_s},  {"checksum_seconds", m_sum_s}};
}

void Doctor::estimate() {
    Source& source = *m_options.source;
    enmap::DecodeOptions decode;
    decode.invalid_text = enmap::InvalidTextPolicy::k_replace;
    decode.functions = enmap::FunctionPolicy::k_source;
    source.prepare(decode);
    DoctorEstimate e;
    for (const auto& t : source.tables()) {
        source.for_each_tuple_chunk(
            t.enmap_name, [&](std::string_view tuples, std::uint64_t) { e.bytes += tuples.size(); });
        e.rows += t.rows;
        ++e.tables;
    }
    if (m_sample_rows == 0 || m_sample_bytes == 0) {
        add("estimate", "warn",
            std::to_string(e.rows) + " rows (" + mb(static_cast<double>(e.bytes)) +
                ") to send; no estimate without a COPY measurement",
            "fix the copy check first");
        return;
    }
    double per_row_key = m_key_s / static_cast<double>(m_sample_rows);
    double per_row_sum = m_sum_s / static_cast<double>(m_sample_rows);
    e.copy_seconds = static_cast<double>(e.bytes) * m_copy_s / static_cast<double>(m_sample_bytes);
    // ADD PRIMARY KEY sorts: n log n from the sample's n.
    double n = static_cast<double>(e.rows);
    double ns = static_cast<double>(m_sample_rows);
    e.key_seconds = n > 1 ? per_row_key * n * std::max(1.0, std::log2(n) / std::log2(std::max(2.0, ns))) : 0;
    e.validate_seconds = per_row_sum * n;
    // The statements of the transaction: the lock, the ledger, the catalog, per table about ten.
    e.round_trip_seconds = m_rtt * static_cast<double>(40 + 10 * e.tables);
    e.total_seconds = e.copy_seconds + e.key_seconds + e.validate_seconds + e.round_trip_seconds;
    m_report.estimate = e;
    add("estimate", "ok",
        "about " + duration_text(e.total_seconds) + " on this link for " + std::to_string(e.rows) +
            " rows (" + mb(static_cast<double>(e.bytes)) + " of COPY data) in " + std::to_string(e.tables) +
            " tables: COPY " + duration_text(e.copy_seconds) + ", primary keys " +
            duration_text(e.key_seconds) + ", validation " + duration_text(e.validate_seconds) +
            ", round trips " + duration_text(e.round_trip_seconds),
        "not counted: reading and decoding the snapshot (before connecting) and the plan's transforms; "
        "`replay --dry-run` measures everything")
        .data = {{"rows", e.rows},
                 {"bytes", e.bytes},
                 {"tables", e.tables},
                 {"copy_seconds", e.copy_seconds},
                 {"key_seconds", e.key_seconds},
                 {"validate_seconds", e.validate_seconds},
                 {"round_trip_seconds", e.round_trip_seconds},
                 {"total_seconds", e.total_seconds}};
}

DoctorReport Doctor::run() {
    ConnectStats stats;
    std::unique_ptr<pqxx::connection> conn;
    try {
        conn = open_session(m_options.database_url, connect_retry_from_env(), &stats);
    } catch (const enmap::DatabaseError& e) {
        add("connection", "fail", e.what(), e.hint()).data = {{"attempts", stats.attempts},
                                                              {"seconds", stats.seconds}};
        return m_report;
    }
    add("connection", "ok",
        "connected in " + fixed(stats.seconds, 2) + " s" +
            (stats.attempts > 1 ? " on try " + std::to_string(stats.attempts) + " (the server was waking up)"
                                : ""))
        .data = {{"attempts", stats.attempts}, {"seconds", stats.seconds}};
    try {
        {
            pqxx::work tx(*conn);
            server(tx);
            tls(tx);
            endpoint(tx);
            privileges(tx);
            encoding(tx);
            timeouts(tx);
        }
        round_trip(*conn);
        copy(*conn);
    } catch (const pqxx::broken_connection& e) {
        add("connection", "fail",
            "the connection was lost: " + redact_message(e.what(), m_options.database_url));
        return m_report;
    } catch (const pqxx::sql_error& e) {
        add("query", "fail",
            "PostgreSQL refused a check's query: " + redact_message(e.what(), m_options.database_url),
            "report this, with the server's version");
        return m_report;
    }
    if (m_options.source != nullptr) {
        estimate();
    }
    return m_report;
}

}  // namespace

bool is_neon_pooler(const std::string& host) {
    return host.find("-pooler") != std::string::npos;
}

nlohmann::json DoctorReport::to_json() const {
    nlohmann::json checks_json = nlohmann::json::array();
    int counts[3] = {0, 0, 0};
    for (const auto& c : checks) {
        checks_json.push_back({{"check", c.name},
                               {"status", c.status},
                               {"detail", c.detail},
                               {"hint", c.hint},
                               {"data", c.data}});
        counts[c.status == "ok" ? 0 : c.status == "warn" ? 1 : 2]++;
    }
    nlohmann::json out = {{"database", database}, {"checks", checks_json}, {"ok", counts[0]},
                          {"warn", counts[1]},    {"fail", counts[2]},     {"exit_status", exit_status()}};
    if (estimate) {
        out["estimate_seconds"] = estimate->total_seconds;
    }
    return out;
}

int DoctorReport::exit_status() const {
    for (const auto& c : checks) {
        if (c.status == "fail") {
            return static_cast<int>(enmap::ExitCode::k_database);
        }
    }
    return 0;
}

DoctorReport run_doctor(const DoctorOptions& options) {
    Doctor doctor(options);
    return doctor.run();
}

}  // namespace replay
