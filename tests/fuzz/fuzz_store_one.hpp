#pragma once
// Fuzzing steps for the snapshot store's parsers of outside input, shared by the libFuzzer
// targets (tests/fuzz/fuzz_archive.cpp, tests/fuzz/fuzz_manifest.cpp, built by scripts/fuzz) and
// the doctest that replays tests/fuzz/corpus-archive/ and corpus-manifest/. The contract: hostile
// bytes end in an enmap::Error that maps to a documented status (never "internal error", never
// another exception, never a crash), and nothing but what passed every check enters the store.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "enmap/error.hpp"
#include "snapshot/hash.hpp"
#include "snapshot/manifest_check.hpp"
#include "snapshot/store.hpp"

namespace fuzz {

/// A scratch folder of this process, removed when the object dies.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& name) {
        const std::filesystem::path base =
            std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
        m_path = base / ("enmap-migrate-fuzz-" + name + "-" + std::to_string(::getpid()));
        std::filesystem::create_directories(m_path);
    }
    ~ScratchDir() {
        std::error_code ec;
        std::filesystem::remove_all(m_path, ec);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

/// Aborts (a finding) when `e` is the base error, which maps to status 1: "internal error".
inline void require_documented(const enmap::Error& e) {
    if (e.exit_code() == enmap::ExitCode::k_internal) {
        std::abort();
    }
}

/// `snapshot import` of an archive made of `data` followed by its checksum (the SHA-256 of all
/// bytes before it), so that inputs ending in an 'E' record reach the checks after the checksum:
/// the chunks every manifest needs, then the manifests written into the store in `scratch`.
inline void archive_one(const std::uint8_t* data, std::size_t size, const std::filesystem::path& scratch) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    const snapshot::Hash sum = snapshot::sha256(bytes);
    bytes.append(reinterpret_cast<const char*>(sum.data()), sum.size());
    const std::filesystem::path file = scratch / "input.emsa";
    {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    try {
        snapshot::Store store(scratch / "store", snapshot::Store::Access::k_write, "fuzz");
        for (const auto& id : store.import_archive(file)) {
            // What was imported passed every check: it must read back as a manifest.
            (void)store.read_manifest(id);
        }
    } catch (const enmap::Error& e) {
        require_documented(e);
    }
}

/// A manifest from outside: check_manifest() accepts it or throws InputError; one it accepts is
/// safe to store, list, resolve and read back, and to ask for its chunks, each failing only with
/// a documented error. Stored under its id in the store in `scratch` and removed again.
inline void manifest_one(const std::uint8_t* data, std::size_t size, const std::filesystem::path& scratch) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    auto manifest = nlohmann::json::parse(bytes, nullptr, false);
    bool accepted = false;
    if (!manifest.is_discarded()) {
        try {
            snapshot::check_manifest(manifest, "fuzz");
            accepted = true;
        } catch (const enmap::InputError&) {
        }
    }
    try {
        snapshot::Store store(scratch / "store", snapshot::Store::Access::k_write, "fuzz");
        const snapshot::Hash id = store.write_manifest_bytes(bytes);
        std::vector<std::string> damaged;
        (void)store.list(&damaged);  // any bytes: listed or reported as damaged, never thrown
        try {
            if (accepted) {
                auto read = store.read_manifest(id);
                (void)store.resolve(snapshot::to_hex(id));
                for (const auto& file : read["files"]) {
                    (void)store.file_chunks(file);
                }
                (void)store.needed_chunks(read);
            }
        } catch (const enmap::Error& e) {
            require_documented(e);
        }
        std::filesystem::remove(scratch / "store" / "snapshots" / snapshot::to_hex(id));
    } catch (const enmap::Error& e) {
        require_documented(e);
    }
}

}  // namespace fuzz
