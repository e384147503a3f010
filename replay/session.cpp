#include "replay/session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "enmap/error.hpp"
#include "replay/url.hpp"

namespace replay {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* k_hint =
    "check --database (or DATABASE_URL): host, port, user, password, database name and sslmode";

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

// The URL with connect_timeout=10 added when it sets none.
std::string with_connect_timeout(const std::string& url) {
    if (contains(url, "connect_timeout")) {
        return url;
    }
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        return url + (contains(url, "?") ? "&" : "?") + "connect_timeout=10";
    }
    return url + (url.empty() ? "" : " ") + "connect_timeout=10";
}

// The first line of libpq's message, for the log.
std::string first_line(const std::string& message) {
    std::string line = message.substr(0, message.find('\n'));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) {
        line.pop_back();
    }
    return line;
}

std::unique_ptr<pqxx::connection> attempt(const std::string& conninfo) {
    auto conn = std::make_unique<pqxx::connection>(conninfo);
    // libpqxx 6 silently reconnects a broken connection on the next statement, which would run
    // the rest of a replay outside its transaction. Turn that off: a lost connection must fail.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    return conn;
}

}  // namespace

ConnectFailure classify_connect_error(std::string_view message) {
    std::string m = lower(message);
    // A server (or Neon's proxy) that answered and said it is not ready yet.
    for (std::string_view starting :
         {"the database system is starting up", "the database system is not yet accepting connections",
          "the database system is not accepting connections", "the database system is in recovery mode",
          "the database system is shutting down", "couldn't connect to compute node",
          "could not connect to compute node", "compute is starting", "wake_compute", "wake compute",
          "timeout expired", "timed out", "server closed the connection unexpectedly",
          "terminating connection due to administrator command",
          "ssl connection has been closed unexpectedly", "ssl syscall error: eof detected"}) {
        if (contains(m, starting)) {
            return ConnectFailure::k_starting;
        }
    }
    if (contains(m, "connection refused") || contains(m, "no such file or directory")) {
        return ConnectFailure::k_refused;
    }
    return ConnectFailure::k_fatal;
}

ConnectRetry connect_retry_from_env() {
    ConnectRetry retry;
    if (const char* env = std::getenv("ENMAP_MIGRATE_CONNECT_RETRY_SECONDS");
        env != nullptr && *env != '\0') {
        char* end = nullptr;
        double value = std::strtod(env, &end);
        if (end == env || *end != '\0' || !(value >= 0 && value <= 600)) {
            throw enmap::UsageError(std::string("ENMAP_MIGRATE_CONNECT_RETRY_SECONDS=") + env +
                                    ": expected seconds from 0 to 600");
        }
        retry.budget_seconds = value;
    }
    return retry;
}

std::unique_ptr<pqxx::connection> open_session(const std::string& url, const ConnectRetry& retry,
                                               ConnectStats* stats) {
    std::string conninfo = with_connect_timeout(url);
    std::string where = redact_url(url);
    auto start = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    double delay = retry.first_delay;
    int attempts = 0;
    bool answered = false;  // some attempt reached a server that said it was not ready
    std::string last;
    while (true) {
        ++attempts;
        try {
            auto conn = attempt(conninfo);
            if (stats != nullptr) {
                *stats = {attempts, elapsed()};
            }
            if (attempts > 1) {
                spdlog::info("connected to {} on try {} after {:.1f} s", where, attempts, elapsed());
            }
            return conn;
        } catch (const std::exception& e) {
            last = redact_message(e.what(), url);
            auto kind = classify_connect_error(last);
            if (stats != nullptr) {
                *stats = {attempts, elapsed()};
            }
            if (kind == ConnectFailure::k_fatal) {
                std::string message = "cannot connect to PostgreSQL at " + where + ": " + last;
                if (contains(lower(last), "could not translate host name")) {
                    message = "cannot connect to PostgreSQL at " + where +
                              ": the host name does not resolve (no retry): " + last;
                }
                throw enmap::DatabaseError(message, k_hint);
            }
            answered = answered || kind == ConnectFailure::k_starting;
            if (elapsed() + delay > retry.budget_seconds) {
                break;
            }
            spdlog::info("connecting to {}: try {} failed ({}: {}); trying again in {:.2f} s", where,
                         attempts, kind == ConnectFailure::k_starting ? "not ready yet" : "refused",
                         first_line(last), delay);
            std::this_thread::sleep_for(std::chrono::duration<double>(delay));
            delay = std::min(delay * 2, retry.max_delay);
        }
    }
    char spent[32];
    std::snprintf(spent, sizeof spent, "%.1f", elapsed());
    std::string tries =
        std::to_string(attempts) + (attempts == 1 ? " try" : " tries") + " over " + spent + " s";
    if (answered) {
        throw enmap::DatabaseError("cannot connect to PostgreSQL at " + where +
                                       ": the server was still not ready after " + tries + ": " + last,
                                   "a Neon compute or a restarting server can take a while to accept "
                                   "connections: try again, or allow longer with "
                                   "ENMAP_MIGRATE_CONNECT_RETRY_SECONDS");
    }
    throw enmap::DatabaseError(
        "cannot connect to PostgreSQL at " + where +
            ": nothing accepts connections there (refused on every one of " + tries + "): " + last,
        "is the server running, and are the host and port right? " + std::string(k_hint));
}

}  // namespace replay
