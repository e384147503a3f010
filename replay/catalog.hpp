#pragma once
// replay/ the PostgreSQL catalog as replay and rollback see it: the objects in user schemas
// (schemas, relations, types, functions, extensions), their diff across a module, and a fingerprint.

#include <cstdint>
#include <pqxx/transaction_base>
#include <string>
#include <vector>

namespace replay {

/// One catalog object outside the system schemas and enmap_migrate.
struct CatalogObject {
    std::string
        kind;  // schema, table, view, materialized view, sequence, index, type, function, extension, ...
    std::string schema;    // its schema (the schema itself for kind "schema", empty for extensions)
    std::string name;      // its plain name
    std::string identity;  // the name PostgreSQL takes to drop it: regclass, regprocedure, regtype text
    std::uint32_t oid = 0;
};

/// Every object in user schemas, ordered by oid (creation order, as far as PostgreSQL tells).
/// Objects that belong to an extension are represented by the extension.
std::vector<CatalogObject> catalog_objects(pqxx::transaction_base& tx);

/// The objects of `after` not in `before`, in creation (oid) order.
std::vector<CatalogObject> catalog_diff(const std::vector<CatalogObject>& before,
                                        const std::vector<CatalogObject>& after);

/// SHA-256 over the sorted descriptions of every object and every relation column (name, type,
/// not null), without oids: equal catalogs give equal fingerprints across drops and re-creates.
/// Rollback compares it with the one a run recorded before it began.
std::string catalog_fingerprint(pqxx::transaction_base& tx);

}  // namespace replay
