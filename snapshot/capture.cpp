#include "snapshot/capture.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/Backup.h>
#include <SQLiteCpp/SQLiteCpp.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <set>

#include "enmap/error.hpp"
#include "snapshot/chunker.hpp"
#include "snapshot/file_identity.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/pack_check.hpp"
#include "snapshot/pool.hpp"

namespace fs = std::filesystem;

namespace snapshot {

namespace {

// SQLite's unix VFS lock bytes (os_unix.c): on the database file, PENDING at 1 GiB, then
// RESERVED, then 510 SHARED bytes; on the -shm file, 8 WAL locks from byte 120 and the
// "DMS" byte 128, read-locked by every connection that has the database open in WAL mode.
constexpr off_t k_pending_byte = 0x40000000;
constexpr off_t k_shared_first = k_pending_byte + 2;
constexpr off_t k_shared_size = 510;
constexpr off_t k_shm_locks_first = 120;
constexpr off_t k_shm_locks_size = 9;

constexpr std::size_t k_batch_bytes = 4U << 20;
constexpr std::size_t k_pages_per_group = 16;

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::optional<std::string> probe_lock(int fd, off_t start, off_t length, const std::string& what) {
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = start;
    lock.l_len = length;
    lock.l_pid = 0;
    if (::fcntl(fd, F_OFD_GETLK, &lock) != 0) {
        throw enmap::InputError("cannot test the locks on " + what + ": " + std::strerror(errno));
    }
    if (lock.l_type == F_UNLCK) {
        return std::nullopt;
    }
    std::string who = lock.l_pid > 0 ? "process " + std::to_string(lock.l_pid) : "another process";
    return who + " holds a lock on " + what;
}

Fd open_for_locks(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    return Fd(fd);
}

std::optional<std::string> check_open(int db_fd, int shm_fd, const fs::path& database) {
    if (shm_fd >= 0) {
        if (auto holder = probe_lock(shm_fd, k_shm_locks_first, k_shm_locks_size,
                                     database.filename().string() + "-shm")) {
            return holder;
        }
    }
    return probe_lock(db_fd, k_pending_byte, k_shared_size + 2, database.filename().string());
}

// Holds a shared lock on the database's SHARED bytes while an exact capture reads it, so that a
// writer in rollback-journal mode cannot commit half-way through the copy.
void hold_read_lock(int fd, const fs::path& database) {
    struct flock lock {};
    lock.l_type = F_RDLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = k_shared_first;
    lock.l_len = k_shared_size;
    lock.l_pid = 0;
    if (::fcntl(fd, F_OFD_SETLK, &lock) != 0) {
        throw enmap::RefusedError(database.string() + " is being written by another process",
                                  "stop the bot, or use --live to capture it while it runs");
    }
}

// What a worker made of one batch of chunks: every chunk's id, in order, and the blocks holding the
// chunks that were new to the store (compressed, ready for a pack).
struct Batch {
    std::vector<Hash> ids;
    std::vector<std::pair<EntryHeader, std::string>> blocks;
};

// Reads a file chunk by chunk, hashes and compresses on the pool, adds new chunks to the writer
// in order, and returns the file's manifest entry.
nlohmann::json store_file(Store& store, const PackCheck& packs, PackWriter& writer, WorkerPool& pool,
                          const fs::path& source, const std::string& name, const std::string& role, int level,
                          const fs::path& tee, const std::vector<Hash>& previous_lists = {},
                          PageSummarizer* summarizer = nullptr) {
    ChunkLayout layout = choose_layout(source);
    Fd fd = open_read(source);
    struct stat st {};
    ::fstat(fd.get(), &st);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    Fd tee_fd;
    if (!tee.empty()) {
        tee_fd = Fd(::open(tee.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, k_file_mode));
        if (tee_fd.get() < 0) {
            throw enmap::StoreError("cannot create " + tee.string() + ": " + std::strerror(errno));
        }
    }

    Sha256 whole;
    std::string list;  // chunk ids of the current chunk-list blob
    nlohmann::json content = nlohmann::json::array();
    std::uint64_t chunk_count = 0;
    // A chunk list is stored as a delta against the same list of the previous snapshot of this
    // file when there is one: after a change, most of its ids are the same (docs/design.md).
    auto flush_list = [&] {
        if (list.empty()) {
            return;
        }
        Hash id = sha256(list);
        std::size_t index = content.size();
        content.push_back(to_hex(id));
        bool stored = packs.sound(id);
        if (!stored && index < previous_lists.size() && previous_lists[index] != id && !writer.contains(id) &&
            packs.sound(previous_lists[index]) &&
            store.delta_depth(previous_lists[index]) < k_max_delta_depth) {
            try {
                std::string base = store.read_chunk(previous_lists[index]);
                writer.add_delta(list, previous_lists[index], base, level);
                stored = true;
            } catch (const enmap::StoreError&) {
                // A damaged base: store the list whole (verify reports the damage).
            }
        }
        if (!stored) {
            writer.add_plain(list, level);
        }
        list.clear();
    };
    // Read buffers go back to this free list when their batch is done, so that the kernel does
    // not have to hand out (and zero) fresh pages for every batch. A task may release its buffer
    // after this function has returned, so the list is shared with the buffers' deleters.
    struct SpareBuffers {
        std::mutex mutex;
        std::vector<std::unique_ptr<std::string>> buffers;
    };
    auto spares = std::make_shared<SpareBuffers>();
    auto take_buffer = [&spares](std::size_t size) {
        std::unique_ptr<std::string> buffer;
        {
            std::lock_guard<std::mutex> lock(spares->mutex);
            if (!spares->buffers.empty()) {
                buffer = std::move(spares->buffers.back());
                spares->buffers.pop_back();
            }
        }
        if (!buffer) {
            buffer = std::make_unique<std::string>();
        }
        buffer->resize(size);
        return std::shared_ptr<std::string>(buffer.release(), [spares](std::string* b) {
            std::lock_guard<std::mutex> lock(spares->mutex);
            spares->buffers.emplace_back(b);
        });
    };
    std::deque<std::future<Batch>> inflight;
    // On an error, wait for the batches still running: they use the store and the writer.
    struct WaitForBatches {
        std::deque<std::future<Batch>>& batches;
        ~WaitForBatches() {
            for (auto& batch : batches) {
                if (batch.valid()) {
                    batch.wait();
                }
            }
        }
    } wait_for_batches{inflight};
    auto drain_one = [&] {
        Batch batch = inflight.front().get();
        inflight.pop_front();
        for (auto& [header, payload] : batch.blocks) {
            writer.add(header, payload);
        }
        for (const auto& id : batch.ids) {
            list.append(reinterpret_cast<const char*>(id.data()), id.size());
            ++chunk_count;
            if (list.size() == k_ids_per_list * 32) {
                flush_list();
            }
        }
    };

    writer.reserve(static_cast<std::size_t>(static_cast<std::uint64_t>(st.st_size) / layout.size + 1));
    const std::uint64_t per_batch = std::max<std::uint64_t>(1, k_batch_bytes / layout.size);
    const std::size_t window = pool.size() * 2 + 1;
    std::uint64_t offset = 0;
    bool first = true;
    for (;;) {
        std::vector<std::uint64_t> sizes;
        if (first && layout.first > 0) {
            sizes.push_back(layout.first);
        }
        first = false;
        for (std::uint64_t i = 0; i < per_batch; ++i) {
            sizes.push_back(layout.size);
        }
        std::uint64_t want = 0;
        for (auto size : sizes) {
            want += size;
        }
        std::shared_ptr<std::string> data = take_buffer(want);
        std::size_t got = pread_full(fd.get(), data->data(), want, offset);
        if (got == 0) {
            break;
        }
        data->resize(got);
        const std::uint64_t batch_offset = offset;
        offset += got;
        whole.update(*data);
        if (inflight.size() >= window) {
            drain_one();
        }
        inflight.push_back(
            pool.submit([data, sizes = std::move(sizes), level, &packs, summarizer, batch_offset] {
                Batch batch;
                BlockBuilder block;
                std::vector<Hash> in_block;  // a page repeated within one block is stored once
                std::vector<std::string_view> pieces;
                pieces.reserve(sizes.size());
                for (std::size_t at = 0, i = 0; i < sizes.size() && at < data->size(); at += sizes[i++]) {
                    pieces.push_back(std::string_view(*data).substr(at, sizes[i]));
                }
                batch.ids.resize(pieces.size());
                // Groups of 16 pages: hashed two at a time, stored, and read by the summarizer while
                // they are still in the CPU's cache.
                std::size_t at = 0;
                for (std::size_t first = 0; first < pieces.size(); first += k_pages_per_group) {
                    const std::size_t count = std::min(k_pages_per_group, pieces.size() - first);
                    sha256_each(&pieces[first], count, &batch.ids[first]);
                    const std::size_t group_at = at;
                    for (std::size_t i = first; i < first + count; ++i) {
                        at += pieces[i].size();
                        const Hash& id = batch.ids[i];
                        if (packs.sound(id) ||
                            std::find(in_block.begin(), in_block.end(), id) != in_block.end()) {
                            continue;
                        }
                        in_block.push_back(id);
                        block.add(id, pieces[i]);
                        if (block.full()) {
                            batch.blocks.push_back(block.finish(level));
                            in_block.clear();
                        }
                    }
                    if (summarizer != nullptr) {
                        summarizer->add(batch_offset + group_at,
                                        std::string_view(*data).substr(group_at, at - group_at));
                    }
                }
                if (!block.empty()) {
                    batch.blocks.push_back(block.finish(level));
                }
                return batch;
            }));
        if (got < want) {
            break;
        }
    }
    while (!inflight.empty()) {
        drain_one();
    }
    flush_list();
    if (tee_fd.get() >= 0) {
        // The summarizer's private copy, copied inside the kernel.
        loff_t in = 0;
        loff_t out = 0;
        while (static_cast<std::uint64_t>(in) < offset) {
            ssize_t n = ::copy_file_range(fd.get(), &in, tee_fd.get(), &out,
                                          offset - static_cast<std::uint64_t>(in), 0);
            if (n <= 0) {
                throw enmap::StoreError("cannot copy " + source.string() + " to " + tee.string() + ": " +
                                        std::strerror(errno));
            }
        }
    }
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return nlohmann::json{{"name", name},
                          {"role", role},
                          {"size", offset},
                          {"mode", mode},
                          {"sha256", to_hex(whole.finish())},
                          {"chunking", layout.describe()},
                          {"chunks", chunk_count},
                          {"content", content}};
}

// The chunk lists of file `name` in the newest snapshot of the same source, or none.
std::vector<Hash> previous_lists(const Store& store, const std::string& source, const std::string& name) {
    std::vector<std::string> damaged;  // not a base to compare with; verify names them
    auto all = store.list(&damaged);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        const auto& manifest = it->manifest;
        if (!manifest.contains("source") || !manifest["source"].is_string() ||
            manifest["source"].get<std::string>() != source || !manifest.contains("files")) {
            continue;
        }
        for (const auto& file : manifest["files"]) {
            if (file.value("name", std::string()) != name || !file.contains("content")) {
                continue;
            }
            std::vector<Hash> ids;
            for (const auto& list_id : file["content"]) {
                if (list_id.is_string() && is_hex_digest(list_id.get<std::string>())) {
                    ids.push_back(from_hex(list_id.get<std::string>()));
                }
            }
            return ids;
        }
    }
    return {};
}

std::string hostname() {
    char name[256] = {};
    ::gethostname(name, sizeof(name) - 1);
    return name;
}

void live_backup(const fs::path& database, const fs::path& dest) {
    try {
        SQLite::Database source(database.string(), SQLite::OPEN_READONLY);
        source.setBusyTimeout(10000);
        SQLite::Database target(dest.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        SQLite::Backup backup(target, source);
        for (int attempt = 0;; ++attempt) {
            int status = backup.executeStep(-1);
            if (status == SQLITE_DONE) {
                break;
            }
            if (attempt > 100) {
                throw enmap::RefusedError(
                    "the live backup of " + database.string() + " stayed busy: the bot keeps it locked",
                    "try again when the bot is less busy");
            }
            ::usleep(100000);
        }
    } catch (const SQLite::Exception& e) {
        throw enmap::InputError("the live backup of " + database.string() + " failed: " + e.what(),
                                "check that it is an SQLite database and readable");
    }
    ::chmod(dest.c_str(), k_file_mode);
}

}  // namespace

std::string kind_name(CaptureOptions::Kind kind) {
    switch (kind) {
        case CaptureOptions::Kind::k_exact:
            return "exact";
        case CaptureOptions::Kind::k_live:
            return "live";
        case CaptureOptions::Kind::k_export:
            return "export";
    }
    return "exact";
}

void validate_label(const std::string& label) {
    bool chars_ok =
        !label.empty() && label.size() <= 100 && std::all_of(label.begin(), label.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == ':' ||
                   c == '-';
        });
    if (!chars_ok) {
        throw enmap::UsageError("label '" + label + "' is not valid",
                                "use up to 100 letters, digits, '.', '_', ':' or '-'");
    }
    bool all_hex = std::all_of(label.begin(), label.end(),
                               [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
    if (label == "latest" || all_hex) {
        throw enmap::UsageError(
            "label '" + label + "' could be confused with " +
                (label == "latest" ? std::string("the reference `latest`") : "a snapshot id prefix"),
            "choose a label with a letter other than a-f, e.g. 'pre-migration'");
    }
}

std::optional<std::string> find_open_connection(const fs::path& database) {
    Fd db = open_read(database);
    Fd shm = open_for_locks(database.string() + "-shm");
    return check_open(db.get(), shm.get(), database);
}

nlohmann::json count_rows(const fs::path& database) {
    nlohmann::json tables = nlohmann::json::object();
    try {
        SQLite::Database db(database.string(), SQLite::OPEN_READONLY);
        SQLite::Statement names(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
        while (names.executeStep()) {
            std::string name = names.getColumn(0).getString();
            std::string quoted = "\"";
            for (char c : name) {
                quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
            }
            quoted += "\"";
            SQLite::Statement count(db, "SELECT count(*) FROM " + quoted);
            count.executeStep();
            tables[name] = {{"rows", count.getColumn(0).getInt64()}};
        }
    } catch (const SQLite::Exception& e) {
        throw enmap::InputError("cannot list the tables of " + database.string() + ": " + e.what());
    }
    return tables;
}

CaptureResult capture(Store& store, const CaptureOptions& options) {
    // The workers allocate and free their blocks' buffers all the time; by default glibc hands
    // the freed memory back to the kernel at once and faults it in again, zeroed, a moment later.
    // Keeping up to 256 MB of it (and serving allocations under 32 MB from the heap) took a 1 GiB
    // create from ~93,000 page faults to ~36,000 and 0.8-1.0 s of system time to 0.65 s; its peak
    // RSS stays 126-139 MB (docs/BENCHMARKS.md). Process-wide, and harmless for what follows.
    ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
    if (!options.label.empty()) {
        validate_label(options.label);
    }
    if (options.compression < 1 || options.compression > 19) {
        throw enmap::UsageError("--compression " + std::to_string(options.compression) + " is out of range",
                                "use a zstd level from 1 to 19 (3 is the default)");
    }
    auto started = std::chrono::steady_clock::now();
    // Deduplicate only against chunks whose pack is there: a snapshot that relied on a lost pack
    // could not be restored. The writer stores whatever it is given; what is new is decided here.
    PackCheck packs(store);
    CaptureResult result;
    WorkerPool pool(options.threads == 0 ? default_threads() : options.threads);
    PackWriter writer(store, false);
    nlohmann::json files = nlohmann::json::array();
    nlohmann::json source;
    std::uint64_t bytes_in = 0;
    fs::path work = store.tmp_dir() / ("capture-" + std::to_string(::getpid()));
    make_dir(work);
    struct Cleanup {
        fs::path path;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    } cleanup{work};
    fs::path summary_db;
    nlohmann::json tables = nullptr;
    // What a page summarizer made of `db`'s pages, or, when it declined (a page not as planned),
    // what the TableSummarizer reads from `db` itself.
    auto summary_from = [&](PageSummarizer& summarizer, const fs::path& db) {
        if (auto summary = summarizer.finish()) {
            result.seconds_summarize = summarizer.seconds();
            return std::move(*summary);
        }
        auto summarize_started = std::chrono::steady_clock::now();
        nlohmann::json summary = options.summarize(db);
        result.seconds_summarize = seconds_since(summarize_started);
        return summary;
    };
    std::future<std::pair<nlohmann::json, double>> summary_future;

    if (options.kind == CaptureOptions::Kind::k_export) {
        if (options.exports.empty()) {
            throw enmap::UsageError("--export needs at least one export() file");
        }
        std::set<std::string> names;
        source = nlohmann::json::array();
        for (const auto& file : options.exports) {
            if (!fs::is_regular_file(file)) {
                throw enmap::InputError("export file " + file.string() + " does not exist or is not a file");
            }
            std::string name = file.filename().string();
            if (!names.insert(name).second) {
                throw enmap::UsageError(
                    "two export files are named " + name,
                    "a snapshot keeps file names; put them in one folder under distinct names");
            }
            files.push_back(
                store_file(store, packs, writer, pool, file, name, "export", options.compression, {}));
            source.push_back(fs::absolute(file).lexically_normal().string());
        }
    } else {
        const fs::path& database = options.database;
        if (!fs::is_regular_file(database)) {
            throw enmap::InputError(
                "database " + database.string() + " does not exist",
                "pass --data-dir with the bot's data folder or --db with the enmap.sqlite file");
        }
        source = fs::absolute(database).lexically_normal().string();
        std::string name = database.filename().string();
        if (options.kind == CaptureOptions::Kind::k_live) {
            fs::path copy = work / name;
            live_backup(database, copy);
            // The private image is summarized from its pages as they are stored when it can be.
            std::unique_ptr<PageSummarizer> page_summarizer;
            if (options.summarize && options.summarize_pages) {
                page_summarizer = options.summarize_pages(copy);
            }
            files.push_back(
                store_file(store, packs, writer, pool, copy, name, "database", options.compression, {},
                           previous_lists(store, source.get<std::string>(), name), page_summarizer.get()));
            if (page_summarizer) {
                tables = summary_from(*page_summarizer, copy);
            } else {
                summary_db = copy;
            }
        } else {
            fs::path journal = database.string() + "-journal";
            if (fs::exists(journal) && fs::file_size(journal) > 0) {
                throw enmap::RefusedError(
                    journal.string() + " exists: a write to the database was interrupted",
                    "open the database once with `sqlite3 " + database.string() +
                        " 'PRAGMA integrity_check'` to roll it back, then snapshot again");
            }
            Fd db = open_read(database);
            Fd shm = open_for_locks(database.string() + "-shm");
            std::string refuse_hint = "stop the bot (every process using " + database.string() +
                                      "), or use --live to capture it while it runs";
            if (auto holder = check_open(db.get(), shm.get(), database)) {
                throw enmap::RefusedError(database.string() + " is open in another process: " + *holder,
                                          refuse_hint);
            }
            hold_read_lock(db.get(), database);
            fs::path wal = database.string() + "-wal";
            // Any change during the copy is caught by comparing both files' identities, not only by
            // the two checks for an open connection: a process that opens, writes and closes in
            // between (its checkpoint writing into the database) would leave a torn image.
            FileIdentity db_before = file_identity(database, true);
            FileIdentity wal_before = file_identity(wal, false);
            bool has_wal = fs::exists(wal);
            // Without a -wal, the summary reads the database itself while its pages are stored (the
            // read lock held above keeps writers out), in storage order on its own thread. With a
            // -wal, it needs the pair as captured: a private copy, summarized afterwards.
            fs::path copy;
            if (options.summarize && has_wal) {
                copy = work / name;
            }
            // Without a -wal, the pages are summarized as they are stored when the summarizer can
            // (enmap/page_summary.hpp), else SQLite reads the database itself on its own thread.
            std::unique_ptr<PageSummarizer> page_summarizer;
            if (options.summarize && !has_wal && options.summarize_pages) {
                page_summarizer = options.summarize_pages(database);
            }
            if (options.summarize && !has_wal && !page_summarizer) {
                summary_future = std::async(std::launch::async, [&options, database] {
                    auto summarize_started = std::chrono::steady_clock::now();
                    nlohmann::json summary = options.summarize(database);
                    return std::make_pair(std::move(summary), seconds_since(summarize_started));
                });
            }
            files.push_back(
                store_file(store, packs, writer, pool, database, name, "database", options.compression, copy,
                           previous_lists(store, source.get<std::string>(), name), page_summarizer.get()));
            if (has_wal) {
                files.push_back(store_file(store, packs, writer, pool, wal, name + "-wal", "wal",
                                           options.compression,
                                           copy.empty() ? fs::path() : fs::path(copy.string() + "-wal")));
            }
            if (page_summarizer) {
                tables = summary_from(*page_summarizer, database);  // the read lock still holds
            }
            if (summary_future.valid()) {
                // Before the check below: the summary's own connection must be closed by then.
                auto [summary, seconds] = summary_future.get();
                tables = std::move(summary);
                result.seconds_summarize = seconds;
            }
            if (auto holder = check_open(db.get(), shm.get(), database)) {
                throw enmap::RefusedError(
                    database.string() + " was opened by another process during the capture: " + *holder,
                    refuse_hint);
            }
            std::string changed = file_identity_change(db_before, file_identity(database, true), database);
            if (changed.empty()) {
                changed = file_identity_change(wal_before, file_identity(wal, false), wal);
            }
            if (!changed.empty()) {
                throw enmap::RefusedError(database.string() + " changed during the capture (" + changed +
                                              "): the copy could mix two states, so no snapshot was recorded",
                                          refuse_hint + "; then snapshot again");
            }
            summary_db = copy;
        }
    }
    for (const auto& file : files) {
        bytes_in += file["size"].get<std::uint64_t>();
    }
    result.seconds_store = seconds_since(started);

    if (options.summarize && !summary_db.empty()) {
        auto summarize_started = std::chrono::steady_clock::now();
        tables = options.summarize(summary_db);
        result.seconds_summarize = seconds_since(summarize_started);
    }
    writer.finish();
    nlohmann::json manifest = {
        {"format", k_manifest_format},
        {"time", now_iso8601()},
        {"host", hostname()},
        {"label", options.label.empty() ? nlohmann::json(nullptr) : nlohmann::json(options.label)},
        {"kind", kind_name(options.kind)},
        {"source", source},
        {"tool", std::string("enmap-migrate ") + ENMAP_MIGRATE_VERSION},
        {"compression", options.compression},
        {"files", files},
        {"tables", tables},
        {"bytes_in", bytes_in},
        {"bytes_stored_new", writer.bytes_stored()},
        {"chunks_new", writer.chunks_added()},
    };
    result.id = store.write_manifest(manifest);
    result.manifest = std::move(manifest);
    return result;
}

}  // namespace snapshot
