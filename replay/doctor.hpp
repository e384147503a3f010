#pragma once
// replay/ doctor: checks a target database before migration day: the server, TLS, the endpoint,
// the privileges, encoding and settings replay depends on, and the link's round-trip time and COPY
// throughput, from which it estimates how long replaying a given source will take there.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "replay/source.hpp"

namespace replay {

/// One check: ok, warn or fail, what was found, and what to do about it.
struct DoctorCheck {
    std::string name;    // server, connection, tls, channel_binding, endpoint, privileges, ...
    std::string status;  // "ok", "warn" or "fail"
    std::string detail;
    std::string hint;
    nlohmann::json data = nlohmann::json::object();  // the measured values, for --json
};

/// How long a replay of the source would take on this link, from the measurements.
struct DoctorEstimate {
    std::uint64_t rows = 0;
    std::uint64_t bytes = 0;  // the COPY tuples replay would send
    std::size_t tables = 0;
    double copy_seconds = 0;
    double key_seconds = 0;
    double validate_seconds = 0;
    double round_trip_seconds = 0;
    double total_seconds = 0;
};

/// What `doctor` was asked to check.
struct DoctorOptions {
    std::string database_url;
    Source* source = nullptr;                       // with --snapshot: prepared here, for the estimate
    int round_trips = 9;                            // SELECT 1s timed for the round-trip median
    std::size_t copy_bytes = std::size_t{8} << 20;  // jsonb rows sent into a temporary table
};

/// Every check's outcome.
struct DoctorReport {
    std::string database;  // the redacted URL
    std::vector<DoctorCheck> checks;
    std::optional<DoctorEstimate> estimate;
    /// As JSON for --json.
    [[nodiscard]] nlohmann::json to_json() const;
    /// 0 when no check failed (warnings allowed), 6 when one did.
    [[nodiscard]] int exit_status() const;
};

/// Runs every check against options.database_url. A connection that cannot be opened is a failed
/// check, not an exception. Throws enmap::Error only for the source (a damaged store, a missing
/// snapshot).
DoctorReport run_doctor(const DoctorOptions& options);

/// True for a host name of a Neon pooler endpoint ("ep-...-pooler.region.aws.neon.tech").
bool is_neon_pooler(const std::string& host);

}  // namespace replay
