// Decoding benchmark: 1M realistic bot values (~250 bytes) per encoding, generated with the
// encoder model, decoded on one core. Reports MB/s of value text, and nlohmann::json parsing and
// re-serializing the same JSON-encoded values as the baseline.
//   bench-decode [--count N] [--repeat R]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "enmap/decode.hpp"
#include "enmap/encode.hpp"

namespace {

/// The value texts of one generated table, stored back to back.
struct Table {
    std::string bytes;
    std::vector<std::size_t> offsets;  // offsets.size() == rows + 1
    [[nodiscard]] std::size_t rows() const { return offsets.size() - 1; }
    [[nodiscard]] std::string_view row(std::size_t i) const {
        return std::string_view(bytes).substr(offsets[i], offsets[i + 1] - offsets[i]);
    }
};

Table generate(enmap::Encoding encoding, std::size_t rows) {
    std::mt19937_64 rng(20240229);
    Table table;
    table.offsets.push_back(0);
    for (std::size_t i = 0; i < rows; ++i) {
        table.bytes += *enmap::encode(enmap::bot_value(rng, encoding), encoding);
        table.offsets.push_back(table.bytes.size());
    }
    return table;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Best of `repeat` runs, in this thread's CPU seconds (the machine is shared: CPU time leaves out
/// the time other processes had the core). The wall time of the same run goes to `wall`.
template <typename Fn>
double best_seconds(int repeat, Fn&& fn, double* wall = nullptr) {
    double best = 1e100;
    for (int r = 0; r < repeat; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = thread_cpu_seconds();
        fn();
        const double cpu = thread_cpu_seconds() - cpu_start;
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        if (cpu < best) {
            best = cpu;
            if (wall != nullptr) {
                *wall = elapsed.count();
            }
        }
    }
    return best;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            return line.substr(line.find(':') + 2);
        }
    }
    return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t rows = 1'000'000;
    int repeat = 3;
    std::string only;  // --only ENCODING: decode just that encoding, no baseline (for profiling)
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--count") == 0) {
            rows = std::stoul(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--repeat") == 0) {
            repeat = std::stoi(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--only") == 0) {
            only = argv[i + 1];
        }
    }
    std::printf("decode benchmark: %zu values per encoding, best of %d runs, one core\n", rows, repeat);
    std::printf("machine: %s\n\n", cpu_model().c_str());
    std::printf("%-22s %10s %8s %8s %8s %10s\n", "encoding", "avg bytes", "MB", "cpu s", "wall s", "MB/s");

    enmap::DecodeOptions options;
    options.invalid_text = enmap::InvalidTextPolicy::k_error;
    options.functions = enmap::FunctionPolicy::k_error;
    std::size_t checksum = 0;
    double json_mbps = 0;
    double json_seconds = 0;
    Table json_table;
    for (enmap::Encoding encoding : {enmap::Encoding::k_json, enmap::Encoding::k_serialize_javascript,
                                     enmap::Encoding::k_better_serialize}) {
        if (!only.empty() && enmap::encoding_name(encoding) != only) {
            continue;
        }
        Table table = generate(encoding, rows);
        std::string out;
        std::vector<enmap::Violation> violations;
        enmap::LossyCounts counts;
        double wall = 0;
        const double seconds = best_seconds(
            repeat,
            [&] {
                for (std::size_t i = 0; i < table.rows(); ++i) {
                    out.clear();
                    enmap::decode_value(table.row(i), encoding, options, out, violations, counts);
                    checksum += out.size();
                }
            },
            &wall);
        const double mb = static_cast<double>(table.bytes.size()) / 1e6;
        std::printf("%-22s %10.1f %8.1f %8.3f %8.3f %10.1f\n",
                    std::string(enmap::encoding_name(encoding)).c_str(),
                    static_cast<double>(table.bytes.size()) / static_cast<double>(rows), mb, seconds, wall,
                    mb / seconds);
        const double detect_seconds = best_seconds(
            repeat,
            [&] {
                for (std::size_t i = 0; i < table.rows(); ++i) {
                    out.clear();
                    checksum += static_cast<std::size_t>(
                        enmap::decode_value_detect(table.row(i), options, out, violations, counts));
                }
            },
            &wall);
        std::printf("%-22s %10s %8.1f %8.3f %8.3f %10.1f\n", "  (detect + decode)", "", mb, detect_seconds,
                    wall, mb / detect_seconds);
        if (encoding == enmap::Encoding::k_json) {
            json_mbps = mb / seconds;
            json_seconds = seconds;
            json_table = std::move(table);
        }
        if (!violations.empty()) {
            std::printf("unexpected violations: %zu\n", violations.size());
            return 1;
        }
    }

    if (!only.empty()) {
        return 0;
    }
    std::string out;
    double wall = 0;
    const double baseline = best_seconds(
        repeat,
        [&] {
            for (std::size_t i = 0; i < json_table.rows(); ++i) {
                out = nlohmann::json::parse(json_table.row(i)).dump();
                checksum += out.size();
            }
        },
        &wall);
    const double mb = static_cast<double>(json_table.bytes.size()) / 1e6;
    std::printf("%-22s %10s %8.1f %8.3f %8.3f %10.1f\n", "nlohmann parse+dump", "", mb, baseline, wall,
                mb / baseline);
    std::printf("\nratio decode(json) / nlohmann::json on the same values: %.2fx (%.3f s vs %.3f s)\n",
                json_mbps / (mb / baseline), json_seconds, baseline);
    std::printf("(checksum %zu)\n", checksum);
    return 0;
}
