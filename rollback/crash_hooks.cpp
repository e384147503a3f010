#include "rollback/crash_hooks.hpp"

#include <sqlite3.h>

#include <csignal>
#include <cstdlib>
#include <mutex>
#include <string>

#include "enmap/error.hpp"

namespace rollback {

namespace {

constexpr std::string_view k_fold_io = "fold-io:";
constexpr const char* k_vfs_name = "enmap-migrate-crash-test";

const char* kill_target() {
    static const char* target = std::getenv("ENMAP_MIGRATE_TEST_KILL_AT");
    return target;
}

// The wrapping VFS: every call goes to the default VFS; the ones that change a file on disk count
// first, and the N-th one is never made.
sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs{};
long g_kill_at = 0;
long g_calls = 0;

void count_change() {
    if (++g_calls == g_kill_at) {
        std::raise(SIGKILL);
    }
}

struct WrappedFile {
    sqlite3_file base;
    sqlite3_file* real;  // the default VFS's file, allocated right after this struct
};

sqlite3_file* real(sqlite3_file* file) {
    return reinterpret_cast<WrappedFile*>(file)->real;
}

int x_close(sqlite3_file* f) {
    return real(f)->pMethods->xClose(real(f));
}
int x_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
    return real(f)->pMethods->xRead(real(f), buffer, amount, offset);
}
int x_write(sqlite3_file* f, const void* buffer, int amount, sqlite3_int64 offset) {
    count_change();
    return real(f)->pMethods->xWrite(real(f), buffer, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
    count_change();
    return real(f)->pMethods->xTruncate(real(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
    count_change();
    return real(f)->pMethods->xSync(real(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
    return real(f)->pMethods->xFileSize(real(f), size);
}
int x_lock(sqlite3_file* f, int level) {
    return real(f)->pMethods->xLock(real(f), level);
}
int x_unlock(sqlite3_file* f, int level) {
    return real(f)->pMethods->xUnlock(real(f), level);
}
int x_check_reserved_lock(sqlite3_file* f, int* out) {
    return real(f)->pMethods->xCheckReservedLock(real(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
    return real(f)->pMethods->xFileControl(real(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
    return real(f)->pMethods->xSectorSize(real(f));
}
int x_device_characteristics(sqlite3_file* f) {
    return real(f)->pMethods->xDeviceCharacteristics(real(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
    real(f)->pMethods->xShmBarrier(real(f));
}
int x_shm_unmap(sqlite3_file* f, int delete_flag) {
    if (delete_flag != 0) {
        count_change();
    }
    return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    return real(f)->pMethods->xFetch(real(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
    return real(f)->pMethods->xUnfetch(real(f), offset, page);
}

const sqlite3_io_methods k_methods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* wrapped = reinterpret_cast<WrappedFile*>(file);
    wrapped->real = reinterpret_cast<sqlite3_file*>(wrapped + 1);
    int rc = g_real->xOpen(g_real, name, wrapped->real, flags, out_flags);
    wrapped->base.pMethods = wrapped->real->pMethods != nullptr ? &k_methods : nullptr;
    return rc;
}

int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    count_change();
    return g_real->xDelete(g_real, name, sync_dir);
}

}  // namespace

namespace {
std::function<void(std::string_view)>& step_hook() {
    static std::function<void(std::string_view)> hook;
    return hook;
}
}  // namespace

void set_step_hook(const std::function<void(std::string_view step)>& hook) {
    step_hook() = hook;
}

void kill_point(std::string_view step) {
    if (step_hook()) {
        step_hook()(step);
    }
    const char* target = kill_target();
    if (target != nullptr && step == target) {
        std::raise(SIGKILL);
    }
}

const char* crash_test_vfs() {
    const char* target = kill_target();
    if (target == nullptr || std::string_view(target).substr(0, k_fold_io.size()) != k_fold_io) {
        return nullptr;
    }
    static std::once_flag once;
    static int status = SQLITE_OK;
    std::call_once(once, [target] {
        g_kill_at = std::strtol(target + k_fold_io.size(), nullptr, 10);
        g_real = sqlite3_vfs_find(nullptr);
        if (g_real == nullptr) {
            status = SQLITE_ERROR;
            return;
        }
        // The other methods of the default VFS only use its pAppData and sizes, which the copy keeps.
        g_vfs = *g_real;
        g_vfs.pNext = nullptr;
        g_vfs.zName = k_vfs_name;
        g_vfs.szOsFile = static_cast<int>(sizeof(WrappedFile)) + g_real->szOsFile;
        g_vfs.xOpen = x_open;
        g_vfs.xDelete = x_delete;
        status = sqlite3_vfs_register(&g_vfs, 0);
    });
    if (status != SQLITE_OK) {
        throw enmap::StoreError(std::string("cannot register the crash-test SQLite VFS: ") +
                                sqlite3_errstr(status));
    }
    return k_vfs_name;
}

}  // namespace rollback
