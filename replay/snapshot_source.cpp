#include "replay/snapshot_source.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>

#include "enmap/database.hpp"
#include "enmap/error.hpp"
#include "enmap/export_file.hpp"
#include "enmap/summary.hpp"
#include "enmap/table_reader.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

fs::path private_temp_dir() {
    static std::atomic<unsigned> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    fs::path dir = fs::temp_directory_path() / ("enmap-migrate-replay-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(stamp) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    return dir;
}

}  // namespace

SnapshotSource::SnapshotSource(fs::path store, std::string ref,
                               std::map<std::string, enmap::Encoding> formats)
    : m_store(std::move(store)), m_ref(std::move(ref)), m_formats(std::move(formats)) {}

SnapshotSource::~SnapshotSource() {
    m_enmap.reset();
    if (!m_dir.empty()) {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
}

void SnapshotSource::prepare(const enmap::DecodeOptions& options) {
    m_options = options;
    nlohmann::json manifest;
    {
        snapshot::Store store(m_store, snapshot::Store::Access::k_read, "enmap-migrate replay");
        snapshot::Hash id = store.resolve(m_ref);
        m_id = snapshot::to_hex(id);
        manifest = store.read_manifest(id);
        m_dir = private_temp_dir();
        spdlog::debug("snapshot {}: materializing into {}", m_id.substr(0, 12), m_dir.string());
        snapshot::MaterializeOptions scratch;
        scratch.durable = false;  // a private scratch copy, read once and removed
        store.materialize(id, m_dir, scratch);
    }
    std::string label =
        manifest.value("label", nlohmann::json()).is_string() ? manifest["label"].get<std::string>() : "";
    m_description = "snapshot " + m_id.substr(0, 12) + (label.empty() ? "" : " (" + label + ")");

    if (manifest.value("kind", "") == "export") {
        std::vector<fs::path> files;
        for (const auto& file : manifest.at("files")) {
            files.push_back(m_dir / file.at("name").get<std::string>());
        }
        m_enmap = std::make_unique<enmap::ExportSet>(files);
    } else {
        auto database = std::make_unique<enmap::Database>(m_dir / "enmap.sqlite");
        for (const auto& counter : database->autonum()) {
            m_autonum.push_back({counter.enmap, counter.lastnum});
        }
        m_enmap = std::move(database);
    }

    enmap::ReadOptions read_options{options, m_formats};
    enmap::ViolationLog log;
    m_tables.clear();
    for (const auto& table : m_enmap->tables()) {
        enmap::TableDecoder decoder(m_description, table, read_options, log);
        enmap::ContentDigest digest;
        auto cursor = m_enmap->rows(table);
        enmap::RawRow raw;
        enmap::DecodedRow row;
        while (cursor->next(raw)) {
            if (decoder.decode(raw, row)) {
                digest.add(row.key, row.value);
            }
        }
        SourceTable t;
        t.enmap_name = table;
        t.rows = decoder.stats().rows;
        t.digest = digest.finish();
        t.encoding = decoder.stats().encoding_label();
        t.lossy = decoder.stats().lossy;
        m_tables.push_back(std::move(t));
    }
    m_violations.clear();
    for (const auto& v : log.listed()) {
        m_violations.push_back({v.table, enmap::display_key(v.key), v.violation});
    }
    if (log.total() > m_violations.size()) {
        // The log lists the first k_listed; say how many more there are rather than dropping them.
        enmap::Violation more{
            enmap::Violation::Kind::k_invalid_text, "$",
            "and " + std::to_string(log.total() - m_violations.size()) + " more violation(s)"};
        m_violations.push_back({"(more)", "", more});
    }
}

void SnapshotSource::for_each_row(const std::string& enmap_name, const RowCallback& callback) {
    if (!m_enmap) {
        throw enmap::Error("SnapshotSource::for_each_row called before prepare()");
    }
    enmap::ReadOptions read_options{m_options, m_formats};
    enmap::ViolationLog log;
    enmap::TableDecoder decoder(m_description, enmap_name, read_options, log);
    auto cursor = m_enmap->rows(enmap_name);
    enmap::RawRow raw;
    enmap::DecodedRow row;
    while (cursor->next(raw)) {
        if (decoder.decode(raw, row)) {
            callback(row.key, row.value);
        }
    }
}

}  // namespace replay
