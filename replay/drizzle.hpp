#pragma once
// replay/ Drizzle migrations: reads a drizzle-kit folder (meta/_journal.json + <tag>.sql) and
// applies it the way drizzle-orm's pg migrator does, so the bot's own migrate() finds nothing to do.

#include <cstdint>
#include <filesystem>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace replay {

/// One journal entry with its file.
struct DrizzleMigration {
    std::string tag;                      // e.g. "0000_init"
    std::int64_t when = 0;                // journal "when": created_at in __drizzle_migrations
    std::string hash;                     // lowercase hex SHA-256 of the file's bytes
    std::vector<std::string> statements;  // the file split on "--> statement-breakpoint"
    std::filesystem::path file;
};

/// A row added to drizzle.__drizzle_migrations.
struct DrizzleRow {
    std::int64_t id = 0;
    std::string hash;
    std::int64_t created_at = 0;
};

/// Reads and checks the folder. Throws enmap::InputError naming the journal or file at fault.
std::vector<DrizzleMigration> read_drizzle_folder(const std::filesystem::path& dir);

/// A journal entry that drizzle-orm's migrate() would skip on a database: no row of
/// drizzle.__drizzle_migrations records it (by hash or created_at), and its `when` is not later
/// than the created_at of the row migrate() compares with (the newest; drizzle-orm issues 5316, 5769).
struct DrizzleSkip {
    std::string tag;
    std::int64_t when = 0;
    std::int64_t newest = 0;  // that row's created_at
};

/// The entries migrate() would skip on the database of `tx` (none when it has no migrations table).
std::vector<DrizzleSkip> drizzle_skip_hazards(pqxx::transaction_base& tx,
                                              const std::vector<DrizzleMigration>& migrations);

/// Throws enmap::RefusedError naming every entry drizzle_skip_hazards finds, and how to fix the
/// journal at `journal`; does nothing when there are none.
void refuse_drizzle_skips(const std::vector<DrizzleSkip>& skips, const std::filesystem::path& journal);

/// Refuses (refuse_drizzle_skips) when the folder holds entries migrate() would skip, else creates
/// schema drizzle and its table when missing, then applies, in journal order, every entry
/// whose `when` is later than the newest recorded created_at, inserting its (hash, created_at).
/// Returns the rows added. SQL errors propagate as pqxx exceptions.
std::vector<DrizzleRow> apply_drizzle(pqxx::transaction_base& tx,
                                      const std::vector<DrizzleMigration>& migrations,
                                      const std::filesystem::path& journal = {});

}  // namespace replay
