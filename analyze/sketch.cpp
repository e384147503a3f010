#include "analyze/sketch.hpp"

#include <algorithm>
#include <cmath>

namespace analyze {

namespace {

std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace

std::uint64_t hash64(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return mix(h ^ text.size());
}

void DistinctCounter::add(std::uint64_t hash) {
    if (m_registers.empty()) {
        auto it = std::lower_bound(m_exact.begin(), m_exact.end(), hash);
        if (it != m_exact.end() && *it == hash) {
            return;
        }
        if (m_exact.size() < k_exact) {
            m_exact.insert(it, hash);
            return;
        }
        m_registers.assign(std::size_t{1} << k_precision, 0);
        std::vector<std::uint64_t> exact;
        exact.swap(m_exact);
        for (std::uint64_t h : exact) {
            add(h);
        }
    }
    std::size_t index = hash >> (64 - k_precision);
    std::uint64_t rest = (hash << k_precision) | (std::uint64_t{1} << (k_precision - 1));
    auto rank = static_cast<std::uint8_t>(__builtin_clzll(rest) + 1);
    m_registers[index] = std::max(m_registers[index], rank);
}

std::uint64_t DistinctCounter::estimate() const {
    if (m_registers.empty()) {
        return m_exact.size();
    }
    const double m = static_cast<double>(m_registers.size());
    double sum = 0;
    std::size_t zeros = 0;
    for (std::uint8_t r : m_registers) {
        sum += std::ldexp(1.0, -static_cast<int>(r));
        zeros += r == 0 ? 1 : 0;
    }
    const double alpha = 0.7213 / (1 + 1.079 / m);
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && zeros > 0) {
        e = m * std::log(m / static_cast<double>(zeros));  // linear counting for small cardinalities
    }
    return static_cast<std::uint64_t>(std::llround(e));
}

std::uint64_t Random::next() {
    m_state += 0x9e3779b97f4a7c15ULL;
    return mix(m_state);
}

std::size_t Log2Histogram::bucket(std::uint64_t value) {
    if (value == 0) {
        return 0;
    }
    auto b = static_cast<std::size_t>(64 - __builtin_clzll(value));  // 1 -> 1, 2-3 -> 2, 4-7 -> 3
    return std::min(b, k_buckets - 1);
}

std::uint64_t Log2Histogram::bucket_min(std::size_t i) {
    return i == 0 ? 0 : std::uint64_t{1} << (i - 1);
}

std::uint64_t Log2Histogram::bucket_max(std::size_t i) {
    if (i == 0) {
        return 0;
    }
    if (i == k_buckets - 1) {
        return UINT64_MAX;
    }
    return (std::uint64_t{1} << i) - 1;
}

void Log2Histogram::add(std::uint64_t value) {
    ++m_counts[bucket(value)];
    m_min = std::min(m_min, value);
    m_max = std::max(m_max, value);
    ++m_total;
    m_sum += value;
}

}  // namespace analyze
