// replay/session.cpp: the first connection retries a server that is not there yet, gives up on one
// that keeps refusing within the budget, and fails at once where retrying cannot help.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "enmap/error.hpp"
#include "replay/session.hpp"
#include "replay/url.hpp"
#include "tests/support.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// A loopback port nothing listens on (bound, then closed: the kernel does not hand it out again
// at once).
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

int server_port() {
    std::string url = test_support::server_url();  // postgresql://user@127.0.0.1:PORT/db
    auto colon = url.rfind(':');
    return std::stoi(url.substr(colon + 1, url.find('/', colon) - colon - 1));
}

std::string with_port(const std::string& url, int port) {
    auto colon = url.rfind(':');
    return url.substr(0, colon + 1) + std::to_string(port) + url.substr(url.find('/', colon));
}

// Copies bytes both ways between a and b until either side closes.
void shuttle(int a, int b) {
    std::vector<char> buf(65536);
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    while (::poll(fds, 2, 5000) > 0) {
        for (int i = 0; i < 2; ++i) {
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
                ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
                if (n <= 0) {
                    ::close(a);
                    ::close(b);
                    return;
                }
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = ::write(fds[1 - i].fd, buf.data() + off, static_cast<std::size_t>(n - off));
                    if (w <= 0) {
                        ::close(a);
                        ::close(b);
                        return;
                    }
                    off += w;
                }
            }
        }
    }
    ::close(a);
    ::close(b);
}

// A TCP listener that appears on `port` after `delay` and forwards every connection to the test
// cluster: the server "starts" while the client is already trying.
class LateProxy {
public:
    LateProxy(int port, std::chrono::milliseconds delay, int target)
        : m_thread([this, port, delay, target] { run(port, delay, target); }) {}
    ~LateProxy() {
        m_stop = true;
        m_thread.join();
        for (auto& t : m_shuttles) {
            t.join();
        }
    }

private:
    void run(int port, std::chrono::milliseconds delay, int target) {
        std::this_thread::sleep_for(delay);
        int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener, 8) != 0) {
            ::close(listener);
            return;
        }
        while (!m_stop) {
            pollfd p{listener, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) {
                continue;
            }
            int client = ::accept(listener, nullptr, nullptr);
            if (client < 0) {
                continue;
            }
            int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in to{};
            to.sin_family = AF_INET;
            to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            to.sin_port = htons(static_cast<std::uint16_t>(target));
            if (::connect(upstream, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
                ::close(client);
                ::close(upstream);
                continue;
            }
            m_shuttles.emplace_back(shuttle, client, upstream);
        }
        ::close(listener);
    }

    std::atomic<bool> m_stop{false};
    std::vector<std::thread> m_shuttles;
    std::thread m_thread;
};

}  // namespace

TEST_CASE("session: libpq's messages are told apart: not ready, refused, hopeless" *
          doctest::test_suite("pg")) {
    using replay::ConnectFailure;
    // Real messages first: what libpq says for a port nothing listens on, a name that does not
    // resolve, and a role the server does not know.
    auto message_of = [](const std::string& url) {
        try {
            replay::open_session(url, replay::ConnectRetry{0, 0, 0});
        } catch (const enmap::DatabaseError& e) {
            return std::string(e.what());
        }
        FAIL("expected a connection error for " << url);
        return std::string();
    };
    std::string refused = message_of("postgresql://postgres@127.0.0.1:" + std::to_string(free_port()) + "/x");
    CAPTURE(refused);
    CHECK(replay::classify_connect_error(refused) == ConnectFailure::k_refused);
    std::string unresolved = message_of("postgresql://postgres@no-such-host.invalid:5432/x");
    CAPTURE(unresolved);
    CHECK(unresolved.find("does not resolve") != std::string::npos);
    CHECK(replay::classify_connect_error(unresolved) == ConnectFailure::k_fatal);
    std::string url = test_support::server_url();
    std::string no_role = message_of("postgresql://no_such_role_xyz@" + url.substr(url.find('@') + 1));
    CAPTURE(no_role);
    CHECK(no_role.find("no_such_role_xyz") != std::string::npos);
    CHECK(replay::classify_connect_error(no_role) == ConnectFailure::k_fatal);
    // What a starting server and Neon's proxy send while a compute wakes up.
    CHECK(replay::classify_connect_error("FATAL:  the database system is starting up") ==
          ConnectFailure::k_starting);
    CHECK(replay::classify_connect_error(
              "FATAL:  the database system is not yet accepting connections\nDETAIL:  Consistent recovery "
              "state has not been yet reached.") == ConnectFailure::k_starting);
    CHECK(replay::classify_connect_error("ERROR:  Couldn't connect to compute node") ==
          ConnectFailure::k_starting);
    CHECK(replay::classify_connect_error("timeout expired") == ConnectFailure::k_starting);
}

