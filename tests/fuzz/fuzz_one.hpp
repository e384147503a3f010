#pragma once
// One fuzzing step, shared by the libFuzzer target (tests/fuzz/fuzz_decode.cpp) and the doctest
// that replays tests/fuzz/corpus/. The first byte picks the encoding and the policies; the rest is
// the value text. Every entry point must either succeed or throw DecodeError, and whatever it
// writes must be valid JSON.

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "enmap/decode.hpp"
#include "enmap/decode/visitor.hpp"

namespace fuzz {

/// Aborts (a finding) unless `json` is one valid JSON text.
inline void require_json(const std::string& json) {
    if (!nlohmann::json::accept(json)) {
        std::abort();
    }
}

/// Counts the containers it is told of; aborts unless they nest properly.
class NestingVisitor : public enmap::ValueVisitor {
public:
    void begin_object() override { m_open.push_back('{'); }
    void end_object() override { close('{'); }
    void begin_array() override { m_open.push_back('['); }
    void end_array() override { close('['); }
    void begin_map() override { m_open.push_back('m'); }
    void end_map() override { close('m'); }
    void begin_set() override { m_open.push_back('s'); }
    void end_set() override { close('s'); }
    [[nodiscard]] bool balanced() const { return m_open.empty(); }

private:
    void close(char c) {
        if (m_open.empty() || m_open.back() != c) {
            std::abort();
        }
        m_open.pop_back();
    }
    std::string m_open;
};

/// Runs every decoder entry point on one input.
inline void fuzz_one(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return;
    }
    const std::uint8_t selector = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const enmap::Encoding encodings[] = {enmap::Encoding::k_json, enmap::Encoding::k_serialize_javascript,
                                         enmap::Encoding::k_better_serialize};
    enmap::DecodeOptions options;
    options.invalid_text =
        (selector & 4) != 0 ? enmap::InvalidTextPolicy::k_error : enmap::InvalidTextPolicy::k_replace;
    options.functions = static_cast<enmap::FunctionPolicy>((selector >> 3) % 3);
    options.max_sparse_length = 4096;
    const enmap::Encoding encoding = encodings[selector % 3];

    std::string out;
    std::vector<enmap::Violation> violations;
    enmap::LossyCounts counts;
    try {
        enmap::decode_value(text, encoding, options, out, violations, counts);
        require_json(out);
        if (options.invalid_text == enmap::InvalidTextPolicy::k_replace &&
            options.functions != enmap::FunctionPolicy::k_error && !violations.empty()) {
            std::abort();  // only the error policies record violations
        }
    } catch (const enmap::DecodeError&) {
        if (!out.empty()) {
            std::abort();  // a failed decode must leave the output as it was
        }
    }
    // With a visitor: the same canonical JSON and counts, or the same failure; events that nest.
    {
        const std::string plain = out;
        const bool failed = plain.empty();
        std::string visited;
        std::vector<enmap::Violation> visited_violations;
        enmap::LossyCounts visited_counts;
        NestingVisitor visitor;
        try {
            enmap::decode_value_visit(text, encoding, options, visitor, visited, visited_violations,
                                      visited_counts);
            if (failed || visited != plain || !visitor.balanced()) {
                std::abort();
            }
        } catch (const enmap::DecodeError&) {
            if (!failed || !visited.empty()) {
                std::abort();
            }
        }
    }
    out.clear();
    try {
        const std::size_t taken =
            enmap::decode_value_prefix(text, encoding, options, out, violations, counts);
        if (taken > text.size()) {
            std::abort();
        }
        require_json(out);
    } catch (const enmap::DecodeError&) {
    }
    out.clear();
    const enmap::Encoding detected = enmap::detect_encoding(text);
    try {
        if (enmap::decode_value_detect(text, options, out, violations, counts) != detected) {
            std::abort();  // detection and detect-and-decode must agree
        }
        require_json(out);
    } catch (const enmap::DecodeError&) {
    }
    out.clear();
    enmap::decode_key(text, options, out, violations, counts);
}

}  // namespace fuzz
