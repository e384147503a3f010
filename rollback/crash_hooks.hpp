#pragma once
// Test hooks for the crash tests of `rollback files` (tests/rollback/test_files.cpp). With
// ENMAP_MIGRATE_TEST_KILL_AT set, the process kills itself with SIGKILL at a named step, or, for
// `fold-io:N`, just before the N-th write, sync, truncate or delete that SQLite makes while
// fold_database runs. Without the variable they do nothing.

#include <functional>
#include <string_view>

namespace rollback {

/// Kills the process with SIGKILL when ENMAP_MIGRATE_TEST_KILL_AT names `step`.
void kill_point(std::string_view step);

/// Tests only: a function kill_point calls with every step before anything else (empty: none), so
/// a test can race a writer against a named step. Not thread-safe: set it before the run.
void set_step_hook(const std::function<void(std::string_view step)>& hook);

/// The SQLite VFS that fold_database opens databases with: a counting wrapper of the default VFS
/// under `fold-io:N`, else nullptr (the default VFS). Throws StoreError when it cannot register it.
const char* crash_test_vfs();

}  // namespace rollback
