#include "replay/snapshot_source.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "enmap/database.hpp"
#include "enmap/error.hpp"
#include "enmap/export_file.hpp"
#include "enmap/summary.hpp"
#include "enmap/table_reader.hpp"
#include "replay/store_vfs.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

using Clock = std::chrono::steady_clock;

// The rows of a key range the spool sorts in memory when a table is read back (a few MB).
constexpr std::uint64_t k_rows_per_bucket = 16384;

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr std::string_view k_temp_prefix = "enmap-migrate-replay-";

// Removes the temporary folders of replays that were killed (kill -9, a lost VM) before they could
// remove them: a spool is about the size of the decoded rows. A folder is stale when it is ours and
// the process its name records is gone.
void remove_stale_temp_dirs(const fs::path& temp) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(temp, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind(k_temp_prefix, 0) != 0) {
            continue;
        }
        char* end = nullptr;
        long pid = std::strtol(name.c_str() + k_temp_prefix.size(), &end, 10);
        struct stat st {};
        if (pid <= 0 || end == nullptr || *end != '-' || pid == ::getpid() ||
            ::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
            continue;
        }
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) {
            continue;  // still running (or not ours to ask)
        }
        std::error_code removed;
        fs::remove_all(entry.path(), removed);
        if (!removed) {
            spdlog::info("removed {}, left by an earlier replay (process {}) that was stopped",
                         entry.path().string(), pid);
        }
    }
}

}  // namespace

fs::path private_temp_dir() {
    static std::atomic<unsigned> counter{0};
    auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    remove_stale_temp_dirs(fs::temp_directory_path());
    fs::path dir =
        fs::temp_directory_path() / (std::string(k_temp_prefix) + std::to_string(::getpid()) + "-" +
                                     std::to_string(stamp) + "-" + std::to_string(counter++));
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    return dir;
}

namespace {

// Raw rows handed from the reading thread to the decoding one, copied out of SQLite's buffers.
struct RawBatch : enmap::RawRowBatch {
    static constexpr std::size_t k_bytes = std::size_t{512} * 1024;
    static constexpr std::size_t k_rows = 4096;
    std::size_t table = 0;  // index into the list of tables
    bool last = false;      // the table's last batch
    // Where to cut the table's rows into key ranges for the spool to sort, or null (in order).
    std::shared_ptr<const std::vector<std::string>> boundaries;

    void reset(std::size_t table_index, std::shared_ptr<const std::vector<std::string>> table_boundaries) {
        table = table_index;
        boundaries = std::move(table_boundaries);
        last = false;
        clear();
    }
    [[nodiscard]] bool full() const { return bytes.size() >= k_bytes || rows.size() >= k_rows; }
};

// A bounded hand-over of batches between one reader and one decoder; batches are recycled.
class BatchQueue {
public:
    explicit BatchQueue(std::size_t batches) {
        for (std::size_t i = 0; i < batches; ++i) {
            m_free.push_back(std::make_unique<RawBatch>());
        }
    }
    // The reader: an empty batch, or nullptr once the queue is closed.
    std::unique_ptr<RawBatch> take_free() {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_closed || !m_free.empty(); });
        if (m_closed) {
            return nullptr;
        }
        auto batch = std::move(m_free.front());
        m_free.pop_front();
        return batch;
    }
    void push(std::unique_ptr<RawBatch> batch) {
        std::lock_guard lock(m_mutex);
        m_full.push_back(std::move(batch));
        m_changed.notify_all();
    }
    // The decoder: the next batch; nullptr when the reader finished; rethrows the reader's error.
    std::unique_ptr<RawBatch> pop() {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_done || !m_full.empty(); });
        if (!m_full.empty()) {
            auto batch = std::move(m_full.front());
            m_full.pop_front();
            return batch;
        }
        if (m_error) {
            std::rethrow_exception(m_error);
        }
        return nullptr;
    }
    void give_back(std::unique_ptr<RawBatch> batch) {
        std::lock_guard lock(m_mutex);
        m_free.push_back(std::move(batch));
        m_changed.notify_all();
    }
    // The reader is done (with its error, if any).
    void finish(std::exception_ptr error) {
        std::lock_guard lock(m_mutex);
        m_done = true;
        m_error = std::move(error);
        m_changed.notify_all();
    }
    // The decoder gives up: the reader stops at its next batch.
    void close() {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        m_changed.notify_all();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<std::unique_ptr<RawBatch>> m_free;
    std::deque<std::unique_ptr<RawBatch>> m_full;
    bool m_closed = false;
    bool m_done = false;
    std::exception_ptr m_error;
};

// The manifest's digest of a table when decoding under these options must give the very rows it
// was taken over: the manifest is summarized under --invalid-text=replace --functions=source with
// no --format, so only a --format override, or --functions=drop over a table holding functions,
// can change a row. (Under the error policies, a row that would differ is a violation and the
// replay stops before anything is written.)
struct ManifestTable {
    std::string digest;
    std::uint64_t rows = 0;
};

