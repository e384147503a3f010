#include "replay/store_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <thread>

#include "enmap/error.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/store.hpp"

namespace replay {

// The pages of one served file. SQLite reads a table's pages mostly in file order, so a thread
// of its own reads and checks the runs of pages ahead of it (at most k_ahead runs, 4 MiB) while
// SQLite works on the ones before; a page out of that order is read on the spot.
struct StoreFile::Served {
    static constexpr std::uint64_t k_run_pages = 64;
    static constexpr std::uint64_t k_ahead = 16;

    const snapshot::Store* store = nullptr;
    // The chunk ids, a page each, stay in their chunk-list blobs, a few loaded at a time: memory
    // does not grow with the file (32 bytes a page would).
    std::vector<snapshot::Hash> lists;
    std::vector<std::uint64_t> list_first;  // the first page of each list, and the page count last
    std::mutex lists_mutex;
    std::map<std::size_t, std::shared_ptr<const std::string>> loaded_lists;
    std::uint64_t pages = 0;
    std::uint64_t size = 0;
    std::uint64_t page = 0;
    std::uint64_t runs_total = 0;

    std::mutex mutex;
    std::condition_variable changed;
    std::map<std::uint64_t, std::string> runs;  // run index -> its pages, read and checked
    std::uint64_t next_run = 0;                 // the next run the prefetching thread reads
    std::uint64_t seq = 0;                      // where SQLite's reading in file order has got to
    std::uint64_t last_run = 0;                 // the run of the last read
    std::set<std::uint64_t> in_flight;          // the runs being read ahead
    bool stop = false;
    std::string error;  // why a read failed, for the message SQLite cannot carry
    std::atomic<std::uint64_t> chunks_read{0};
    std::vector<std::thread> prefetchers;  // two: reading and checking pages is most of the work

    int read(char* out, std::uint64_t amount, std::uint64_t offset);
    void prefetch();
    std::shared_ptr<const std::string> list(std::size_t index);
    std::vector<snapshot::Hash> ids(std::uint64_t first, std::uint64_t count);
    std::string read_pages(std::uint64_t first, std::uint64_t count);
    void forget_old_runs();
};

namespace {

std::mutex g_registry_mutex;
std::map<std::string, std::shared_ptr<StoreFile::Served>>& registry() {
    static std::map<std::string, std::shared_ptr<StoreFile::Served>> files;
    return files;
}

std::shared_ptr<StoreFile::Served> find(const char* name) {
    std::lock_guard lock(g_registry_mutex);
    auto it = name != nullptr ? registry().find(name) : registry().end();
    return it == registry().end() ? nullptr : it->second;
}

// What SQLite allocates per open file (szOsFile bytes); the shared_ptr keeps the file served.
struct OpenFile {
    sqlite3_file base;
    std::shared_ptr<StoreFile::Served> served;
};

StoreFile::Served& served(sqlite3_file* file) {
    return *reinterpret_cast<OpenFile*>(file)->served;
}

int x_close(sqlite3_file* file) {
    reinterpret_cast<OpenFile*>(file)->~OpenFile();
    return SQLITE_OK;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
    return served(file).read(static_cast<char*>(out), static_cast<std::uint64_t>(amount),
                             static_cast<std::uint64_t>(offset));
}

int x_write(sqlite3_file*, const void*, int, sqlite3_int64) {
    return SQLITE_READONLY;
}

int x_truncate(sqlite3_file*, sqlite3_int64) {
    return SQLITE_READONLY;
}

int x_sync(sqlite3_file*, int) {
    return SQLITE_OK;
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
    *size = static_cast<sqlite3_int64>(served(file).size);
    return SQLITE_OK;
}

int x_lock(sqlite3_file*, int) {
    return SQLITE_OK;
}

int x_check_reserved_lock(sqlite3_file*, int* reserved) {
    *reserved = 0;
    return SQLITE_OK;
}

int x_file_control(sqlite3_file*, int, void*) {
    return SQLITE_NOTFOUND;
}

int x_sector_size(sqlite3_file* file) {
    return static_cast<int>(served(file).page);
}

int x_device_characteristics(sqlite3_file*) {
    return SQLITE_IOCAP_IMMUTABLE;
}

const sqlite3_io_methods k_io_methods = {1,
                                         x_close,
                                         x_read,
                                         x_write,
                                         x_truncate,
                                         x_sync,
                                         x_file_size,
                                         x_lock,
                                         x_lock,
                                         x_check_reserved_lock,
                                         x_file_control,
                                         x_sector_size,
                                         x_device_characteristics,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         nullptr,
                                         nullptr};

sqlite3_vfs* default_vfs() {
    static sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
    return vfs;
}

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    file->pMethods = nullptr;
    auto found = find(name);
    if (!found || (flags & SQLITE_OPEN_MAIN_DB) == 0 || (flags & SQLITE_OPEN_READWRITE) != 0) {
        return SQLITE_CANTOPEN;
    }
    auto* open = new (file) OpenFile{};
    open->served = std::move(found);
    open->base.pMethods = &k_io_methods;
    if (out_flags != nullptr) {
        *out_flags = SQLITE_OPEN_READONLY;
    }
    return SQLITE_OK;
}

int x_delete(sqlite3_vfs*, const char*, int) {
    return SQLITE_IOERR_DELETE;
}

int x_access(sqlite3_vfs*, const char* name, int flags, int* result) {
    *result = flags == SQLITE_ACCESS_EXISTS || flags == SQLITE_ACCESS_READ ? (find(name) ? 1 : 0) : 0;
    return SQLITE_OK;
}

int x_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
    if (std::strlen(name) + 1 > static_cast<std::size_t>(size)) {
        return SQLITE_CANTOPEN;
    }
    std::strcpy(out, name);
    return SQLITE_OK;
}

