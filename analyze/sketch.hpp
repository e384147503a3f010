#pragma once
// analyze/ bounded-memory summaries of a stream of values: a 64-bit text hash, a distinct counter
// that is exact up to a few hundred values and then degrades to a HyperLogLog sketch, a reservoir
// sample, and log2-bucket histograms. Each has a fixed upper bound on its memory.

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace analyze {

/// A well-mixed 64-bit hash of `text` (FNV-1a, then the splitmix64 finalizer).
std::uint64_t hash64(std::string_view text);

/// Counts distinct values by their hash64: exact up to k_exact values, then a HyperLogLog sketch
/// of 2^k_precision registers (about 1.6% standard error). At most about 4 KiB.
class DistinctCounter {
public:
    static constexpr std::size_t k_exact = 256;
    static constexpr unsigned k_precision = 12;

    void add(std::uint64_t hash);
    /// The number of distinct values seen (an estimate once is_exact() is false).
    [[nodiscard]] std::uint64_t estimate() const;
    /// True while the count is exact.
    [[nodiscard]] bool is_exact() const { return m_registers.empty(); }

private:
    std::vector<std::uint64_t> m_exact;  // sorted
    std::vector<std::uint8_t> m_registers;
};

/// A deterministic pseudo-random generator (splitmix64), so that reports are reproducible.
class Random {
public:
    explicit Random(std::uint64_t seed) : m_state(seed) {}
    std::uint64_t next();
    /// A number in [0, bound).
    std::uint64_t below(std::uint64_t bound) { return bound == 0 ? 0 : next() % bound; }

private:
    std::uint64_t m_state;
};

/// A uniform sample of at most `capacity` items of a stream (algorithm R).
template <typename T>
class Reservoir {
public:
    explicit Reservoir(std::size_t capacity = 3) : m_capacity(capacity) {}
    /// Offers one item; `make` builds it only when it is kept.
    template <typename Make>
    void offer(Random& random, Make&& make) {
        ++m_seen;
        if (m_items.size() < m_capacity) {
            m_items.push_back(make());
            return;
        }
        std::uint64_t slot = random.below(m_seen);
        if (slot < m_capacity) {
            m_items[slot] = make();
        }
    }
    [[nodiscard]] const std::vector<T>& items() const { return m_items; }
    [[nodiscard]] std::uint64_t seen() const { return m_seen; }

private:
    std::size_t m_capacity;
    std::uint64_t m_seen = 0;
    std::vector<T> m_items;
};

/// Counts of non-negative integers in log2 buckets: 0, 1, 2-3, 4-7, ..., 2^30 and above.
class Log2Histogram {
public:
    static constexpr std::size_t k_buckets = 32;
    void add(std::uint64_t value);
    /// The bucket `value` falls in.
    static std::size_t bucket(std::uint64_t value);
    /// The smallest and largest value of bucket `i`.
    static std::uint64_t bucket_min(std::size_t i);
    static std::uint64_t bucket_max(std::size_t i);
    [[nodiscard]] const std::array<std::uint64_t, k_buckets>& counts() const { return m_counts; }
    [[nodiscard]] std::uint64_t min() const { return m_min; }
    [[nodiscard]] std::uint64_t max() const { return m_max; }
    [[nodiscard]] std::uint64_t total() const { return m_total; }
    [[nodiscard]] std::uint64_t sum() const { return m_sum; }

private:
    std::array<std::uint64_t, k_buckets> m_counts{};
    std::uint64_t m_min = UINT64_MAX;
    std::uint64_t m_max = 0;
    std::uint64_t m_total = 0;
    std::uint64_t m_sum = 0;
};

}  // namespace analyze
