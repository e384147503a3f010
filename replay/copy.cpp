#include "replay/copy.hpp"

#include <libpq-fe.h>

#include <cstring>
#include <pqxx/except>
#include <pqxx/largeobject>

#include "enmap/error.hpp"

namespace replay {

namespace {

constexpr std::size_t k_flush_bytes = 1 << 20;
constexpr std::size_t k_max_field = std::size_t{1} << 30;
// PGCOPY\n\377\r\n\0, flags, header extension length.
constexpr char k_header[19] = {'P',  'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n',
                               '\0', 0,   0,   0,   0,   0,   0,    0,      0};
constexpr char k_trailer[2] = {'\377', '\377'};

// pqxx 6.4 keeps the libpq connection to itself; largeobject hands it to its subclasses.
struct RawConnection : pqxx::largeobject {
    static PGconn* of(const pqxx::dbtransaction& tx) { return raw_connection(tx); }
};

void put_u32(std::string& out, std::uint32_t v) {
    const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                           static_cast<char>(v)};
    out.append(bytes, 4);
}

std::uint32_t get_u32(const char* p) {
    const auto* b = reinterpret_cast<const unsigned char*>(p);
    return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

void append_copy_tuple(std::string& out, std::string_view key, std::string_view value_json) {
    if (key.size() >= k_max_field || value_json.size() >= k_max_field) {
        throw enmap::InputError(
            "a key or value of " + std::to_string(std::max(key.size(), value_json.size())) +
                " bytes is over PostgreSQL's 1 GiB limit for one field",
            "such a row cannot be loaded into PostgreSQL; leave it out of a copy of the data");
    }
    out.push_back('\0');
    out.push_back('\2');
    put_u32(out, static_cast<std::uint32_t>(key.size()));
    out.append(key);
    put_u32(out, static_cast<std::uint32_t>(value_json.size() + 1));
    out.push_back('\1');
    out.append(value_json);
}

std::size_t parse_copy_tuples(std::string_view data, const RowCallback& callback) {
    std::size_t at = 0;
    while (data.size() - at >= 10) {
        const char* p = data.data() + at;
        if (p[0] != '\0' || p[1] != '\2') {
            throw enmap::Error("replay: a spooled row at byte " + std::to_string(at) + " is damaged");
        }
        std::size_t key_size = get_u32(p + 2);
        if (data.size() - at < 10 + key_size) {
            break;
        }
        std::size_t value_size = get_u32(p + 6 + key_size);
        std::size_t total = 10 + key_size + value_size;
        if (value_size == 0 || p[10 + key_size] != '\1') {
            throw enmap::Error("replay: a spooled row at byte " + std::to_string(at) + " is damaged");
        }
        if (data.size() - at < total) {
            break;
        }
        callback(std::string_view(p + 6, key_size), std::string_view(p + 11 + key_size, value_size - 1));
        at += total;
    }
    return at;
}

CopyIn::CopyIn(pqxx::dbtransaction& tx, const std::string& table, const std::string& columns, bool freeze)
    : m_conn(RawConnection::of(tx)) {
    m_statement = "COPY " + tx.quote_name(table) + " (" + columns + ") FROM STDIN WITH (FORMAT binary" +
                  (freeze ? ", FREEZE" : "") + ")";
    tx.exec(m_statement);
    m_buffer.reserve(k_flush_bytes + (k_flush_bytes >> 2));
    m_buffer.append(k_header, sizeof k_header);
}

CopyIn::~CopyIn() {
    if (m_open) {
        // Abandoned (an exception on our side): make the server end the COPY with an error, so the
        // caller can roll back to its savepoint on a connection that is not stuck in COPY mode.
        m_open = false;
        if (PQputCopyEnd(m_conn, "enmap-migrate stopped sending rows") == 1) {
            while (PGresult* r = PQgetResult(m_conn)) {
                PQclear(r);
            }
        }
    }
}

void CopyIn::fail(const char* what) {
    m_open = false;
    std::string message = std::string(what) + ": " + PQerrorMessage(m_conn);
    if (PQstatus(m_conn) == CONNECTION_BAD) {
        throw pqxx::broken_connection(message);
    }
    throw pqxx::sql_error(message, m_statement);
}

void CopyIn::flush() {
    if (m_buffer.empty()) {
        return;
    }
    if (PQputCopyData(m_conn, m_buffer.data(), static_cast<int>(m_buffer.size())) != 1) {
        fail("COPY failed while sending rows");
    }
    m_buffer.clear();
}

void CopyIn::write(std::string_view bytes) {
    if (m_buffer.size() + bytes.size() <= k_flush_bytes) {
        m_buffer.append(bytes);
        return;
    }
    flush();
    while (bytes.size() > k_flush_bytes) {
        // A large piece goes out as it is, in messages of at most 64 MiB.
        std::size_t n = std::min(bytes.size(), std::size_t{64} << 20);
        if (PQputCopyData(m_conn, bytes.data(), static_cast<int>(n)) != 1) {
            fail("COPY failed while sending rows");
        }
        bytes.remove_prefix(n);
    }
    m_buffer.append(bytes);
}

void CopyIn::row(std::string_view key, std::string_view value_json) {
    append_copy_tuple(m_buffer, key, value_json);
    if (m_buffer.size() >= k_flush_bytes) {
        flush();
    }
}

std::uint64_t CopyIn::finish() {
    m_buffer.append(k_trailer, sizeof k_trailer);
    flush();
    m_open = false;
    if (PQputCopyEnd(m_conn, nullptr) != 1) {
        fail("COPY failed at its end");
    }
    std::uint64_t rows = 0;
    std::string error;
    std::string sqlstate;
    while (PGresult* r = PQgetResult(m_conn)) {
        ExecStatusType status = PQresultStatus(r);
        if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
            PQclear(r);
            error = "the COPY did not end";
            break;
        }
        if (status == PGRES_COMMAND_OK) {
            rows = std::strtoull(PQcmdTuples(r), nullptr, 10);
        } else if (error.empty()) {
            error = PQresultErrorMessage(r);
            const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            sqlstate = state != nullptr ? state : "";
        }
        PQclear(r);
    }
    if (!error.empty()) {
        if (PQstatus(m_conn) == CONNECTION_BAD) {
            throw pqxx::broken_connection(error);
        }
        throw pqxx::sql_error(error, m_statement, sqlstate.empty() ? nullptr : sqlstate.c_str());
    }
    return rows;
}

}  // namespace replay