std::optional<ManifestTable> reusable_digest(const nlohmann::json& manifest, const std::string& table,
                                             const enmap::DecodeOptions& options,
                                             const std::map<std::string, enmap::Encoding>& formats) {
    if (formats.count(table) > 0 || !manifest.contains("tables") || !manifest["tables"].is_object()) {
        return std::nullopt;
    }
    const auto& tables = manifest["tables"];
    auto it = tables.find(table);
    if (it == tables.end() || !it->is_object() ||
        it->value("digest", "") != enmap::k_content_digest_version || !it->contains("sha256") ||
        !(*it)["sha256"].is_string() || !it->contains("rows") || !(*it)["rows"].is_number_unsigned()) {
        return std::nullopt;
    }
    if (options.functions == enmap::FunctionPolicy::k_drop) {
        const auto lossy = it->value("lossy", nlohmann::json::object());
        if (!lossy.is_object() || lossy.value("functions_kept", 0) != 0) {
            return std::nullopt;
        }
    }
    return ManifestTable{(*it)["sha256"].get<std::string>(), (*it)["rows"].get<std::uint64_t>()};
}

// The table's row count in the manifest, or 0: the size of the key ranges to sort it in.
std::uint64_t manifest_rows(const nlohmann::json& manifest, const std::string& table) {
    if (!manifest.contains("tables") || !manifest["tables"].is_object()) {
        return 0;
    }
    auto it = manifest["tables"].find(table);
    if (it == manifest["tables"].end() || !it->is_object() || !it->contains("rows") ||
        !(*it)["rows"].is_number_unsigned()) {
        return 0;
    }
    return (*it)["rows"].get<std::uint64_t>();
}

}  // namespace

SnapshotSource::SnapshotSource(fs::path store, std::string ref,
                               std::map<std::string, enmap::Encoding> formats)
    : m_store(std::move(store)), m_ref(std::move(ref)), m_formats(std::move(formats)) {}

