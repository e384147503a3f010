#include "snapshot/summary.hpp"

#include "enmap/database.hpp"
#include "enmap/summary.hpp"

namespace snapshot {

nlohmann::json summarize_enmap(const std::filesystem::path& db_copy) {
    enmap::Database database(db_copy);
    return enmap::summarize(database).to_json();
}

}  // namespace snapshot
