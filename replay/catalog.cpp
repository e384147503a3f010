#include "replay/catalog.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <set>

#include "replay/digest.hpp"

namespace replay {

namespace {

// Schemas that belong to PostgreSQL itself or to this tool's ledger.
constexpr const char* k_user_schema =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'enmap_migrate') "
    "AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'";

std::string not_extension_member(const std::string& classid, const std::string& oid) {
    return "NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '" + classid +
           "'::regclass AND d.objid = " + oid + " AND d.deptype = 'e')";
}

std::string objects_query() {
    std::string user = k_user_schema;
    return "SELECT 'schema', n.nspname, n.nspname, quote_ident(n.nspname), n.oid::bigint FROM pg_namespace n "
           "WHERE " +
           user + " AND n.nspname <> 'public' AND " + not_extension_member("pg_namespace", "n.oid") +
           " UNION ALL "
           "SELECT CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' "
           "WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN "
           "'index' "
           "WHEN 'f' THEN 'foreign table' WHEN 'c' THEN 'type' END, "
           "n.nspname, c.relname, c.oid::regclass::text, c.oid::bigint FROM pg_class c "
           "JOIN pg_namespace n ON n.oid = c.relnamespace "
           "WHERE " +
           user + " AND c.relkind IN ('r','p','v','m','S','i','I','f','c') AND " +
           not_extension_member("pg_class", "c.oid") +
           " UNION ALL "
           "SELECT 'type', n.nspname, t.typname, t.oid::regtype::text, t.oid::bigint FROM pg_type t "
           "JOIN pg_namespace n ON n.oid = t.typnamespace "
           "WHERE " +
           user + " AND t.typtype IN ('b','d','e','r','m') AND t.typcategory <> 'A' AND " +
           not_extension_member("pg_type", "t.oid") +
           " UNION ALL "
           "SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, "
           "n.nspname, p.proname, p.oid::regprocedure::text, p.oid::bigint FROM pg_proc p "
           "JOIN pg_namespace n ON n.oid = p.pronamespace "
           "WHERE " +
           user + " AND " + not_extension_member("pg_proc", "p.oid") +
           " UNION ALL "
           "SELECT 'extension', '', e.extname, quote_ident(e.extname), e.oid::bigint FROM pg_extension e "
           "WHERE e.extname <> 'plpgsql' "
           "ORDER BY 5";
}

}  // namespace

std::vector<CatalogObject> catalog_objects(pqxx::transaction_base& tx) {
    std::vector<CatalogObject> out;
    for (const auto& row : tx.exec(objects_query())) {
        CatalogObject o;
        o.kind = row[0].c_str();
        o.schema = row[1].c_str();
        o.name = row[2].c_str();
        o.identity = row[3].c_str();
        o.oid = static_cast<std::uint32_t>(row[4].as<std::int64_t>());
        out.push_back(std::move(o));
    }
    return out;
}

std::vector<CatalogObject> catalog_diff(const std::vector<CatalogObject>& before,
                                        const std::vector<CatalogObject>& after) {
    std::set<std::pair<std::string, std::uint32_t>> seen;
    for (const auto& o : before) {
        seen.emplace(o.kind, o.oid);
    }
    std::vector<CatalogObject> out;
    for (const auto& o : after) {
        if (seen.count({o.kind, o.oid}) == 0) {
            out.push_back(o);
        }
    }
    return out;
}

std::string catalog_fingerprint(pqxx::transaction_base& tx) {
    std::vector<std::string> lines;
    for (const auto& o : catalog_objects(tx)) {
        lines.push_back(o.kind + " " + o.identity);
    }
    std::string user = k_user_schema;
    for (const auto& row : tx.exec(
             "SELECT c.oid::regclass::text || '.' || quote_ident(a.attname) || ' ' || "
             "format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END "
             "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = "
             "c.relnamespace "
             "WHERE " +
             user + " AND c.relkind IN ('r','p','v','m','f','c') AND a.attnum > 0 AND NOT a.attisdropped")) {
        lines.emplace_back(std::string("column ") + row[0].c_str());
    }
    std::sort(lines.begin(), lines.end());
    Digest d("sha256");
    for (const auto& l : lines) {
        d.update(l);
        d.update("\n");
    }
    return d.hex_final();
}

}  // namespace replay
