#pragma once
// replay/ where the PostgreSQL URL comes from without showing it to `ps`: --database-file, and
// telling whether a --database carries a password.

#include <string>
#include <string_view>

namespace replay {

/// The connection string in the first line of `file` (--database-file), without the line end.
/// Warns when others may read the file. Throws enmap::InputError when it is unreadable or empty.
std::string read_database_file(const std::string& file);

/// True when the connection string carries a secret (as libpq's PQconninfoParse reads it), or
/// cannot be told not to (it does not parse, or a URL holds an '@' outside its user info).
bool has_password(std::string_view url);

}  // namespace replay
