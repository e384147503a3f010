#pragma once
// Helpers shared by the tests: paths to fixtures, scratch folders, the throwaway PostgreSQL
// cluster that scripts/test starts, and running the real binary.

#include <filesystem>
#include <string>
#include <vector>

namespace test_support {

/// The source tree's root.
std::filesystem::path source_dir();
/// tests/fixtures/<name>.
std::filesystem::path fixture(const std::string& name);
/// Names of the fixture folders (enmap-5.7, enmap-5.9, enmap-6.1), sorted.
std::vector<std::string> fixture_names();

/// A fresh empty folder, removed when the object dies.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const { return m_path; }

private:
    std::filesystem::path m_path;
};

/// The URL of the throwaway cluster from ENMAP_MIGRATE_TEST_DATABASE_URL. Fails the test
/// (never skips) when it is not set: run the suite through scripts/test.
std::string server_url();

/// A new, empty database on the throwaway cluster, dropped when the object dies.
class TestDatabase {
public:
    TestDatabase();
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;
    [[nodiscard]] const std::string& url() const { return m_url; }
    [[nodiscard]] const std::string& name() const { return m_name; }

private:
    std::string m_name;
    std::string m_url;
};

/// Result of running the enmap-migrate binary.
struct RunResult {
    int status = -1;
    std::string out;
    std::string err;
};

/// Runs the built enmap-migrate binary with args (no shell), optional stdin text and extra env;
/// with ENMAP_MIGRATE_TEST_KILL_AT in env, the test-hook build of it (enmap-migrate-test-hooks).
RunResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& env = {});

/// Starts the real enmap-migrate with `args` (output to /dev/null) and kills it with SIGKILL after
/// `micros`; true when it was still running then (the fault tests' kill -9 loops).
bool run_and_kill(const std::vector<std::string>& args, long micros);

/// Reads a whole file as bytes.
std::string read_file(const std::filesystem::path& path);

}  // namespace test_support