void* x_dl_open(sqlite3_vfs*, const char* name) {
    return default_vfs()->xDlOpen(default_vfs(), name);
}

void x_dl_error(sqlite3_vfs*, int size, char* out) {
    default_vfs()->xDlError(default_vfs(), size, out);
}

void (*x_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))() {
    return default_vfs()->xDlSym(default_vfs(), handle, symbol);
}

void x_dl_close(sqlite3_vfs*, void* handle) {
    default_vfs()->xDlClose(default_vfs(), handle);
}

int x_randomness(sqlite3_vfs*, int size, char* out) {
    return default_vfs()->xRandomness(default_vfs(), size, out);
}

int x_sleep(sqlite3_vfs*, int microseconds) {
    return default_vfs()->xSleep(default_vfs(), microseconds);
}

int x_current_time(sqlite3_vfs*, double* now) {
    return default_vfs()->xCurrentTime(default_vfs(), now);
}

int x_get_last_error(sqlite3_vfs*, int, char*) {
    return 0;
}

constexpr const char* k_vfs_name = "enmap-migrate-store";

void register_vfs() {
    static std::once_flag once;
    std::call_once(once, [] {
        static sqlite3_vfs vfs = {1,
                                  static_cast<int>(sizeof(OpenFile)),
                                  1024,
                                  nullptr,
                                  k_vfs_name,
                                  nullptr,
                                  x_open,
                                  x_delete,
                                  x_access,
                                  x_full_pathname,
                                  x_dl_open,
                                  x_dl_error,
                                  x_dl_sym,
                                  x_dl_close,
                                  x_randomness,
                                  x_sleep,
                                  x_current_time,
                                  x_get_last_error,
                                  nullptr,
                                  nullptr,
                                  nullptr,
                                  nullptr};
        if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) {
            throw enmap::Error("SQLite refused to register the " + std::string(k_vfs_name) + " VFS");
        }
    });
}

}  // namespace

std::shared_ptr<const std::string> StoreFile::Served::list(std::size_t index) {
    std::lock_guard lock(lists_mutex);
    auto it = loaded_lists.find(index);
    if (it != loaded_lists.end()) {
        return it->second;
    }
    auto blob = std::make_shared<const std::string>(store->read_chunk(lists[index]));
    if (blob->size() != (list_first[index + 1] - list_first[index]) * 32) {
        throw enmap::StoreError("chunk list " + snapshot::to_hex(lists[index]) + " changed size",
                                "run `enmap-migrate snapshot verify`");
    }
    while (loaded_lists.size() >= 4) {
        loaded_lists.erase(loaded_lists.begin());  // the reading goes forward
    }
    loaded_lists[index] = blob;
    return blob;
}

std::vector<snapshot::Hash> StoreFile::Served::ids(std::uint64_t first, std::uint64_t count) {
    std::vector<snapshot::Hash> out(count);
    std::size_t index = static_cast<std::size_t>(
        std::upper_bound(list_first.begin(), list_first.end(), first) - list_first.begin() - 1);
    for (std::uint64_t i = 0; i < count;) {
        auto blob = list(index);
        std::uint64_t at = first + i - list_first[index];
        std::uint64_t n = std::min(count - i, list_first[index + 1] - (first + i));
        std::memcpy(out[i].data(), blob->data() + at * 32, n * 32);
        i += n;
        ++index;
    }
    return out;
}

