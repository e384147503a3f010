#include "tests/support.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace test_support {

fs::path source_dir() {
    return fs::path(ENMAP_MIGRATE_SOURCE_DIR);
}

fs::path fixture(const std::string& name) {
    return source_dir() / "tests" / "fixtures" / name;
}

std::vector<std::string> fixture_names() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(source_dir() / "tests" / "fixtures")) {
        if (entry.is_directory() && fs::exists(entry.path() / "enmap.sqlite")) {
            names.push_back(entry.path().filename().string());
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

namespace {
std::string unique_suffix() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    return std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" + std::to_string(rd() % 100000);
}

std::string with_database(const std::string& url, const std::string& db) {
    // The harness URL has the form postgresql://user@host:port/dbname[?params].
    auto query = url.find('?');
    std::string base = url.substr(0, query);
    std::string params = query == std::string::npos ? "" : url.substr(query);
    auto slash = base.rfind('/');
    return base.substr(0, slash + 1) + db + params;
}
}  // namespace

TempDir::TempDir() {
    m_path = fs::temp_directory_path() / ("enmap-migrate-test-" + unique_suffix());
    fs::create_directories(m_path);
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
}

std::string server_url() {
    const char* url = std::getenv("ENMAP_MIGRATE_TEST_DATABASE_URL");
    if (url == nullptr || *url == '\0') {
        FAIL(
            "ENMAP_MIGRATE_TEST_DATABASE_URL is not set: run the suite through scripts/test, "
            "which starts a throwaway PostgreSQL cluster");
    }
    return url;
}

TestDatabase::TestDatabase() : m_name("t_" + unique_suffix()) {
    std::string admin = server_url();
    pqxx::connection conn(admin);
    pqxx::nontransaction tx(conn);
    tx.exec("CREATE DATABASE " + tx.quote_name(m_name));
    m_url = with_database(admin, m_name);
}

TestDatabase::~TestDatabase() {
    try {
        pqxx::connection conn(server_url());
        pqxx::nontransaction tx(conn);
        tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(m_name) + " WITH (FORCE)");
    } catch (...) {
        // A failed drop leaves a database in a throwaway cluster; nothing to report.
    }
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    return buf.str();
}

RunResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    TempDir tmp;
    fs::path out_path = tmp.path() / "out";
    fs::path err_path = tmp.path() / "err";
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = ::open("/dev/null", O_RDONLY);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::dup2(in, 0);
        for (const auto& kv : env) {
            ::putenv(const_cast<char*>(kv.c_str()));
        }
        std::vector<char*> argv;
        // The crash tests' kill points live only in the test-hook binary (CMakeLists.txt).
        bool kills = std::any_of(env.begin(), env.end(), [](const std::string& kv) {
            return kv.rfind("ENMAP_MIGRATE_TEST_KILL_AT=", 0) == 0;
        });
        std::string binary = kills ? ENMAP_MIGRATE_HOOKS_BINARY : ENMAP_MIGRATE_BINARY;
        argv.push_back(binary.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    int wstatus = 0;
    ::waitpid(pid, &wstatus, 0);
    RunResult result;
    result.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    result.out = read_file(out_path);
    result.err = read_file(err_path);
    return result;
}

bool run_and_kill(const std::vector<std::string>& args, long micros) {
    std::vector<std::string> all = args;
    std::string binary = ENMAP_MIGRATE_BINARY;
    std::vector<char*> argv = {binary.data()};
    for (auto& a : all) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(micros));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFSIGNALED(status);
}

}  // namespace test_support
