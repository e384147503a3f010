#include "snapshot/summary.hpp"

#include "enmap/database.hpp"
#include "enmap/page_summary.hpp"
#include "enmap/summary.hpp"

namespace snapshot {

namespace {

// The manifest's "tables": keyed by table name, so that `snapshot diff` and `show` compare and
// print them directly.
nlohmann::json tables_json(const enmap::Summary& summary) {
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

class EnmapPageSummarizer : public PageSummarizer {
public:
    explicit EnmapPageSummarizer(std::unique_ptr<enmap::PageSummary> summary)
        : m_summary(std::move(summary)) {}
    void add(std::uint64_t offset, std::string_view pages) override { m_summary->add(offset, pages); }
    std::optional<nlohmann::json> finish() override {
        auto summary = m_summary->finish();
        if (!summary) {
            return std::nullopt;
        }
        return tables_json(*summary);
    }
    [[nodiscard]] double seconds() const override { return m_summary->seconds_in_add(); }

private:
    std::unique_ptr<enmap::PageSummary> m_summary;
};

}  // namespace

nlohmann::json summarize_enmap(const std::filesystem::path& db_copy) {
    enmap::Database database(db_copy);
    return tables_json(enmap::summarize(database));
}

std::unique_ptr<PageSummarizer> summarize_enmap_pages(const std::filesystem::path& database) {
    // With a -shm or -journal beside it, enmap::Database would read a private copy.
    for (const char* sidecar : {"-wal", "-shm", "-journal"}) {
        if (std::filesystem::exists(database.string() + sidecar)) {
            return nullptr;
        }
    }
    enmap::Database opened(database);
    auto summary = enmap::PageSummary::plan(opened);
    if (!summary) {
        return nullptr;
    }
    return std::make_unique<EnmapPageSummarizer>(std::move(summary));
}

}  // namespace snapshot