TEST_CASE("session: a host that keeps refusing fails after the bounded retries, saying so") {
    std::string url = "postgresql://alice:Secret42@127.0.0.1:" + std::to_string(free_port()) + "/app";
    replay::ConnectStats stats;
    auto start = Clock::now();
    try {
        replay::open_session(url, replay::ConnectRetry{2.0, 0.25, 1.0}, &stats);
        FAIL("expected a connection error");
    } catch (const enmap::DatabaseError& e) {
        std::string what = e.what();
        CAPTURE(what);
        CHECK(what.find("nothing accepts connections there") != std::string::npos);
        CHECK(what.find("refused on every one of") != std::string::npos);
        CHECK(what.find("Secret42") == std::string::npos);
        CHECK(e.hint().find("is the server running") != std::string::npos);
    }
    double spent = seconds_since(start);
    CHECK(stats.attempts >= 3);  // 0, 0.25, 0.75, 1.75 s
    CHECK(spent >= 1.5);
    CHECK(spent < 4.0);
}

TEST_CASE("session: the default budget is about ten seconds, and the environment changes it") {
    CHECK(replay::connect_retry_from_env().budget_seconds == doctest::Approx(10.0));
    // Through the binary: `status` against a port nothing listens on, with a 1 s budget.
    auto start = Clock::now();
    auto r = test_support::run_cli(
        {"--database", "postgresql://postgres@127.0.0.1:" + std::to_string(free_port()) + "/x", "status"},
        {"ENMAP_MIGRATE_CONNECT_RETRY_SECONDS=1"});
    CHECK(r.status == 6);
    CHECK(r.err.find("try 1 failed (refused") != std::string::npos);
    CHECK(r.err.find("nothing accepts connections there") != std::string::npos);
    CHECK(seconds_since(start) < 5.0);
    auto bad = test_support::run_cli({"--database", "postgresql://postgres@127.0.0.1:1/x", "status"},
                                     {"ENMAP_MIGRATE_CONNECT_RETRY_SECONDS=soon"});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("ENMAP_MIGRATE_CONNECT_RETRY_SECONDS=soon") != std::string::npos);
}

TEST_CASE("session: a server that comes up while the client is trying is reached" *
          doctest::test_suite("pg")) {
    int port = free_port();
    LateProxy proxy(port, std::chrono::milliseconds(1500), server_port());
    auto start = Clock::now();
    // replay::connect, as every command opens its session: the default policy.
    auto conn = replay::connect(with_port(test_support::server_url(), port));
    CHECK(seconds_since(start) >= 1.4);
    pqxx::nontransaction tx(*conn);
    CHECK(tx.exec1("SELECT 41 + 1")[0].as<int>() == 42);
}

TEST_CASE("session: a session lost mid-run is not reopened" * doctest::test_suite("pg")) {
    auto conn = replay::connect(test_support::server_url());
    int pid = 0;
    {
        pqxx::nontransaction tx(*conn);
        pid = tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
    }
    auto admin = replay::connect(test_support::server_url());
    {
        pqxx::nontransaction tx(*admin);
        tx.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK_THROWS_AS(
        {
            pqxx::nontransaction tx(*conn);
            tx.exec("SELECT 1");
        },
        pqxx::broken_connection);
    CHECK_THROWS_AS(
        {
            pqxx::nontransaction tx(*conn);
            tx.exec("SELECT 1");
        },
        pqxx::broken_connection);
}
