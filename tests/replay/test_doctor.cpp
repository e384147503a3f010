// replay/doctor.cpp and `enmap-migrate doctor`, against real clusters: the test cluster, and one
// started here with TLS on (scripts/lib/pgcluster.sh, PGCLUSTER_SSL=1).

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "replay/doctor.hpp"
#include "tests/replay/replay_support.hpp"
#include "tests/support.hpp"

// Every test here needs the PostgreSQL cluster that scripts/test starts: `ctest -LE pg` leaves them out.
TEST_SUITE_BEGIN("pg");

namespace fs = std::filesystem;
using test_support::run_cli;

namespace {

nlohmann::json doctor_json(const std::vector<std::string>& args, int expected_status,
                           const std::vector<std::string>& env = {}) {
    std::vector<std::string> all = {"--json", "doctor"};
    all.insert(all.end(), args.begin(), args.end());
    auto r = run_cli(all, env);
    CAPTURE(r.err);
    CAPTURE(r.out);
    CHECK(r.status == expected_status);
    auto j = nlohmann::json::parse(r.out);
    for (const auto& c : j["checks"]) {
        CHECK((c["status"] == "ok" || c["status"] == "warn" || c["status"] == "fail"));
        CHECK(!c["detail"].get<std::string>().empty());
        if (c["status"] != "ok") {
            CHECK(!c["hint"].get<std::string>().empty());
        }
    }
    CHECK(j["exit_status"] == expected_status);
    return j;
}

nlohmann::json check(const nlohmann::json& report, const std::string& name) {
    for (const auto& c : report["checks"]) {
        if (c["check"] == name) {
            return c;
        }
    }
    FAIL("no check named " << name << " in " << report.dump());
    return {};
}

// host:port/ of the test cluster's URL (postgresql://user@HOST:PORT/db).
std::string host_port(const std::string& url) {
    auto at = url.find('@') + 1;
    return url.substr(at, url.find('/', at) - at);
}

std::string with_params(const std::string& url, const std::string& params) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + params;
}

// A cluster of its own with ssl=on and a self-signed certificate, stopped when the object dies.
class TlsCluster {
public:
    TlsCluster() {
        fs::permissions(m_dir.path(), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
        std::string script = (test_support::source_dir() / "scripts" / "lib" / "pgcluster.sh").string();
        std::string command = "bash -c 'source " + script + " && PGCLUSTER_SSL=1 pgcluster_start " +
                              (m_dir.path() / "pg").string() + " >&2 && echo $PGCLUSTER_URL'";
        FILE* pipe = ::popen(command.c_str(), "r");
        REQUIRE(pipe != nullptr);
        char buf[512] = {};
        while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
            m_url = buf;
        }
        REQUIRE(::pclose(pipe) == 0);
        while (!m_url.empty() && m_url.back() == '\n') {
            m_url.pop_back();
        }
        REQUIRE(m_url.starts_with("postgresql://"));
    }
    ~TlsCluster() {
        std::string script = (test_support::source_dir() / "scripts" / "lib" / "pgcluster.sh").string();
        std::string command =
            "bash -c 'source " + script + " && pgcluster_stop " + (m_dir.path() / "pg").string() + "'";
        int status = std::system(command.c_str());
        (void)status;
    }
    TlsCluster(const TlsCluster&) = delete;
    TlsCluster& operator=(const TlsCluster&) = delete;
    [[nodiscard]] const std::string& url() const { return m_url; }

private:
    test_support::TempDir m_dir;
    std::string m_url;
};

}  // namespace

TEST_CASE("doctor: TLS in use with sslmode=require, a warning with sslmode=disable (a TLS cluster)") {
    TlsCluster cluster;
    auto tls = doctor_json({"--database", with_params(cluster.url(), "sslmode=require")}, 0);
    auto t = check(tls, "tls");
    CHECK(t["status"] == "ok");
    CHECK(t["data"]["in_use"] == true);
    CHECK(t["data"]["version"].get<std::string>().starts_with("TLSv1."));
    CHECK(t["data"]["sslmode"] == "require");
    // Trust authentication has no SCRAM exchange to bind: channel binding is offered, not required.
    CHECK(check(tls, "channel_binding")["status"] == "warn");

    auto plain = doctor_json({"--database", with_params(cluster.url(), "sslmode=disable")}, 0);
    CHECK(check(plain, "tls")["status"] == "warn");
    CHECK(check(plain, "tls")["data"]["in_use"] == false);
    CHECK(check(plain, "tls")["hint"].get<std::string>().find("sslmode=require") != std::string::npos);
    CHECK(check(plain, "channel_binding")["status"] == "warn");
}

