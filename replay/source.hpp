#pragma once
// replay/ sources: where the rows to replay come from. The engine sees only this interface, so a
// snapshot (materialized and decoded by snapshot/ and enmap/) and a JSON-lines dump plug in alike.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "enmap/decode.hpp"

namespace replay {

/// One enmap as the source holds it, after decoding.
struct SourceTable {
    std::string enmap_name;              // the enmap's name as stored (e.g. "guildSettings")
    std::uint64_t rows = 0;              // stored keys
    std::string digest;                  // sha256 hex of the canonical rows (see Source::table_digest_rule)
    std::string encoding;                // detected value encoding, for the report; may be empty
    enmap::LossyCounts lossy;            // lossy-but-standard conversions made while decoding
    std::vector<std::string> long_keys;  // the first keys longer than k_max_key_bytes (as decoded)
    std::uint64_t long_key_count = 0;    // how many keys are longer than k_max_key_bytes
};

/// The longest key, in UTF-8 bytes, that always fits a PostgreSQL btree index entry (the raw_
/// tables' primary key) with the default 8 KiB pages: btree's limit of 2704 bytes per index tuple,
/// less its 8-byte tuple header and the key's 4-byte varlena header. PostgreSQL may compress a
/// longer key into an entry, but whether it fits then depends on the bytes; preflight refuses
/// anything longer, before any SQL runs (docs/replay.md).
inline constexpr std::size_t k_max_key_bytes = 2704 - 8 - 4;

/// Counts `key` in `table.long_keys` / `long_key_count` when it is longer than k_max_key_bytes.
void note_key_size(SourceTable& table, std::string_view key);

/// Throws enmap::InputError naming every table and (shortened) key longer than k_max_key_bytes;
/// does nothing when there is none.
void throw_if_long_keys(const std::vector<SourceTable>& tables);

/// One autonum counter (the internal::autonum table).
struct AutonumRow {
    std::string enmap;
    std::int64_t lastnum = 0;
};

/// Where a snapshot's data was captured (its manifest's "source", "host" and "time").
struct SourceOrigin {
    std::string database;  // the captured file or folder
    std::string host;
    std::string time;  // UTC, ISO 8601 with microseconds: sorts as text
};

/// A policy violation at a table and key.
struct SourceViolation {
    std::string table;
    std::string key;
    enmap::Violation violation;
};

/// Receives one row: the key (UTF-8 text) and the value's canonical JSON text.
using RowCallback = std::function<void(std::string_view key, std::string_view value_json)>;

/// Receives whole rows as binary COPY tuples (replay/copy.hpp), and how many rows they hold.
using TupleCallback = std::function<void(std::string_view tuples, std::uint64_t rows)>;

/// The data to replay. prepare() decodes everything once (preflight); for_each_row() and
/// for_each_tuple_chunk() stream one table again for loading and validation, with bounded memory.
class Source {
public:
    virtual ~Source() = default;
    /// Decodes every row under the policies; gathers violations instead of stopping. Throws
    /// enmap::InputError (malformed input) or enmap::StoreError.
    virtual void prepare(const enmap::DecodeOptions& options) = 0;
    /// A stable id of the data: the snapshot id, or "jsonl:<sha256 over the table digests>".
    [[nodiscard]] virtual std::string id() const = 0;
    /// Where the data came from, for messages (a snapshot ref or a file path).
    [[nodiscard]] virtual std::string description() const = 0;
    /// The enmaps, in the source's order; valid after prepare().
    [[nodiscard]] virtual const std::vector<SourceTable>& tables() const = 0;
    /// Where the data was captured, when the source knows (a snapshot); valid after prepare().
    [[nodiscard]] virtual std::optional<SourceOrigin> origin() const { return std::nullopt; }
    /// The autonum counters; valid after prepare().
    [[nodiscard]] virtual const std::vector<AutonumRow>& autonum() const = 0;
    /// Every policy violation found by prepare(), all of them.
    [[nodiscard]] virtual const std::vector<SourceViolation>& violations() const = 0;
    /// Streams one table's rows (key, canonical JSON value) in the source's order.
    virtual void for_each_row(const std::string& enmap_name, const RowCallback& callback) = 0;
    /// Streams one table's rows as binary COPY tuples, in pieces of about 1 MiB, in the same order.
    /// The default builds them from for_each_row; a source that spooled them reads them back.
    virtual void for_each_tuple_chunk(const std::string& enmap_name, const TupleCallback& callback);
};

/// Throws enmap::PolicyError listing every violation (table/key at path: detail) with the flag
/// that would let the data through; does nothing when there are none.
void throw_if_violations(const std::vector<SourceViolation>& violations);

}  // namespace replay
