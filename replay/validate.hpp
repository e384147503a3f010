#pragma once
// replay/ validation: every raw_ table against the source, counts first, then key by key. The
// table is read back as hashtextextended(key), hashtextextended(value::text) (jsonb's own
// printing); the source's canonical JSON is turned into that same jsonb text (json_text.hpp) and
// hashed alike (pg_hash.hpp), so nothing jsonb normalizes can raise an alarm while any changed
// byte of a key or value does (short of a 64-bit hash collision).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

#include "replay/source.hpp"

namespace replay {

/// A table's row count and order-independent checksum: the sum, mod 2^64, of
/// hashtextextended(key TAB jsonb text of the value) over its rows.
struct TableChecksum {
    std::uint64_t rows = 0;
    std::uint64_t sum = 0;
    /// Adds one row given as key and canonical JSON value; throws enmap::InputError on bad JSON.
    void add(std::string_view key, std::string_view value_json);
};

/// The SQL of an order-independent checksum over the rows of a FROM clause: the sum, mod 2^64,
/// of hashtextextended(`row_text`, 0), as unsigned decimal text.
std::string checksum_sql(const std::string& row_text);

/// The row text validation checksums a raw_ table by: key, TAB, jsonb's printing of the value.
inline constexpr const char* k_raw_row_text = "key || E'\\t' || value::text";

/// PostgreSQL's side of one validated table: its oid, rows and checksum as validation read them.
struct ServerChecksum {
    std::uint32_t oid = 0;
    std::uint64_t rows = 0;
    std::uint64_t sum = 0;
};

/// One raw_ table and the enmap it should hold.
struct TableToValidate {
    std::string enmap;
    std::string table;
};

/// One difference found, for the report.
struct Difference {
    std::string table;
    std::string key;
    std::string kind;      // missing (in the source, not in Postgres), extra, changed
    std::string actual;    // the value in Postgres, for extra and changed
    std::string expected;  // the source's value (as jsonb prints it), for changed
    std::string path;      // the first JSON path where they differ ($.a.b[2]), for changed
};

/// The outcome of a validation.
struct ValidationReport {
    bool ok = true;
    std::uint64_t tables = 0;
    std::uint64_t rows = 0;
    std::uint64_t missing = 0;
    std::uint64_t extra = 0;
    std::uint64_t changed = 0;
    std::vector<std::string> count_mismatches;  // "raw_x: 10 rows, the source has 11"
    std::vector<Difference> samples;            // up to 10 per table
    std::vector<ServerChecksum> checksums;      // one per validated table, as PostgreSQL read it
    double seconds = 0;
    /// As JSON for reports and events.
    [[nodiscard]] nlohmann::json to_json() const;
    /// A multi-line text naming every count mismatch and each sample difference.
    [[nodiscard]] std::string describe() const;
};

/// The first JSON path where two JSON texts differ: "$" for the whole value, "$.xp", "$.a[2]",
/// "$[\"odd key\"]"; empty when they are equal or one does not parse.
std::string first_difference(std::string_view a, std::string_view b);

/// A committed run, as the ledger has it, with what later commands did to it.
struct LedgerRun {
    std::int64_t id = 0;
    std::string source_id;        // the snapshot id (64 hex digits), or the digest of a JSON-lines file
    bool rehearsal = false;       // made by `rehearse` (see is_rehearsal_run)
    std::string cleanup_archive;  // set when cleanup dropped its raw_ tables: the archive it wrote
    std::string cleaned_at;
};

/// What validate needs to know of the database before it reads anything.
struct ValidateTarget {
    std::optional<LedgerRun> newest;  // the newest committed run
    bool go_live = false;             // some committed run is not a rehearsal: never suggest a rollback
};

/// Reads the ledger of the database (read-only). Throws enmap::DatabaseError.
ValidateTarget read_validate_target(const std::string& database_url);

/// Whether a run was a rehearsal: the one place that decides it (today: `rehearse` recorded an
/// action for it; or the ledger's `kind` column, where there is one, says so). Throws pqxx errors.
bool is_rehearsal_run(pqxx::transaction_base& tx, std::int64_t run_id);

/// Compares each table with the source (and raw_internal_autonum with the counters when
/// `autonum` is set: `counters`, else the source's): first a count and an order-independent checksum on both
/// sides at once; only when they differ, key by key in buckets of at most 2M rows (32 MB per side), naming up
/// to 10 keys per kind. Throws pqxx errors.
ValidationReport validate_tables(pqxx::transaction_base& tx, Source& source,
                                 const std::vector<TableToValidate>& tables, bool autonum,
                                 const std::vector<AutonumRow>* counters = nullptr);

}  // namespace replay
