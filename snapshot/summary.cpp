#include "snapshot/summary.hpp"

#include "enmap/database.hpp"
#include "enmap/summary.hpp"

namespace snapshot {

nlohmann::json summarize_enmap(const std::filesystem::path& db_copy) {
    enmap::Database database(db_copy);
    enmap::Summary summary = enmap::summarize(database);
    // Keyed by table name, so that `snapshot diff` and `show` compare and print them directly.
    nlohmann::json tables = nlohmann::json::object();
    for (const auto& table : summary.tables) {
        nlohmann::json entry = table.to_json();
        entry.erase("name");
        entry["digest"] = summary.digest_version;
        tables[table.name] = std::move(entry);
    }
    if (!summary.autonum.empty()) {
        nlohmann::json counters = nlohmann::json::object();
        for (const auto& counter : summary.autonum) {
            counters[counter.enmap] = counter.lastnum;
        }
        tables["internal::autonum"] = {{"counters", counters}};
    }
    for (const auto& name : summary.change_tables) {
        tables[name] = {{"journal", true}};
    }
    return tables;
}

}  // namespace snapshot
