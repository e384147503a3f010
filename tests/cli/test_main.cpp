// The binary's global behaviour: help, version, usage errors.

#include <doctest/doctest.h>

#include "tests/support.hpp"

TEST_CASE("cli: --version prints the version and exits 0") {
    auto r = test_support::run_cli({"--version"});
    CHECK(r.status == 0);
    CHECK(r.out.find("enmap-migrate 0.1.0") != std::string::npos);
}

TEST_CASE("cli: --help lists the global options and the exit statuses") {
    auto r = test_support::run_cli({"--help"});
    CHECK(r.status == 0);
    for (const char* needle : {"--store", "--database", "--json", "-v", "-q", "Exit statuses",
                               "8  validation", "9  out of disk space"}) {
        CAPTURE(needle);
        CHECK(r.out.find(needle) != std::string::npos);
    }
}

TEST_CASE("cli: every command that writes files lists status 9, out of disk space, in its --help") {
    for (const auto& args : std::vector<std::vector<std::string>>{{"snapshot", "create", "--help"},
                                                                  {"snapshot", "archive", "--help"},
                                                                  {"snapshot", "restore", "--help"},
                                                                  {"rollback", "files", "--help"},
                                                                  {"replay", "--help"},
                                                                  {"rehearse", "--help"},
                                                                  {"cleanup", "--help"}}) {
        CAPTURE(args[0] + " " + args[1]);
        auto r = test_support::run_cli(args);
        CHECK(r.status == 0);
        const bool listed = r.out.find("9 out of disk space") != std::string::npos ||
                            r.out.find("9  out of disk space") != std::string::npos;
        CHECK(listed);
    }
}

TEST_CASE("cli: an unknown option is a usage error with status 2") {
    auto r = test_support::run_cli({"--no-such-option"});
    CHECK(r.status == 2);
    CHECK(r.err.find("no-such-option") != std::string::npos);
}

TEST_CASE("cli: the crash tests' kill points are in the test-hook binary only, not in enmap-migrate") {
    // rollback/crash_hooks.cpp reads ENMAP_MIGRATE_TEST_KILL_AT; the product binary links the
    // no-op rollback/crash_hooks_off.cpp instead (CMakeLists.txt).
    const std::string k_variable = "ENMAP_MIGRATE_TEST_KILL_AT";
    CHECK(test_support::read_file(ENMAP_MIGRATE_BINARY).find(k_variable) == std::string::npos);
    CHECK(test_support::read_file(ENMAP_MIGRATE_HOOKS_BINARY).find(k_variable) != std::string::npos);
}
