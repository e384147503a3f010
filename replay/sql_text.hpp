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

}  // namespace replay