TEST_CASE("doctor: every check on the test cluster, text and --json") {
    test_support::TestDatabase db;
    auto j = doctor_json({"--database", db.url()}, 0);
    for (const char* name :
         {"connection", "server", "tls", "channel_binding", "endpoint", "privilege_database",
          "privilege_public", "privilege_enmap_migrate", "privilege_drizzle", "encoding", "collation",
          "statement_timeout", "idle_in_transaction_session_timeout", "round_trip", "copy"}) {
        CAPTURE(name);
        CHECK(check(j, name)["status"] != "fail");
    }
    CHECK(check(j, "server")["data"]["version_num"].get<int>() >= 110000);
    CHECK(check(j, "encoding")["status"] == "ok");
    CHECK(check(j, "collation")["data"]["bytewise"] == true);  // the test clusters use C.UTF-8
    CHECK(check(j, "round_trip")["data"]["median_ms"].get<double>() > 0);
    auto copy = check(j, "copy");
    CHECK(copy["data"]["bytes"].get<std::uint64_t>() >= (std::uint64_t{8} << 20));
    CHECK(copy["data"]["bytes_per_second"].get<double>() > 0);
    CHECK(!j.contains("estimate_seconds"));
    // The temporary table is gone with its transaction.
    CHECK(replay_test::user_relations(db.url()) == 0);

    auto text = run_cli({"doctor", "--database", db.url()});
    CHECK(text.status == 0);
    CHECK(text.out.find("  ok    encoding") != std::string::npos);
    CHECK(text.out.find(" 0 fail") != std::string::npos);
}

TEST_CASE("doctor: a Neon pooler host is a warning that names the direct endpoint") {
    CHECK(replay::is_neon_pooler("ep-cool-1-pooler.eu-central-1.aws.neon.tech"));
    CHECK(!replay::is_neon_pooler("ep-cool-1.eu-central-1.aws.neon.tech"));
    test_support::TestDatabase db;
    std::string hp = host_port(db.url());
    std::string port = hp.substr(hp.find(':') + 1);
    // The pooler's name, the test cluster's address: libpq reports the host name it was given.
    std::string conninfo =
        "host=ep-cool-1-pooler.eu-central-1.aws.neon.tech hostaddr=127.0.0.1 port=" + port +
        " user=postgres dbname=" + db.name() + " sslmode=disable";
    auto j = doctor_json({"--database", conninfo}, 0);
    auto e = check(j, "endpoint");
    CHECK(e["status"] == "warn");
    CHECK(e["data"]["pooler"] == true);
    CHECK(e["hint"].get<std::string>().find("ep-cool-1.eu-central-1.aws.neon.tech") != std::string::npos);
}

TEST_CASE("doctor: missing privileges fail, and granting them passes") {
    test_support::TestDatabase db;
    std::string role = "doctor_" + db.name();
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("CREATE ROLE " + role + " LOGIN");
    }
    const std::string& url = db.url();
    std::string as_role = "postgresql://" + role + url.substr(url.find('@'));
    auto j = doctor_json({"--database", as_role}, 6);
    CHECK(check(j, "privilege_database")["status"] == "warn");
    CHECK(check(j, "privilege_public")["status"] == "fail");
    CHECK(check(j, "privilege_public")["hint"].get<std::string>().find(
              "GRANT USAGE, CREATE ON SCHEMA public TO " + role) != std::string::npos);
    CHECK(check(j, "privilege_enmap_migrate")["status"] == "fail");
    CHECK(check(j, "privilege_drizzle")["status"] == "warn");
    CHECK(check(j, "copy")["status"] == "ok");  // a temporary table needs TEMPORARY only
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("CREATE SCHEMA drizzle");
        tx.exec("GRANT CREATE ON DATABASE " + tx.quote_name(db.name()) + " TO " + role);
        tx.exec("GRANT USAGE, CREATE ON SCHEMA public TO " + role);
    }
    auto granted = doctor_json({"--database", as_role}, 6);
    CHECK(check(granted, "privilege_public")["status"] == "ok");
    CHECK(check(granted, "privilege_enmap_migrate")["status"] == "ok");
    CHECK(check(granted, "privilege_drizzle")["status"] == "fail");  // exists, owned by postgres
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("GRANT USAGE, CREATE ON SCHEMA drizzle TO " + role);
    }
    CHECK(check(doctor_json({"--database", as_role}, 0), "privilege_drizzle")["status"] == "ok");
    pqxx::connection conn(db.url());
    pqxx::nontransaction tx(conn);
    tx.exec("DROP OWNED BY " + role);
    tx.exec("DROP ROLE " + role);
}

