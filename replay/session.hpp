#pragma once
// replay/ opening sessions. The first attempts to reach a target retry with a bounded backoff,
// since a Neon compute (or a restarting server) takes a moment to accept connections; a host
// that cannot be found, or that refuses every attempt, is reported as such. An open session never
// reconnects by itself: a connection lost mid-run fails the run.

#include <memory>
#include <pqxx/connection>
#include <string>
#include <string_view>

namespace replay {

/// How long the first connection may keep trying.
struct ConnectRetry {
    double budget_seconds = 10;  // no new attempt starts after this much time
    double first_delay = 0.25;   // then doubled up to max_delay
    double max_delay = 2;
};

/// What a failed attempt says about the server.
enum class ConnectFailure {
    k_starting,  // it answers but is not ready: starting up, in recovery, a Neon compute waking, a timeout
    k_refused,   // nothing accepts on the port (yet)
    k_fatal,     // retrying cannot help: name not resolved, authentication, no such database or role
};

/// Classifies libpq's message of a failed connection attempt.
ConnectFailure classify_connect_error(std::string_view message);

/// The default policy, with budget_seconds from ENMAP_MIGRATE_CONNECT_RETRY_SECONDS when set (0 =
/// one attempt). Throws enmap::UsageError when that variable is not a number from 0 to 600.
ConnectRetry connect_retry_from_env();

/// How an open_session call went.
struct ConnectStats {
    int attempts = 0;
    double seconds = 0;
};

/// Opens a session to `url` (a libpq URL or conninfo string), retrying attempts that failed with
/// k_starting or k_refused until the budget is spent, logging each. Adds connect_timeout=10 when
/// the URL sets none, so one attempt cannot hang for minutes. Throws enmap::DatabaseError with a
/// redacted message that says whether the host was not found, kept refusing, or never became
/// ready. The session has reactivation turned off: it never reconnects by itself.
std::unique_ptr<pqxx::connection> open_session(const std::string& url, const ConnectRetry& retry,
                                               ConnectStats* stats = nullptr);

}  // namespace replay
