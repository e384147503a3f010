#pragma once
// replay/ progress and monitoring: JSON-lines events for dashboards and log shippers (--json),
// progress bars on a terminal, plain log lines otherwise.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace replay {

/// Every event carries "schema": k_events_schema and "v": k_events_version (docs/events.md and
/// docs/events.schema.json describe them; the version rises on any change a consumer could trip on).
inline constexpr const char* k_events_schema = "enmap-migrate/events";
inline constexpr int k_events_version = 1;

/// Where a replay reports what it does. The default sends nothing but log lines.
class Events {
public:
    /// json: one JSON object per line on `out`; bars: redraw a progress line on stderr.
    Events(bool json = false, bool bars = false, std::FILE* out = stdout);
    virtual ~Events() = default;
    /// A module began: its position, the count, and the rows it will load.
    virtual void module_started(const std::string& module, int index, int count, std::uint64_t rows);
    /// Rows of one table loaded so far; called often, rate-limited here.
    virtual void progress(const std::string& module, const std::string& table, std::uint64_t done,
                          std::uint64_t total, double seconds);
    /// A module was released (its report as JSON).
    virtual void module_finished(const nlohmann::json& module);
    /// A module was rolled back to its savepoint (its report as JSON, with "error").
    virtual void module_failed(const nlohmann::json& module);
    /// A phase outside the modules began: "preflight", "drizzle", "validate", "commit".
    virtual void phase(const std::string& name);
    /// The run ended (the whole report as JSON).
    virtual void run_finished(const nlohmann::json& report);
    /// A command's final report after the run (rehearse's), as the last event.
    virtual void report(const nlohmann::json& report);

private:
    void emit(nlohmann::json event);
    void clear_bar();
    bool m_json;
    bool m_bars;
    std::FILE* m_out;
    bool m_bar_shown = false;
    std::chrono::steady_clock::time_point m_last_progress{};
};

/// True when stderr is a terminal (progress bars are drawn only then).
bool stderr_is_terminal();

}  // namespace replay
