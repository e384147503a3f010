#pragma once
// replay/ COPY in PostgreSQL's binary format: (text key, jsonb value) rows as binary COPY tuples,
// and a stream of such tuples sent into a table through libpq in large writes. Binary tuples cost
// the server no line splitting or unescaping (jsonb_recv parses the same text jsonb_in does), and
// the client no escaping; docs/BENCHMARKS.md (Replay) measures the difference.

#include <pqxx/dbtransaction>
#include <string>
#include <string_view>

#include "replay/source.hpp"

struct pg_conn;  // libpq's PGconn

namespace replay {

/// Appends one row as a binary COPY tuple: two fields, the key (text) and the value (jsonb:
/// version byte 1, then the JSON text). Throws enmap::InputError for a key or value over 1 GiB.
void append_copy_tuple(std::string& out, std::string_view key, std::string_view value_json);

/// Calls `callback` with (key, value JSON) for each whole tuple at the start of `data`, as written
/// by append_copy_tuple; returns the bytes consumed (a partial tuple at the end is left for the
/// next call). Throws enmap::Error when the bytes are not such tuples.
std::size_t parse_copy_tuples(std::string_view data, const RowCallback& callback);

/// One `COPY ... FROM STDIN (FORMAT binary)` on a transaction's connection: sends the header at
/// construction, buffers writes into large CopyData messages, and the trailer at finish(). A
/// CopyIn destroyed before finish() aborts the COPY, leaving the connection usable.
class CopyIn {
public:
    /// Starts COPY into `table` (quoted here) with `columns` (already quoted, comma-separated);
    /// `freeze` adds FREEZE (the table must be created in the current subtransaction). Throws
    /// pqxx errors.
    CopyIn(pqxx::dbtransaction& tx, const std::string& table, const std::string& columns, bool freeze);
    ~CopyIn();
    CopyIn(const CopyIn&) = delete;
    CopyIn& operator=(const CopyIn&) = delete;

    /// Appends tuple bytes (whole tuples or pieces of them). Throws pqxx::broken_connection when
    /// the connection is lost.
    void write(std::string_view bytes);
    /// Appends one row as a tuple.
    void row(std::string_view key, std::string_view value_json);
    /// Sends the trailer and ends the COPY; returns the rows PostgreSQL reports. Throws
    /// pqxx::broken_connection when the connection was lost, pqxx::sql_error when PostgreSQL
    /// refused the data.
    std::uint64_t finish();

private:
    void flush();
    void fail(const char* what);

    ::pg_conn* m_conn;
    std::string m_statement;
    std::string m_buffer;
    bool m_open = true;
};

}  // namespace replay
