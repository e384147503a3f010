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

/// Creates schema drizzle and its table when missing, then applies, in journal order, every entry
/// whose `when` is later than the newest recorded created_at, inserting its (hash, created_at).
/// Returns the rows added. SQL errors propagate as pqxx exceptions.
std::vector<DrizzleRow> apply_drizzle(pqxx::transaction_base& tx,
                                      const std::vector<DrizzleMigration>& migrations);

}  // namespace replay
