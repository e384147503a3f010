#include "replay/events.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

namespace replay {

namespace {
std::string utc_now() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}
}  // namespace

bool stderr_is_terminal() {
    return ::isatty(2) == 1;
}

Events::Events(bool json, bool bars, std::FILE* out) : m_json(json), m_bars(bars), m_out(out) {}

void Events::emit(nlohmann::json event) {
    event["schema"] = k_events_schema;
    event["v"] = k_events_version;
    event["time"] = utc_now();
    std::string line = event.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), m_out);
    std::fflush(m_out);
}

void Events::clear_bar() {
    if (m_bar_shown) {
        std::fputs("\r\033[K", stderr);
        m_bar_shown = false;
    }
}

void Events::module_started(const std::string& module, int index, int count, std::uint64_t rows) {
    if (m_json) {
        emit({{"event", "module_started"},
              {"module", module},
              {"index", index},
              {"count", count},
              {"rows", rows}});
    }
    clear_bar();
    spdlog::info("module {} ({}/{}): {} rows", module, index, count, rows);
}

void Events::progress(const std::string& module, const std::string& table, std::uint64_t done,
                      std::uint64_t total, double seconds) {
    auto now = std::chrono::steady_clock::now();
    bool last = done == total;
    if (!last && now - m_last_progress < std::chrono::milliseconds(m_json ? 1000 : 100)) {
        return;
    }
    m_last_progress = now;
    double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
    double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
    if (m_json) {
        emit({{"event", "progress"},
              {"module", module},
              {"table", table},
              {"rows_done", done},
              {"rows_total", total},
              {"rows_per_second", static_cast<std::uint64_t>(rate)},
              {"eta_seconds", eta}});
    }
    if (m_bars) {
        constexpr int k_width = 30;
        double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
        int filled = static_cast<int>(fraction * k_width);
        std::string bar(static_cast<std::size_t>(filled), '#');
        bar.append(static_cast<std::size_t>(k_width - filled), '.');
        std::fprintf(stderr, "\r\033[K%-24.24s [%s] %3d%% %llu/%llu rows %.0f rows/s ETA %.0fs",
                     table.c_str(), bar.c_str(), static_cast<int>(fraction * 100),
                     static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate,
                     eta);
        std::fflush(stderr);
        m_bar_shown = true;
    }
}

void Events::module_finished(const nlohmann::json& module) {
    clear_bar();
    if (m_json) {
        nlohmann::json e = module;
        e["event"] = "module_finished";
        emit(e);
    }
    spdlog::info("module {}: {}, {} rows in {:.2f}s", module.value("module", ""),
                 module.value("status", "committed"), module.value("rows", 0), module.value("seconds", 0.0));
}

void Events::module_failed(const nlohmann::json& module) {
    clear_bar();
    if (m_json) {
        nlohmann::json e = module;
        e["event"] = "module_failed";
        emit(e);
    }
    spdlog::warn("module {}: rolled back to its savepoint: {}", module.value("module", ""),
                 module.value("error", ""));
}

void Events::phase(const std::string& name) {
    clear_bar();
    if (m_json) {
        emit({{"event", "phase"}, {"phase", name}});
    }
    spdlog::debug("phase: {}", name);
}

void Events::run_finished(const nlohmann::json& report) {
    clear_bar();
    if (m_json) {
        nlohmann::json e = report;
        e["event"] = "run_finished";
        emit(e);
    }
}

void Events::report(const nlohmann::json& report) {
    clear_bar();
    if (m_json) {
        nlohmann::json e = report;
        e["event"] = "report";
        emit(e);
    }
}

}  // namespace replay
