// The public decoding API (enmap/decode.hpp) over the grammars of enmap/decode/: runs one decode
// with its per-thread workspace, moves deep values to a thread with a big stack, and detects.

#include "enmap/decode.hpp"

#include <pthread.h>
#include <cstdio>
#include <exception>

#include "enmap/decode/parser.hpp"

namespace enmap {

namespace {

using decode::k_inline_stack_budget;
using decode::k_replacement;
using decode::NeedsBigStack;
using decode::NullVisitor;
using decode::Parser;
using decode::utf8_sequence;
using decode::Workspace;

/// One decode on the current stack; on any error leaves out, violations and counts as they were.
template <typename V>
std::size_t transcode_here(std::string_view text, Encoding encoding, const DecodeOptions& options,
                           std::string& out, std::vector<Violation>& violations, LossyCounts& counts,
                           bool whole, bool* saw_js, V& visitor, std::size_t stack_budget, bool big_stack) {
    const std::size_t out_mark = out.size();
    const std::size_t violations_mark = violations.size();
    const LossyCounts saved_counts = counts;
    try {
        thread_local Workspace t_work;
        Workspace local;
        Workspace& work = t_work.busy ? local : t_work;
        work.busy = true;
        struct Release {
            Workspace& work;
            ~Release() { work.busy = false; }
        } release{work};
        Parser<V> parser(text, options, out, violations, counts, work, visitor, stack_budget, big_stack);
        const std::size_t taken = parser.run(encoding);
        if (whole) {
            parser.expect_end();
        }
        if (saw_js != nullptr) {
            *saw_js = parser.saw_js();
        }
        return taken;
    } catch (...) {
        out.resize(out_mark);
        violations.resize(violations_mark);
        counts = saved_counts;
        throw;
    }
}

/// Runs one decode. A value nesting deeper than the caller's stack budget is decoded again on a
/// thread with a stack sized for max_depth, so deep input never overflows a stack. A visitor
/// sees the events of the decode that succeeds.
template <typename V>
std::size_t on_big_stack(std::string_view text, Encoding encoding, const DecodeOptions& options,
                         std::string& out, std::vector<Violation>& violations, LossyCounts& counts,
                         bool whole, bool* saw_js, V& v);

std::size_t transcode(std::string_view text, Encoding encoding, const DecodeOptions& options,
                      std::string& out, std::vector<Violation>& violations, LossyCounts& counts, bool whole,
                      bool* saw_js = nullptr, bool* used_big_stack = nullptr) {
    NullVisitor null_visitor;
    NullVisitor& v = null_visitor;
    try {
        return transcode_here(text, encoding, options, out, violations, counts, whole, saw_js, v,
                              k_inline_stack_budget, false);
    } catch (const NeedsBigStack&) {
        // Decoded again below, on a bigger stack.
    }
    if (used_big_stack != nullptr) {
        *used_big_stack = true;
    }
    return on_big_stack(text, encoding, options, out, violations, counts, whole, saw_js, v);
}

template <typename V>
std::size_t on_big_stack(std::string_view text, Encoding encoding, const DecodeOptions& options,
                         std::string& out, std::vector<Violation>& violations, LossyCounts& counts,
                         bool whole, bool* saw_js, V& v) {
    constexpr std::size_t k_margin = std::size_t{1024} * 1024;
    constexpr std::size_t k_per_level = std::size_t{8} * 1024;
    const std::size_t stack_size = std::min<std::size_t>(
        std::max<std::size_t>(64ULL << 20, options.max_depth * k_per_level) + k_margin, 1ULL << 30);
    struct Job {
        std::string_view text;
        Encoding encoding;
        const DecodeOptions* options;
        std::string* out;
        std::vector<Violation>* violations;
        LossyCounts* counts;
        bool whole;
        bool* saw_js;
        V* visitor;
        std::size_t budget;
        std::size_t taken = 0;
        std::exception_ptr error;
    } job{text, encoding, &options, &out, &violations, &counts, whole, saw_js, &v, stack_size - k_margin,
          0,    {}};
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setstacksize(&attributes, stack_size);
    pthread_t thread;
    const int created = pthread_create(
        &thread, &attributes,
        [](void* argument) -> void* {
            auto* j = static_cast<Job*>(argument);
            try {
                j->taken = transcode_here(j->text, j->encoding, *j->options, *j->out, *j->violations,
                                          *j->counts, j->whole, j->saw_js, *j->visitor, j->budget, true);
            } catch (...) {
                j->error = std::current_exception();
            }
            return nullptr;
        },
        &job);
    pthread_attr_destroy(&attributes);
    if (created != 0) {
        throw DecodeError(
            "value nests too deeply to decode here (no thread with a larger stack could be started)", 0);
    }
    pthread_join(thread, nullptr);
    if (job.error) {
        std::rethrow_exception(job.error);
    }
    return job.taken;
}

bool looks_like_envelope(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
        ++i;
    }
    return text.substr(i, 4) == "{\"t\"";
}

}  // namespace

LossyCounts& LossyCounts::operator+=(const LossyCounts& other) {
    non_finite += other.non_finite;
    negative_zero += other.negative_zero;
    undefined_dropped += other.undefined_dropped;
    sparse_holes += other.sparse_holes;
    invalid_dates += other.invalid_dates;
    text_replaced += other.text_replaced;
    functions_dropped += other.functions_dropped;
    functions_kept += other.functions_kept;
    return *this;
}