SnapshotSource::~SnapshotSource() {
    m_enmap.reset();
    m_spool.reset();
    if (!m_dir.empty()) {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
}

void SnapshotSource::prepare(const enmap::DecodeOptions& options) {
    if (m_prepared && options.invalid_text == m_options.invalid_text &&
        options.functions == m_options.functions && options.max_depth == m_options.max_depth &&
        options.max_sparse_length == m_options.max_sparse_length) {
        return;  // a snapshot does not change: the spool already holds these rows (rehearse validates after
                 // replay)
    }
    m_prepared = false;
    m_options = options;
    auto start = Clock::now();
    m_spool.reset();
    if (!m_dir.empty()) {
        std::error_code ec;
        fs::remove_all(m_dir, ec);
    }
    m_dir = private_temp_dir();
    const fs::path files = m_dir / "files";
    // The store stays open (a shared lock) while its database is read through the VFS.
    snapshot::Store store(m_store, snapshot::Store::Access::k_read, "enmap-migrate replay");
    snapshot::Hash id = store.resolve(m_ref);
    m_id = snapshot::to_hex(id);
    nlohmann::json manifest = store.read_manifest(id);
    std::string label =
        manifest.value("label", nlohmann::json()).is_string() ? manifest["label"].get<std::string>() : "";
    m_description = "snapshot " + m_id.substr(0, 12) + (label.empty() ? "" : " (" + label + ")");
    // An --export snapshot's source is the list of its files: compared as its JSON text.
    auto text = [&manifest](const char* name) {
        auto it = manifest.find(name);
        if (it == manifest.end() || it->is_null()) {
            return std::string();
        }
        return it->is_string() ? it->get<std::string>() : it->dump();
    };
    m_origin = SourceOrigin{text("source"), text("host"), text("time")};
    std::unique_ptr<StoreFile> store_file;
    const nlohmann::json* served = StoreFile::servable(manifest);
    if (served != nullptr) {
        // A lone database file, its tables read in storage order: SQLite reads its pages straight
        // out of the store.
        store_file = std::make_unique<StoreFile>(store, *served);
        spdlog::debug("{}: reading {} through the store's VFS", m_description, store_file->name());
    } else {
        // A -wal to apply, or export files: write the files out first.
        spdlog::debug("{}: materializing into {}", m_description, files.string());
        snapshot::MaterializeOptions scratch;
        scratch.durable = false;  // a private scratch copy, read once and removed
        store.materialize(id, files, scratch);
    }
    m_timings.materialize = since(start);
    // Closes the database before the VFS file and the store go, however prepare() ends; the
    // spool holds the rows once it returns.
    struct CloseDatabase {
        std::unique_ptr<enmap::Source>& database;
        ~CloseDatabase() { database.reset(); }
    } close_database{m_enmap};

    start = Clock::now();
    try {
        const enmap::Database* database = nullptr;
        if (manifest.value("kind", "") == "export") {
            std::vector<fs::path> paths;
            for (const auto& file : manifest.at("files")) {
                paths.push_back(files / file.at("name").get<std::string>());
            }
            m_enmap = std::make_unique<enmap::ExportSet>(paths);
        } else {
            auto opened = store_file ? std::make_unique<enmap::Database>(
                                           enmap::VfsFile{store_file->name(), StoreFile::vfs_name()})
                                     : std::make_unique<enmap::Database>(files / "enmap.sqlite");
            m_autonum.clear();
            for (const auto& counter : opened->autonum()) {
                m_autonum.push_back({counter.enmap, counter.lastnum});
            }
            database = opened.get();
            m_enmap = std::move(opened);
        }
        decode_all(manifest, database);
    } catch (const enmap::Error&) {
        if (store_file && !store_file->read_error().empty()) {
            // SQLite only saw an I/O error; the store said what was wrong.
            throw enmap::StoreError(m_description + ": " + store_file->read_error(),
                                    "run `enmap-migrate snapshot verify`");
        }
        throw;
    }
    m_timings.decode = since(start);
    spdlog::debug("{}: {} in {:.2f} s, read, decoded and spooled in {:.2f} s{}", m_description,
                  store_file ? "opened" : "materialized", m_timings.materialize, m_timings.decode,
                  store_file ? " (" + std::to_string(store_file->chunks_read()) + " pages read)" : "");
    std::error_code ec;
    fs::remove_all(files, ec);
    m_prepared = true;
}

void SnapshotSource::decode_all(const nlohmann::json& manifest, const enmap::Database* database) {
    const std::vector<std::string> names = m_enmap->tables();
    // A database's tables are read in storage order (sequential, where key order costs a random
    // page per row; the digest does not depend on the order), and the manifest's digest stands
    // where the options leave every row as the manifest summarized it.
    std::vector<std::optional<ManifestTable>> reuse;
    m_from_manifest.clear();
    for (const auto& name : names) {
        reuse.push_back(database != nullptr ? reusable_digest(manifest, name, m_options, m_formats)
                                            : std::nullopt);
        if (reuse.back()) {
            m_from_manifest.push_back(name);
        }
    }

    m_spool.reset();
    m_spool = std::make_unique<Spool>(m_dir / "rows.spool");
    m_segments.clear();
    m_tables.clear();
    BatchQueue queue(4);
    std::thread reader([&] {
        try {
            for (std::size_t i = 0; i < names.size(); ++i) {
                // Read in storage order, sent in key order: PostgreSQL builds the primary key from
                // sorted rows 2-3x faster (docs/replay.md).
                std::shared_ptr<const std::vector<std::string>> boundaries;
                std::unique_ptr<enmap::RowCursor> cursor;
                if (database != nullptr) {
                    auto cut_start = Clock::now();
                    std::uint64_t rows = manifest_rows(manifest, names[i]);
                    if (auto b = database->key_boundaries(names[i], rows, k_rows_per_bucket)) {
                        boundaries = std::make_shared<const std::vector<std::string>>(std::move(*b));
                    }
                    spdlog::debug("{}: table '{}': {} in {:.3f} s", m_description, names[i],
                                  boundaries ? "cut into " + std::to_string(boundaries->size() + 1) +
                                                   " key ranges to sort, from its key index"
                                             : std::string("sent in storage order (no key index to read)"),
                                  since(cut_start));
                    cursor = database->rows_in_storage_order(names[i]);
                } else {
                    cursor = m_enmap->rows(names[i]);
                }
                auto batch = queue.take_free();
                if (!batch) {
                    return;
                }
                batch->reset(i, boundaries);
                enmap::RawRow raw;
                while (cursor->next(raw)) {
                    batch->add(raw);
                    if (batch->full()) {
                        queue.push(std::move(batch));
                        batch = queue.take_free();
                        if (!batch) {
                            return;
                        }
                        batch->reset(i, boundaries);
                    }
                }
                batch->last = true;
                queue.push(std::move(batch));
            }
            queue.finish(nullptr);
        } catch (...) {
            queue.finish(std::current_exception());
        }
    });

    try {
        enmap::ReadOptions read_options{m_options, m_formats};
        enmap::ViolationLog log;
        enmap::DecodedRow row;
        std::map<std::string, std::vector<std::string>> replaced;  // key as decoded -> its stored bytes
        for (std::size_t i = 0; i < names.size(); ++i) {
            enmap::TableDecoder decoder(m_description, names[i], read_options, log);
            std::optional<enmap::ContentDigest> digest;
            if (!reuse[i]) {
                digest.emplace();
            }
            SourceTable sizes;
            bool last = false;
            bool first = true;
            while (!last) {
                auto batch = queue.pop();
                if (!batch) {
                    throw enmap::Error("replay: the rows of table '" + names[i] + "' ended early");
                }
                if (first && batch->boundaries) {
                    m_spool->begin_sorted(*batch->boundaries);
                }
                first = false;
                for (const auto& r : batch->rows) {
                    const enmap::RawRow raw = batch->raw(r);
                    if (decoder.decode(raw, row)) {
                        if (digest) {
                            digest->add(row.key, row.value);
                        }
                        note_key_size(sizes, row.key);
                        if (row.key != raw.key) {
                            replaced[row.key].emplace_back(raw.key);
                        }
                        m_spool->add(row.key, row.value);
                    }
                }
                last = batch->last;
                queue.give_back(std::move(batch));
            }
            SourceTable t;
            t.enmap_name = names[i];
            t.long_keys = std::move(sizes.long_keys);
            t.long_key_count = sizes.long_key_count;
            t.rows = decoder.stats().rows;
            t.encoding = decoder.stats().encoding_label();
            t.lossy = decoder.stats().lossy;
            if (digest) {
                t.digest = digest->finish();
            } else {
                t.digest = reuse[i]->digest;
                if (reuse[i]->rows != t.rows) {
                    throw enmap::StoreError(m_description + ": table '" + names[i] + "' holds " +
                                                std::to_string(t.rows) + " rows, but its manifest says " +
                                                std::to_string(reuse[i]->rows),
                                            "run `enmap-migrate snapshot verify`");
                }
            }
            m_segments[names[i]] = m_spool->end_segment();
            check_replaced_keys(names[i], m_segments[names[i]], replaced);
            replaced.clear();
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
    } catch (...) {
        queue.close();
        reader.join();
        throw;
    }
    reader.join();
}

// Under --invalid-text=replace, two stored keys can decode to one key (or a replaced key to one
// stored as it is): PostgreSQL's primary key would refuse it with the decoded key only. Names the
// stored keys instead, before any SQL runs.
void SnapshotSource::check_replaced_keys(
    const std::string& table, const Spool::Segment& rows,
    const std::map<std::string, std::vector<std::string>>& replaced) const {
    if (replaced.empty()) {
        return;
    }
    std::map<std::string, std::size_t> seen;
    m_spool->for_each_row(rows, [&](std::string_view key, std::string_view) {
        auto it = replaced.find(std::string(key));
        if (it != replaced.end()) {
            ++seen[it->first];
        }
    });
    std::string list;
    std::size_t collisions = 0;
    for (const auto& [key, count] : seen) {
        if (count < 2) {
            continue;
        }
        ++collisions;
        if (collisions > 10) {
            continue;
        }
        std::vector<std::string> originals = replaced.at(key);
        // The others were stored as they decode: valid text equal to the replaced key.
        for (std::size_t n = originals.size(); n < count; ++n) {
            originals.push_back(key);
        }
        std::string names;
        for (std::size_t n = 0; n < originals.size(); ++n) {
            names += n == 0 ? "" : (n + 1 == originals.size() ? " and " : ", ");
            names += enmap::display_key_short(originals[n]);
        }
        list += "\n  ";
        list += table;
        list += ": the stored keys ";
        list += names;
        list += " all become ";
        list += enmap::display_key_short(key);
    }
    if (collisions == 0) {
        return;
    }
    if (collisions > 10) {
        list += "\n  ... and " + std::to_string(collisions - 10) + " more";
    }
    throw enmap::InputError(m_description + ": --invalid-text=replace turns " + std::to_string(collisions) +
                                " set(s) of different keys of the enmap '" + table +
                                "' into one key (each bad byte becomes U+FFFD):" + list,
                            "nothing was written to PostgreSQL; rename or delete all but one of each set in "
                            "the bot's data, take a new snapshot, and replay again");
}

const Spool::Segment& SnapshotSource::segment(const std::string& enmap_name) const {
    if (!m_spool) {
        throw enmap::Error("SnapshotSource: rows read before prepare()");
    }
    auto it = m_segments.find(enmap_name);
    if (it == m_segments.end()) {
        throw enmap::Error("SnapshotSource: no enmap '" + enmap_name + "' in " + m_description);
    }
    return it->second;
}

void SnapshotSource::for_each_row(const std::string& enmap_name, const RowCallback& callback) {
    const Spool::Segment& rows = segment(enmap_name);
    m_spool->for_each_row(rows, callback);
}

void SnapshotSource::for_each_tuple_chunk(const std::string& enmap_name, const TupleCallback& callback) {
    const Spool::Segment& rows = segment(enmap_name);
    m_spool->read(rows, callback);
}

}  // namespace replay