TEST_CASE("doctor: a database that is not UTF8 fails; timeouts warn and say replay sets them itself") {
    test_support::TestDatabase db;
    std::string ascii = db.name() + "_ascii";
    const std::string& url = db.url();
    std::string ascii_url = url.substr(0, url.rfind('/') + 1) + ascii;
    {
        pqxx::connection conn(db.url());
        pqxx::nontransaction tx(conn);
        tx.exec("CREATE DATABASE " + ascii +
                " ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
        tx.exec("ALTER DATABASE " + tx.quote_name(db.name()) + " SET statement_timeout = '5min'");
        tx.exec("ALTER DATABASE " + tx.quote_name(db.name()) +
                " SET idle_in_transaction_session_timeout = '1min'");
    }
    auto j = doctor_json({"--database", ascii_url}, 6);
    CHECK(check(j, "encoding")["status"] == "fail");
    CHECK(check(j, "encoding")["detail"].get<std::string>().starts_with("SQL_ASCII"));
    CHECK(check(j, "collation")["data"]["collate"] == "C");

    auto t = doctor_json({"--database", db.url()}, 0);
    CHECK(check(t, "statement_timeout")["status"] == "warn");
    CHECK(check(t, "statement_timeout")["data"]["value"] == "5min");
    CHECK(check(t, "statement_timeout")["detail"].get<std::string>().find("SET LOCAL") != std::string::npos);
    CHECK(check(t, "idle_in_transaction_session_timeout")["status"] == "warn");
    pqxx::connection conn(db.url());
    pqxx::nontransaction tx(conn);
    tx.exec("DROP DATABASE " + ascii);
}

TEST_CASE("doctor: no connection is a failed check with the reason, in --json too") {
    auto j = doctor_json({"--database", "postgresql://postgres@127.0.0.1:1/x"}, 6,
                         {"ENMAP_MIGRATE_CONNECT_RETRY_SECONDS=0"});
    REQUIRE(j["checks"].size() == 1);
    CHECK(check(j, "connection")["status"] == "fail");
    CHECK(check(j, "connection")["detail"].get<std::string>().find("nothing accepts connections") !=
          std::string::npos);
}

TEST_CASE("doctor --snapshot: estimates the replay's duration from the snapshot's size and the link") {
    test_support::TempDir dir;
    test_support::TestDatabase db;
    auto store = (dir.path() / "store").string();
    auto data = dir.path() / "data";
    REQUIRE(run_cli({"sample-data", "--generation", "6", "--rows", "60000", "--out", data.string()}).status ==
            0);
    REQUIRE(run_cli({"--store", store, "snapshot", "create", "--data-dir", data.string(), "--label", "day"})
                .status == 0);
    auto j = doctor_json({"--database", db.url(), "--snapshot", "day"}, 0, {"ENMAP_MIGRATE_STORE=" + store});
    auto e = check(j, "estimate");
    CHECK(e["status"] == "ok");
    CHECK(e["data"]["rows"] == 60000);
    CHECK(e["data"]["tables"] == 1);
    auto bytes = e["data"]["bytes"].get<std::uint64_t>();
    CHECK(bytes > 60000 * 150);  // canonical JSON of generation 6 points values: about 250 bytes a row
    double estimate = j["estimate_seconds"].get<double>();
    CHECK(estimate > 0);
    // Against a real replay of the same snapshot into the same database.
    auto r = run_cli({"--store", store, "--database", db.url(), "--json", "replay", "--snapshot", "day"});
    REQUIRE(r.status == 0);
    auto last = nlohmann::json::parse(r.out.substr(r.out.rfind("\n{") + 1));
    double measured = last["load_seconds"].get<double>() + last["validation"]["seconds"].get<double>();
    MESSAGE("doctor estimated " << estimate << " s; the replay's load and validation took " << measured
                                << " s");
    CHECK(estimate < measured * 5);
    CHECK(estimate > measured / 5);
}

TEST_SUITE_END();