bool LossyCounts::any() const {
    return non_finite != 0 || negative_zero != 0 || undefined_dropped != 0 || sparse_holes != 0 ||
           invalid_dates != 0 || text_replaced != 0 || functions_dropped != 0 || functions_kept != 0;
}

std::string_view encoding_name(Encoding encoding) {
    switch (encoding) {
        case Encoding::k_json:
            return "json";
        case Encoding::k_serialize_javascript:
            return "serialize-javascript";
        case Encoding::k_better_serialize:
            return "better-serialize";
    }
    return "unknown";
}

Encoding parse_encoding(std::string_view name) {
    for (Encoding encoding :
         {Encoding::k_json, Encoding::k_serialize_javascript, Encoding::k_better_serialize}) {
        if (name == encoding_name(encoding)) {
            return encoding;
        }
    }
    throw UsageError("unknown encoding '" + std::string(name) + "'",
                     "use one of: json, serialize-javascript, better-serialize");
}

Encoding decode_value_detect(std::string_view text, const DecodeOptions& options, std::string& out,
                             std::vector<Violation>& violations, LossyCounts& counts) {
    if (looks_like_envelope(text)) {
        try {
            transcode(text, Encoding::k_better_serialize, options, out, violations, counts, true);
            return Encoding::k_better_serialize;
        } catch (const DecodeError&) {
            // Not a strict envelope at every level: it is 5.x data.
        }
    }
    bool saw_js = false;
    transcode(text, Encoding::k_serialize_javascript, options, out, violations, counts, true, &saw_js);
    return saw_js ? Encoding::k_serialize_javascript : Encoding::k_json;
}

Encoding detect_encoding(std::string_view text) {
    DecodeOptions options;
    options.invalid_text = InvalidTextPolicy::k_replace;
    options.functions = FunctionPolicy::k_source;
    std::string out;
    std::vector<Violation> violations;
    LossyCounts counts;
    try {
        return decode_value_detect(text, options, out, violations, counts);
    } catch (const DecodeError&) {
        // Malformed in every encoding: report the generation its syntax points to; decoding says why.
        if (text.find("new ") != std::string_view::npos || text.find("undefined") != std::string_view::npos ||
            text.find("BigInt(") != std::string_view::npos || text.find("=>") != std::string_view::npos ||
            text.find("function") != std::string_view::npos) {
            return Encoding::k_serialize_javascript;
        }
        return looks_like_envelope(text) ? Encoding::k_better_serialize : Encoding::k_json;
    }
}

void decode_value(std::string_view text, Encoding encoding, const DecodeOptions& options, std::string& out,
                  std::vector<Violation>& violations, LossyCounts& counts) {
    out.reserve(out.size() + text.size() + 16);
    transcode(text, encoding, options, out, violations, counts, true);
}

std::size_t decode_value_prefix(std::string_view text, Encoding encoding, const DecodeOptions& options,
                                std::string& out, std::vector<Violation>& violations, LossyCounts& counts) {
    return transcode(text, encoding, options, out, violations, counts, false);
}

void decode_value_visit(std::string_view text, Encoding encoding, const DecodeOptions& options,
                        ValueVisitor& visitor, std::string& out, std::vector<Violation>& violations,
                        LossyCounts& counts) {
    // First without events, so that the visitor sees only the one decode that succeeds and
    // learns whether the value needs a big stack.
    std::string scratch;
    std::vector<Violation> scratch_violations;
    LossyCounts scratch_counts;
    bool big = false;
    transcode(text, encoding, options, scratch, scratch_violations, scratch_counts, true, nullptr, &big);
    if (big) {
        on_big_stack(text, encoding, options, out, violations, counts, true, nullptr, visitor);
    } else {
        // The first pass fit the inline budget; the events' virtual calls get room to spare.
        transcode_here(text, encoding, options, out, violations, counts, true, nullptr, visitor,
                       2 * k_inline_stack_budget, true);
    }
}

void decode_key(std::string_view key, const DecodeOptions& options, std::string& out,
                std::vector<Violation>& violations, LossyCounts& counts) {
    const auto* p = reinterpret_cast<const unsigned char*>(key.data());
    const auto* end = p + key.size();
    const auto* start = p;
    auto bad = [&](const std::string& detail) {
        out.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
        out += k_replacement;
        if (options.invalid_text == InvalidTextPolicy::k_replace) {
            ++counts.text_replaced;
        } else {
            violations.push_back({Violation::Kind::k_invalid_text, "key", detail});
        }
    };
    while (p < end) {
        if (*p == 0) {
            bad("NUL byte in key");
            ++p;
            start = p;
        } else if (*p < 0x80) {
            ++p;
        } else {
            auto [length, valid] = utf8_sequence(p, end);
            if (!valid) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "0x%02x", *p);
                bad(std::string("invalid UTF-8 byte ") + buf + " in key");
                p += length;
                start = p;
            } else {
                p += length;
            }
        }
    }
    out.append(reinterpret_cast<const char*>(start), static_cast<std::size_t>(p - start));
}

}  // namespace enmap
