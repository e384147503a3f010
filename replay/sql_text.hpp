#pragma once
// replay/ SQL files: splitting a file into its statements, each with the line it starts on.

#include <string>
#include <string_view>
#include <vector>

namespace replay {

/// One statement of an SQL file and the 1-based line where its text starts.
struct SqlStatement {
    std::string sql;
    int line = 1;
};

/// Splits SQL text on top-level ';', respecting quotes, "identifiers", $tag$ bodies and comments.
/// Statements holding only comments and whitespace are left out.
std::vector<SqlStatement> split_sql(std::string_view text);

/// The words of one statement outside quotes, comments and $tag$ bodies, in upper case
/// ("identifiers" and 'strings' are left out).
std::vector<std::string> sql_keywords(std::string_view statement);

/// When the statement ends, opens or escapes the surrounding transaction, or cannot run inside a
/// transaction block (BEGIN, COMMIT, ROLLBACK, END, ABORT, START TRANSACTION, SAVEPOINT, RELEASE,
/// PREPARE TRANSACTION, COMMIT/ROLLBACK PREPARED, VACUUM, CREATE/DROP INDEX CONCURRENTLY,
/// REINDEX CONCURRENTLY, CREATE/DROP DATABASE or TABLESPACE, ALTER SYSTEM, subscriptions,
/// DISCARD ALL, ... DETACH PARTITION ... CONCURRENTLY): the command's name, else empty.
std::string transaction_control(std::string_view statement);

}  // namespace replay