std::string StoreFile::Served::read_pages(std::uint64_t first, std::uint64_t count) {
    std::vector<snapshot::Hash> page_ids = ids(first, count);
    std::string bytes = store->read_chunks(page_ids.data(), count);
    if (bytes.size() != count * page) {
        throw enmap::StoreError(
            "pages " + std::to_string(first) + " to " + std::to_string(first + count - 1) +
                " of the snapshot's database are not " + std::to_string(page) + " bytes each",
            "run `enmap-migrate snapshot verify`");
    }
    chunks_read += count;
    return bytes;
}

void StoreFile::Served::forget_old_runs() {
    // The run before the reading position stays, for pages read slightly out of order.
    while (!runs.empty() && runs.begin()->first + 1 < seq) {
        runs.erase(runs.begin());
    }
    // Runs read ahead of a place the reading has jumped back from go too: memory stays bounded
    // (k_ahead runs and a few) however often the reading moves back.
    while (!runs.empty() && std::prev(runs.end())->first > seq + k_ahead + 2) {
        runs.erase(std::prev(runs.end()));
    }
}

void StoreFile::Served::prefetch() {
    std::unique_lock lock(mutex);
    while (true) {
        changed.wait(lock, [&] { return stop || (next_run < runs_total && next_run < seq + k_ahead); });
        if (stop) {
            return;
        }
        std::uint64_t run = std::max(next_run, seq);
        next_run = run + 1;
        if (runs.count(run) != 0) {
            continue;
        }
        in_flight.insert(run);
        lock.unlock();
        std::string bytes;
        std::string failure;
        try {
            bytes = read_pages(run * k_run_pages, std::min(k_run_pages, pages - run * k_run_pages));
        } catch (const std::exception& e) {
            failure = e.what();
        }
        lock.lock();
        in_flight.erase(run);
        if (!failure.empty()) {
            error = failure;
            stop = true;
        } else if (run + 1 >= seq && run <= seq + k_ahead + 2) {
            runs[run] = std::move(bytes);
        }
        changed.notify_all();
    }
}

int StoreFile::Served::read(char* out, std::uint64_t amount, std::uint64_t offset) {
    const std::uint64_t end = offset + amount;
    const std::uint64_t available = std::min(end, size);
    const std::uint64_t run_bytes = k_run_pages * page;
    std::uint64_t at = offset;
    try {
        std::unique_lock lock(mutex);
        while (at < available) {
            const std::uint64_t run = at / run_bytes;
            // Reading on in file order moves the reading position (and the prefetching with it);
            // a lone page elsewhere (an interior page of the B-tree, the schema) does not.
            bool in_order = (run >= seq && run <= seq + 2) || run == last_run || run == last_run + 1;
            last_run = run;
            if (in_order && run != seq) {
                // Reading on moves the prefetching along; reading from an earlier place (the scan of
                // a table after a few lone pages further on, as the key index's interior pages are)
                // restarts it there, instead of leaving it waiting for the reading to catch up.
                next_run = run < seq ? run : std::max(next_run, run);
                seq = run;
                forget_old_runs();
                changed.notify_all();
            }
            changed.wait(lock, [&] { return in_flight.count(run) == 0 || !error.empty(); });
            if (!error.empty()) {
                return SQLITE_IOERR_READ;
            }
            auto it = runs.find(run);
            if (it == runs.end() && in_order) {
                // Not read ahead yet: read the whole run here; the prefetching goes on after it.
                next_run = std::max(next_run, run + 1);
                lock.unlock();
                std::string bytes =
                    read_pages(run * k_run_pages, std::min(k_run_pages, pages - run * k_run_pages));
                lock.lock();
                it = runs.insert_or_assign(run, std::move(bytes)).first;
                changed.notify_all();
            }
            const std::uint64_t run_end = std::min(available, (run + 1) * run_bytes);
            if (it != runs.end()) {
                std::memcpy(out + (at - offset), it->second.data() + (at - run * run_bytes), run_end - at);
                at = run_end;
                continue;
            }
            // A page out of the reading order: read just the pages asked for.
            const std::uint64_t first_page = at / page;
            const std::uint64_t last_page = (run_end - 1) / page;
            lock.unlock();
            std::string bytes = read_pages(first_page, last_page - first_page + 1);
            lock.lock();
            std::memcpy(out + (at - offset), bytes.data() + (at - first_page * page), run_end - at);
            at = run_end;
        }
    } catch (const std::exception& e) {
        std::lock_guard lock(mutex);
        error = e.what();
        return SQLITE_IOERR_READ;
    }
    if (available < end) {
        std::memset(out + (std::max(available, offset) - offset), 0, end - std::max(available, offset));
        return SQLITE_IOERR_SHORT_READ;
    }
    return SQLITE_OK;
}

