#pragma once
// replay/ connection strings: opening a PostgreSQL session from any libpq URL or conninfo string,
// and keeping its password out of every log line, error message and ledger row.

#include <memory>
#include <pqxx/connection>
#include <string>
#include <string_view>

namespace replay {

/// The URL or conninfo string with any password replaced by "***" (userinfo, ?password=, password=).
std::string redact_url(std::string_view url);

/// `message` with every occurrence of the password of `url` (raw and percent-decoded) replaced by
/// "***", and any URL in it redacted: libpq error messages may echo the connection string.
std::string redact_message(std::string_view message, std::string_view url);

/// A connection string split for a helper program (pg_dump): the libpq conninfo without its
/// password, for the command line, and the password, for the child's PGPASSWORD.
struct SplitConninfo {
    std::string conninfo;  // keyword='value' pairs, every secret option left out
    std::string password;  // empty when the string had none
};
/// Splits `url` (a libpq URL or conninfo string); throws enmap::UsageError when libpq cannot parse it.
SplitConninfo split_password(std::string_view url);

/// Opens a session, retrying the first attempts as replay/session.hpp's open_session does (the
/// budget from ENMAP_MIGRATE_CONNECT_RETRY_SECONDS, default 10 s); throws enmap::DatabaseError with
/// a redacted message naming the server and saying what to check when the connection fails. The
/// session never reconnects by itself.
std::unique_ptr<pqxx::connection> connect(const std::string& url);

}  // namespace replay
