// Store::materialize: writing a snapshot's files back out, checking every chunk and whole file.

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <mutex>

#include "enmap/error.hpp"
#include "snapshot/chunker.hpp"
#include "snapshot/fsutil.hpp"
#include "snapshot/pool.hpp"
#include "snapshot/store.hpp"

namespace fs = std::filesystem;

namespace snapshot {

namespace {
// 1 MiB of 4 KiB pages: small enough that a part is still in the cache when this thread hashes and
// writes it, large enough that handing parts between threads costs little.
constexpr std::size_t k_chunks_per_task = 256;

bool safe_file_name(const std::string& name) {
    return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
           name.find('\0') == std::string::npos;
}

// Writes one file of a manifest under a temporary name in dest, checked and fsynced on commit.
std::unique_ptr<AtomicFile> write_file(const Store& store, WorkerPool& pool, const nlohmann::json& file,
                                       const fs::path& dest, const std::string& snapshot, bool durable) {
    std::string name = file.at("name").get<std::string>();
    auto file_out = std::make_unique<AtomicFile>(dest);
    AtomicFile& out = *file_out;
    Sha256 whole;
    // Workers read, decompress and check their part of the file; this thread hashes the parts in
    // order for the whole-file check, and one writer thread appends them in order while the next
    // part is hashed. One writer: writers at offsets contend for the file's inode lock and cost the
    // kernel more than the copy itself, which is as slow as the hash when its pages are new.
    std::deque<std::future<std::string>> inflight;
    struct WaitForParts {
        std::deque<std::future<std::string>>& parts;
        ~WaitForParts() {
            for (auto& part : parts) {
                if (part.valid()) {
                    part.wait();
                }
            }
        }
    } wait_for_parts{inflight};
    const std::size_t window = pool.size() * 2 + 1;
    auto layout = parse_layout(file.value("chunking", std::string()));
    if (!layout) {
        throw enmap::StoreError("file " + name + " of snapshot " + snapshot + " has an unknown chunking '" +
                                    file.value("chunking", std::string()) + "'",
                                "use the enmap-migrate version that wrote the snapshot");
    }
    std::uint64_t total_chunks = file.value("chunks", std::uint64_t{0});
    std::uint64_t file_size = file.at("size").get<std::uint64_t>();
    std::uint64_t chunk_index = 0;
    // Part buffers are handed back and reused, so that their pages are not faulted in (and zeroed
    // by the kernel) again for every part.
    struct Spares {
        std::mutex mutex;
        std::vector<std::string> buffers;
    };
    auto spares = std::make_shared<Spares>();
    // Declared after `out`: its destructor waits for the writes still queued, which use it.
    WorkerPool writer(1);
    std::future<std::string> writing;  // the last part handed to the writer
    auto recycle = [&spares](std::string bytes) {
        std::lock_guard<std::mutex> lock(spares->mutex);
        spares->buffers.push_back(std::move(bytes));
    };
    auto drain_one = [&] {
        std::string bytes = inflight.front().get();
        inflight.pop_front();
        whole.update(bytes);
        auto written = writer.submit([&out, durable, bytes = std::move(bytes)]() mutable {
            out.write(bytes);
            if (durable) {
                out.start_writeback();  // the disk works while the next chunks are decompressed
            }
            return std::move(bytes);
        });
        if (writing.valid()) {
            recycle(writing.get());
        }
        writing = std::move(written);
    };
    for (const auto& list_id : file.at("content")) {
        std::string list = store.read_chunk(from_hex(list_id.get<std::string>()));
        if (list.size() % 32 != 0) {
            throw enmap::StoreError(
                "chunk list " + list_id.get<std::string>() + " of " + name + " is damaged",
                "run `enmap-migrate snapshot verify`");
        }
        auto ids = std::make_shared<std::string>(std::move(list));
        for (std::size_t first = 0; first < ids->size() / 32; first += k_chunks_per_task) {
            std::size_t last = std::min(ids->size() / 32, first + k_chunks_per_task);
            if (inflight.size() >= window) {
                drain_one();
            }
            // Every chunk but the last has the layout's size, so a part's offset is known up front.
            std::vector<Hash> batch(last - first);
            std::memcpy(batch.data(), ids->data() + 32 * first, 32 * batch.size());
            std::uint64_t at = chunk_offset(*layout, chunk_index);
            chunk_index += batch.size();
            std::uint64_t end = chunk_index >= total_chunks ? file_size : chunk_offset(*layout, chunk_index);
            if (at > end || end > file_size) {
                std::string message = "file ";
                message += name;
                message += " of snapshot ";
                message += snapshot;
                message += " lists more chunks than its size holds";
                throw enmap::StoreError(message,
                                        "run `enmap-migrate snapshot verify " + snapshot.substr(0, 12) + "`");
            }
            inflight.push_back(
                pool.submit([batch = std::move(batch), at, end, &store, &name, &snapshot, spares] {
                    std::string bytes;
                    {
                        std::lock_guard<std::mutex> lock(spares->mutex);
                        if (!spares->buffers.empty()) {
                            bytes = std::move(spares->buffers.back());
                            spares->buffers.pop_back();
                        }
                    }
                    bytes.clear();
                    store.read_chunks(batch.data(), batch.size(), bytes);
                    if (bytes.size() != end - at) {
                        std::string message = "file ";
                        message += name;
                        message += " of snapshot ";
                        message += snapshot;
                        message += " has chunks whose sizes do not match its chunking";
                        throw enmap::StoreError(
                            message, "run `enmap-migrate snapshot verify " + snapshot.substr(0, 12) + "`");
                    }
                    return bytes;
                }));
        }
    }
    while (!inflight.empty()) {
        drain_one();
    }
    if (writing.valid()) {
        writing.get();
    }
    std::uint64_t size = file.at("size").get<std::uint64_t>();
    std::string want = file.at("sha256").get<std::string>();
    if (out.size() != size || to_hex(whole.finish()) != want) {
        throw enmap::StoreError("file " + name + " of snapshot " + snapshot +
                                    " does not match its recorded size and SHA-256 after assembly",
                                "run `enmap-migrate snapshot verify " + snapshot.substr(0, 12) + "`");
    }
    std::string mode_text = file.value("mode", std::string("0600"));
    if (mode_text.empty() || mode_text.size() > 4 ||
        mode_text.find_first_not_of("01234567") != std::string::npos) {
        throw enmap::StoreError("file " + name + " of snapshot " + snapshot + " has the mode '" + mode_text +
                                    "', which is not an octal file mode",
                                "the manifest is not one this tool wrote; do not restore it");
    }
    auto mode = static_cast<mode_t>(std::stoul(mode_text, nullptr, 8));
    ::fchmod(out.fd(), mode & 0777);
    return file_out;
}
}  // namespace

void Store::materialize(const Hash& id, const fs::path& dest, const MaterializeOptions& options) const {
    nlohmann::json manifest = read_manifest(id);
    std::string snapshot = to_hex(id);
    std::vector<std::string> names;
    for (const auto& file : manifest.at("files")) {
        std::string name = file.at("name").get<std::string>();
        if (!safe_file_name(name)) {
            std::string message = "snapshot ";
            message += snapshot;
            message += " names a file '";
            message += name;
            message += "' that is not a plain name";
            throw enmap::StoreError(message, "the manifest is not one this tool wrote; do not restore it");
        }
        names.push_back(name);
    }
    make_dir(dest);
    for (const auto& [path, size] : remove_stale_temp_files(dest)) {
        spdlog::warn("removed {} ({} bytes), the unfinished file of a restore that was killed", path.string(),
                     size);
    }
    // Stale sidecars: a -wal or -shm left beside a restored database would be applied to it.
    std::vector<fs::path> stale;
    for (const auto& file : manifest.at("files")) {
        if (file.value("role", "") != "database") {
            continue;
        }
        std::string name = file.at("name").get<std::string>();
        for (const char* suffix : {"-wal", "-shm", "-journal"}) {
            std::string sidecar = name + suffix;
            if (std::find(names.begin(), names.end(), sidecar) == names.end() && fs::exists(dest / sidecar)) {
                stale.push_back(dest / sidecar);
            }
        }
    }
    if (!options.overwrite) {
        std::vector<std::string> existing;
        for (const auto& name : names) {
            if (fs::exists(dest / name)) {
                existing.push_back(name);
            }
        }
        for (const auto& path : stale) {
            existing.push_back(path.filename().string());
        }
        if (!existing.empty()) {
            std::string list;
            for (const auto& name : existing) {
                list += (list.empty() ? "" : ", ") + name;
            }
            throw enmap::RefusedError("restoring snapshot " + snapshot.substr(0, 12) + " into " +
                                          dest.string() + " would replace " + list,
                                      "restore into an empty folder, or pass --force to replace them");
        }
    }
    WorkerPool pool(options.threads == 0 ? default_threads() : options.threads);
    // Every file is assembled and checked before the first one replaces anything.
    std::vector<std::unique_ptr<AtomicFile>> written;
    for (const auto& file : manifest.at("files")) {
        written.push_back(write_file(*this, pool, file, dest, snapshot, options.durable));
    }
    for (const auto& path : stale) {
        remove_durably(path);
    }
    for (std::size_t i = 0; i < written.size(); ++i) {
        written[i]->commit(dest / names[i], options.durable);
    }
}

}  // namespace snapshot
