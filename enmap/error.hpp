#pragma once
// The one error hierarchy of enmap-migrate. Every part throws these; cli/main.cpp
// catches them once and turns each into a documented exit status (README, "Exit statuses").
// It lives in enmap/, the lowest layer, so that every other part may use it.

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace enmap {

/// Exit statuses of the enmap-migrate binary. The README documents each one.
enum class ExitCode : int {
    k_ok = 0,
    k_internal = 1,    // a bug or an unexpected system error
    k_usage = 2,       // bad command line
    k_input = 3,       // bad input: missing, unreadable or malformed file, table or value
    k_policy = 4,      // a data policy (--invalid-text, --functions) refused the data
    k_store = 5,       // the snapshot store is damaged, or a snapshot is missing
    k_database = 6,    // PostgreSQL refused a connection or a statement
    k_refused = 7,     // refused for safety: database in use, lock held, earlier run present
    k_validation = 8,  // validation found a difference between source and target
    k_no_space = 9,    // out of disk space here: the store, TMPDIR, the data folder or an output folder
};

/// The hint of every out-of-space error: what to free or move.
inline constexpr const char* k_no_space_hint =
    "free space on that disk (`df -h` shows it) or move the work to a disk with room: --store for the "
    "store, TMPDIR for replay's scratch files, --out for an archive. What was finished before stays as it "
    "was, and the next run removes the partial files";

/// True for the errno values that mean the disk is full: ENOSPC and EDQUOT.
bool is_no_space_errno(int error);

/// True when an error's text says a disk was full (strerror's ENOSPC or EDQUOT text, or SQLite's
/// SQLITE_FULL text): how cli/main.cpp recognizes one that a library reported as text.
bool mentions_no_space(std::string_view text);

/// Base of every error the tool reports: a message naming the object, and a hint saying what to do.
class Error : public std::runtime_error {
public:
    Error(const std::string& message, std::string hint = {})
        : std::runtime_error(message), m_hint(std::move(hint)) {}
    /// The exit status this error maps to.
    [[nodiscard]] virtual ExitCode exit_code() const { return ExitCode::k_internal; }
    /// What the user can do next; may be empty.
    [[nodiscard]] const std::string& hint() const { return m_hint; }

private:
    std::string m_hint;
};

#define ENMAP_MIGRATE_ERROR(name, code)                                              \
    class name : public Error {                                                      \
    public:                                                                          \
        using Error::Error;                                                          \
        [[nodiscard]] ExitCode exit_code() const override { return ExitCode::code; } \
    };

/// The command line is wrong.
ENMAP_MIGRATE_ERROR(UsageError, k_usage)
/// An input file, table, key or value is missing or malformed.
ENMAP_MIGRATE_ERROR(InputError, k_input)
/// A data policy refused values; the message lists every offending table, key and path.
ENMAP_MIGRATE_ERROR(PolicyError, k_policy)
/// The snapshot store is damaged, or a snapshot or chunk is missing.
ENMAP_MIGRATE_ERROR(StoreError, k_store)
/// PostgreSQL refused a connection or a statement.
ENMAP_MIGRATE_ERROR(DatabaseError, k_database)
/// The tool refused to go on because going on could lose data.
ENMAP_MIGRATE_ERROR(RefusedError, k_refused)
/// Validation found a difference between the source and the target.
ENMAP_MIGRATE_ERROR(ValidationError, k_validation)
/// A disk this machine writes to is full (ENOSPC, EDQUOT); PostgreSQL's own disk is a DatabaseError.
ENMAP_MIGRATE_ERROR(NoSpaceError, k_no_space)

#undef ENMAP_MIGRATE_ERROR

inline bool is_no_space_errno(int error) {
    return error == ENOSPC || error == EDQUOT;
}

inline bool mentions_no_space(std::string_view text) {
    return text.find(std::strerror(ENOSPC)) != std::string_view::npos ||
           text.find(std::strerror(EDQUOT)) != std::string_view::npos ||
           text.find("database or disk is full") != std::string_view::npos;
}

}  // namespace enmap
