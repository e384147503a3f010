#include "analyze/analyze.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>

#include "analyze/profile.hpp"
#include "enmap/error.hpp"
#include "enmap/export_file.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace analyze {

namespace {

constexpr std::uint64_t k_progress_every = 4096;

// A snowflake found in another table's keys means the same id; a small integer may match by
// chance, so integers need nearly all their values found.
constexpr double k_min_share_ids = 0.05;
constexpr double k_min_share_integers = 0.9;
constexpr double k_foreign_key_share = 0.99;

// Whether a member name names the table: `reminderId`, `reminder_ids` or `reminder` for `reminders`.
bool names_table(const std::string& member, const std::string& table) {
    auto lower = [](const std::string& text) {
        std::string out;
        for (char c : text) {
            if (c != '_' && c != '-') {
                out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
        }
        return out;
    };
    std::string name = lower(member);
    std::string target = lower(table);
    for (const char* suffix : {"ids", "id", "s"}) {
        std::string_view sv(suffix);
        if (name.size() > sv.size() && name.compare(name.size() - sv.size(), sv.size(), sv) == 0) {
            name.resize(name.size() - sv.size());
            break;
        }
    }
    if (target.size() > 1 && target.back() == 's') {
        target.pop_back();
    }
    return !name.empty() && name == target;
}

nlohmann::json relationships(const std::vector<std::unique_ptr<TableProfile>>& profiles,
                             const nlohmann::json& tables) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t t = 0; t < profiles.size(); ++t) {
        for (const auto& c : profiles[t]->candidates()) {
            if (c.sample == nullptr || c.sample->empty()) {
                continue;
            }
            for (std::size_t u = 0; u < profiles.size(); ++u) {
                const std::vector<std::uint64_t>* keys = profiles[u]->key_index();
                if ((c.own_key && u == t) || keys == nullptr || keys->empty()) {
                    continue;
                }
                std::uint64_t found = 0;
                for (std::uint64_t h : *c.sample) {
                    found += std::binary_search(keys->begin(), keys->end(), h) ? 1 : 0;
                }
                double share = static_cast<double>(found) / static_cast<double>(c.sample->size());
                const std::string dominant = tables[u]["keys"].value("dominant", "");
                bool integer_keys = dominant == "integer";
                // small integers match by chance: a field must also be named after the table
                if (found == 0 || share < (c.integers ? k_min_share_integers : k_min_share_ids) ||
                    (c.integers &&
                     (!integer_keys || (!c.own_key && !names_table(c.name, profiles[u]->name()))))) {
                    continue;
                }
                nlohmann::json from = c.from;
                from["table"] = profiles[t]->name();
                out.push_back({{"from", from},
                               {"to", {{"table", profiles[u]->name()}}},
                               {"values", c.occurrences},
                               {"sampled", c.sample->size()},
                               {"found", found},
                               {"share", std::round(share * 10000.0) / 10000.0},
                               {"foreign_key_candidate", share >= k_foreign_key_share}});
            }
        }
    }
    return out;
}

fs::path private_temp_dir() {
    static std::atomic<unsigned> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    fs::path dir = fs::temp_directory_path() / ("enmap-migrate-analyze-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(stamp) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    return dir;
}

}  // namespace

nlohmann::json analyze_source(const enmap::Source& source, const std::vector<enmap::AutonumCounter>& autonum,
                              const SourceInfo& info, const AnalyzeOptions& options,
                              const std::vector<std::string>& tables, const ProgressCallback& progress) {
    std::vector<std::string> names = source.select_tables(tables);
    std::size_t key_budget = options.key_index_budget;
    std::vector<std::unique_ptr<TableProfile>> profiles;
    nlohmann::json list = nlohmann::json::array();
    enmap::RawRow row;
    for (const auto& name : names) {
        std::optional<std::int64_t> counter;
        for (const auto& c : autonum) {
            if (c.enmap == name) {
                counter = c.lastnum;
            }
        }
        auto profile = std::make_unique<TableProfile>(name, options, counter, key_budget);
        std::uint64_t total = progress ? source.row_count(name) : 0;
        auto cursor = source.rows(name, enmap::RowOrder::k_storage);
        std::uint64_t done = 0;
        while (cursor->next(row)) {
            profile->add_row(row);
            if (progress && (++done % k_progress_every) == 0) {
                progress(name, done, total);
            }
        }
        profile->finish();
        // The table's shapes now, and then only what relationships need is kept: memory stays
        // bounded by one table's profile, whatever the number of tables.
        list.push_back(profile->to_json());
        profile->release();
        profiles.push_back(std::move(profile));
    }

    nlohmann::json out;
    out["version"] = k_shapes_version;
    out["generator"] = "enmap-migrate analyze";
    out["source"] = {{"kind", info.kind}, {"description", info.description}};
    if (!info.snapshot_id.empty()) {
        out["source"]["snapshot"] = info.snapshot_id;
    }
    out["options"] = {{"examples", options.examples}, {"max_paths", options.max_paths}};
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& c : autonum) {
        counters[c.enmap] = c.lastnum;
    }
    out["autonum"] = counters;
    std::uint64_t rows = 0;
    std::uint64_t edge_cases = 0;
    for (const auto& t : list) {
        rows += t["rows"].get<std::uint64_t>();
        for (const auto& e : t["edge_cases"]) {
            edge_cases += e["count"].get<std::uint64_t>();
        }
    }
    out["relationships"] = relationships(profiles, list);
    out["tables"] = std::move(list);
    out["summary"] = {{"tables", profiles.size()},
                      {"rows", rows},
                      {"edge_cases", edge_cases},
                      {"relationships", out["relationships"].size()}};
    return out;
}

SnapshotFiles::SnapshotFiles(const fs::path& store_path, const std::string& ref) {
    m_dir = private_temp_dir();
    try {
        const fs::path files = m_dir / "files";
        nlohmann::json manifest;
        {
            snapshot::Store store(store_path, snapshot::Store::Access::k_read, "enmap-migrate analyze");
            snapshot::Hash id = store.resolve(ref);
            m_info.snapshot_id = snapshot::to_hex(id);
            manifest = store.read_manifest(id);
            snapshot::MaterializeOptions scratch;
            scratch.durable = false;  // a private copy, read once and removed
            store.materialize(id, files, scratch);
        }
        std::string label =
            manifest.value("label", nlohmann::json()).is_string() ? manifest["label"].get<std::string>() : "";
        m_info.kind = "snapshot";
        m_info.description =
            "snapshot " + m_info.snapshot_id.substr(0, 12) + (label.empty() ? "" : " (" + label + ")");
        if (manifest.value("kind", "") == "export") {
            std::vector<fs::path> paths;
            for (const auto& file : manifest.at("files")) {
                paths.push_back(files / file.at("name").get<std::string>());
            }
            m_source = std::make_unique<enmap::ExportSet>(paths);
        } else {
            auto database = std::make_unique<enmap::Database>(files / "enmap.sqlite");
            m_autonum = database->autonum();
            m_source = std::move(database);
        }
    } catch (...) {
        m_source.reset();
        std::error_code ec;
        fs::remove_all(m_dir, ec);
        throw;
    }
}

SnapshotFiles::~SnapshotFiles() {
    m_source.reset();
    std::error_code ec;
    fs::remove_all(m_dir, ec);
}

}  // namespace analyze