const char* StoreFile::vfs_name() {
    return k_vfs_name;
}

const nlohmann::json* StoreFile::servable(const nlohmann::json& manifest) {
    if (!manifest.contains("files") || !manifest["files"].is_array() || manifest["files"].size() != 1) {
        return nullptr;
    }
    const auto& file = manifest["files"][0];
    if (!file.is_object() || file.value("role", "") != "database" || !file.contains("size") ||
        !file["size"].is_number_unsigned()) {
        return nullptr;
    }
    const std::string chunking = file.value("chunking", "");
    const std::string prefix = "sqlite-pages:";
    if (chunking.rfind(prefix, 0) != 0) {
        return nullptr;
    }
    std::uint64_t page = std::strtoull(chunking.c_str() + prefix.size(), nullptr, 10);
    std::uint64_t size = file["size"].get<std::uint64_t>();
    if (page < 512 || page > 65536 || (page & (page - 1)) != 0 || size % page != 0) {
        return nullptr;
    }
    if (file.contains("chunks") &&
        (!file["chunks"].is_number_unsigned() || file["chunks"].get<std::uint64_t>() != size / page)) {
        return nullptr;  // not one chunk per page
    }
    return &file;
}

StoreFile::StoreFile(const snapshot::Store& store, const nlohmann::json& file)
    : m_served(std::make_shared<Served>()) {
    register_vfs();
    m_served->store = &store;
    // Each chunk list once, to know how many pages it holds (store.file_chunks would keep them all).
    m_served->list_first.push_back(0);
    for (const auto& list_id : file.at("content")) {
        snapshot::Hash id = snapshot::from_hex(list_id.get<std::string>());
        std::string blob = store.read_chunk(id);
        if (blob.size() % 32 != 0) {
            throw enmap::StoreError(
                "chunk list " + list_id.get<std::string>() + " of the snapshot's database is damaged",
                "run `enmap-migrate snapshot verify`");
        }
        m_served->lists.push_back(id);
        m_served->list_first.push_back(m_served->list_first.back() + blob.size() / 32);
    }
    m_served->pages = m_served->list_first.back();
    m_served->size = file.at("size").get<std::uint64_t>();
    const std::string chunking = file.at("chunking").get<std::string>();
    m_served->page = std::strtoull(chunking.c_str() + chunking.find(':') + 1, nullptr, 10);
    if (m_served->pages != m_served->size / m_served->page) {
        throw enmap::StoreError("the snapshot's database lists " + std::to_string(m_served->pages) +
                                    " pages for " + std::to_string(m_served->size) + " bytes",
                                "run `enmap-migrate snapshot verify`");
    }
    m_served->runs_total = (m_served->pages + Served::k_run_pages - 1) / Served::k_run_pages;
    static std::atomic<unsigned> counter{0};
    m_name = "/enmap-migrate-store/" + std::to_string(counter++) + "/" + file.at("name").get<std::string>();
    for (int i = 0; i < 2; ++i) {
        m_served->prefetchers.emplace_back([served = m_served.get()] { served->prefetch(); });
    }
    std::lock_guard lock(g_registry_mutex);
    registry()[m_name] = m_served;
}

StoreFile::~StoreFile() {
    {
        std::lock_guard lock(g_registry_mutex);
        registry().erase(m_name);
    }
    {
        std::lock_guard lock(m_served->mutex);
        m_served->stop = true;
    }
    m_served->changed.notify_all();
    for (auto& thread : m_served->prefetchers) {
        thread.join();
    }
}

std::uint64_t StoreFile::chunks_read() const {
    return m_served->chunks_read;
}

std::string StoreFile::read_error() const {
    std::lock_guard lock(m_served->mutex);
    return m_served->error;
}

}  // namespace replay
