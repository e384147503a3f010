#pragma once
// Helpers for the replay tests: writing plan folders and JSON-lines sources, querying the target.

#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <string>

namespace replay_test {

/// Writes `text` to `path`, creating parent folders.
inline void write_file(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << text;
}

/// The first column of the first row of `sql` as text ("" for NULL).
inline std::string query_value(const std::string& url, const std::string& sql) {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    auto r = tx.exec1(sql);
    return r[0].is_null() ? std::string() : std::string(r[0].c_str());
}

/// Number of relations in user schemas other than enmap_migrate (tables, views, sequences, indexes).
inline long user_relations(const std::string& url) {
    return std::stol(query_value(
        url,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'enmap_migrate') "
        "AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'"));
}

/// Every user table (raw_, normalized, Drizzle's) -> "rows:md5 of its rows' text in order": two
/// databases holding the same data have equal maps.
inline std::map<std::string, std::string> digests(const std::string& url) {
    pqxx::connection conn(url);
    pqxx::read_transaction tx(conn);
    std::map<std::string, std::string> out;
    for (const auto& row :
         tx.exec("SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') "
                 "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'enmap_migrate') "
                 "AND n.nspname NOT LIKE 'pg\\_%'")) {
        std::string table = row[0].c_str();
        out[table] =
            tx.exec1(
                  "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') "
                  "FROM " +
                  table + " t")[0]
                .c_str();
    }
    return out;
}

}  // namespace replay_test
