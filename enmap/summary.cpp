#include "enmap/summary.hpp"

#include <algorithm>
#include <deque>
#include <future>

#include "enmap/error.hpp"
#include "enmap/sha256.hpp"

namespace enmap {

namespace {

std::string sha256_hex(const unsigned char* bytes, std::size_t size) {
    unsigned char digest[32];
    sha256_one(bytes, size, digest);
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned char byte : digest) {
        hex += k_hex[byte >> 4];
        hex += k_hex[byte & 0xF];
    }
    return hex;
}

// sum += addend, both 256-bit little-endian limbs, modulo 2^256.
void add_256(std::array<std::uint64_t, 4>& sum, const std::array<std::uint64_t, 4>& addend) {
    std::uint64_t carry = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        std::uint64_t partial = sum[i] + addend[i];
        std::uint64_t carry_out = partial < sum[i] ? 1 : 0;
        sum[i] = partial + carry;
        carry = carry_out + (sum[i] < partial ? 1 : 0);
    }
}

// A row hash as a 256-bit number, byte 0 least significant.
std::array<std::uint64_t, 4> hash_number(const unsigned char* digest) {
    std::array<std::uint64_t, 4> number{};
    for (std::size_t i = 0; i < 32; ++i) {
        number[i / 8] |= static_cast<std::uint64_t>(digest[i]) << (8 * (i % 8));
    }
    return number;
}

}  // namespace

ContentDigest::ContentDigest() = default;
ContentDigest::~ContentDigest() = default;

void ContentDigest::add(std::string_view key, std::string_view value_json) {
    // The record is kept until the next one comes, and the two are hashed together (sha256_two).
    std::string& record = m_has_pending ? m_scratch : m_pending;
    record.clear();
    append_json_string(record, key);
    record += '\x1F';
    record.append(value_json);
    record += '\x1E';
    ++m_rows;
    if (!m_has_pending) {
        m_has_pending = true;
        return;
    }
    unsigned char first[32];
    unsigned char second[32];
    sha256_two(m_pending.data(), m_pending.size(), m_scratch.data(), m_scratch.size(), first, second);
    add_256(m_sum, hash_number(first));
    add_256(m_sum, hash_number(second));
    m_has_pending = false;
}

std::array<std::uint64_t, 4> ContentDigest::sum() const {
    std::array<std::uint64_t, 4> sum = m_sum;
    if (m_has_pending) {
        unsigned char digest[32];
        sha256_one(m_pending.data(), m_pending.size(), digest);
        add_256(sum, hash_number(digest));
    }
    return sum;
}

void ContentDigest::merge(const ContentDigest& other) {
    add_256(m_sum, other.sum());
    m_rows += other.m_rows;
}

std::string ContentDigest::finish() const {
    // 32 bytes of the sum (least significant first), then the row count as 8 bytes little-endian.
    const std::array<std::uint64_t, 4> total = sum();
    unsigned char bytes[40];
    for (std::size_t i = 0; i < 32; ++i) {
        bytes[i] = static_cast<unsigned char>(total[i / 8] >> (8 * (i % 8)));
    }
    for (std::size_t i = 0; i < 8; ++i) {
        bytes[32 + i] = static_cast<unsigned char>(m_rows >> (8 * i));
    }
    return sha256_hex(bytes, sizeof(bytes));
}

void add_table_stats(TableStats& total, const TableStats& part) {
    total.rows += part.rows;
    total.null_values += part.null_values;
    for (const auto& [encoding, count] : part.encodings) {
        total.encodings[encoding] += count;
    }
    total.lossy += part.lossy;
}

TableSummary table_summary(const std::string& table, const TableStats& stats, const ContentDigest& digest) {
    TableSummary item;
    item.name = table;
    item.rows = stats.rows;
    item.null_values = stats.null_values;
    for (const auto& [encoding, count] : stats.encodings) {
        item.encodings[std::string(encoding_name(encoding))] = count;
    }
    item.sha256 = digest.finish();
    item.lossy = stats.lossy;
    return item;
}

nlohmann::json lossy_to_json(const LossyCounts& counts) {
    nlohmann::json out = nlohmann::json::object();
    auto put = [&](const char* name, std::uint64_t value) {
        if (value != 0) {
            out[name] = value;
        }
    };
    put("non_finite", counts.non_finite);
    put("negative_zero", counts.negative_zero);
    put("undefined_dropped", counts.undefined_dropped);
    put("sparse_holes", counts.sparse_holes);
    put("invalid_dates", counts.invalid_dates);
    put("text_replaced", counts.text_replaced);
    put("functions_dropped", counts.functions_dropped);
    put("functions_kept", counts.functions_kept);
    return out;
}

nlohmann::json stats_to_json(const TableStats& stats) {
    nlohmann::json encodings = nlohmann::json::object();
    for (const auto& [encoding, count] : stats.encodings) {
        encodings[std::string(encoding_name(encoding))] = count;
    }
    return {{"name", stats.table},
            {"rows", stats.rows},
            {"null_values", stats.null_values},
            {"encoding", stats.encoding_label()},
            {"encodings", encodings},
            {"forced", stats.forced},
            {"lossy", lossy_to_json(stats.lossy)}};
}

nlohmann::json TableSummary::to_json() const {
    return {{"name", name},           {"rows", rows},     {"null_values", null_values},
            {"encodings", encodings}, {"sha256", sha256}, {"lossy", lossy_to_json(lossy)}};
}

nlohmann::json Summary::to_json() const {
    nlohmann::json out = {{"digest", digest_version}, {"tables", nlohmann::json::array()}};
    for (const auto& table : tables) {
        out["tables"].push_back(table.to_json());
    }
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& counter : autonum) {
        counters[counter.enmap] = counter.lastnum;
    }
    out["autonum"] = counters;
    out["change_tables"] = change_tables;
    return out;
}

namespace {

// Raw rows copied out of a cursor, to be decoded on another thread.
// What one batch adds to its table's summary.
struct Partial {
    std::unique_ptr<ContentDigest> digest = std::make_unique<ContentDigest>();
    TableStats stats;
};

constexpr std::size_t k_batch_bytes = 1U << 20;

Partial decode_batch(const RawRowBatch& batch, const std::string& origin, const std::string& table,
                     const ReadOptions& options) {
    ViolationLog log;  // the summary's policies (replace, source) never refuse a row
    TableDecoder decoder(origin, table, options, log);
    Partial partial;
    DecodedRow decoded;
    for (const auto& r : batch.rows) {
        decoder.decode(batch.raw(r), decoded);
        partial.digest->add(decoded.key, decoded.value);
    }
    partial.stats = decoder.stats();
    return partial;
}

}  // namespace

Summary summarize(const Source& source, const std::map<std::string, Encoding>& formats,
                  const std::vector<std::string>& tables, unsigned threads) {
    ReadOptions options;
    options.decode.invalid_text = InvalidTextPolicy::k_replace;
    options.decode.functions = FunctionPolicy::k_source;
    options.formats = formats;
    Summary summary;
    if (const auto* database = dynamic_cast<const Database*>(&source)) {
        summary.autonum = database->autonum();
        summary.change_tables = database->change_tables();
    }
    // This thread reads rows in storage order and copies them into batches; `threads` workers
    // decode and digest the batches. The digest is a sum, so the order they finish in is free.
    const std::size_t window = std::max(1U, threads) * 2;
    RawRow row;
    for (const auto& table : source.select_tables(tables)) {
        std::string origin = source.origin(table);
        ContentDigest digest;
        TableStats stats;
        std::deque<std::future<Partial>> inflight;
        // The batches being decoded, in the order of `inflight`; a decoded batch is cleared and filled
        // again, so that its memory is not allocated (and faulted in) anew for every megabyte of rows.
        std::deque<std::shared_ptr<RawRowBatch>> decoding;
        std::vector<std::shared_ptr<RawRowBatch>> spare;
        auto fresh_batch = [&] {
            if (!spare.empty()) {
                auto reused = std::move(spare.back());
                spare.pop_back();
                reused->clear();
                return reused;
            }
            auto made = std::make_shared<RawRowBatch>();
            made->bytes.reserve(k_batch_bytes * 2);
            return made;
        };
        auto collect = [&] {
            Partial partial = inflight.front().get();
            inflight.pop_front();
            spare.push_back(std::move(decoding.front()));
            decoding.pop_front();
            digest.merge(*partial.digest);
            add_table_stats(stats, partial.stats);
        };
        auto batch = fresh_batch();
        auto submit = [&] {
            if (inflight.size() >= window) {
                collect();
            }
            inflight.push_back(std::async(std::launch::async, [batch, &origin, &table, &options] {
                return decode_batch(*batch, origin, table, options);
            }));
            decoding.push_back(std::move(batch));
            batch = fresh_batch();
        };
        try {
            auto cursor = source.rows(table, RowOrder::k_storage);
            while (cursor->next(row)) {
                batch->add(row);
                if (batch->bytes.size() >= k_batch_bytes) {
                    submit();
                }
            }
            if (!batch->rows.empty()) {
                submit();
            }
            while (!inflight.empty()) {
                collect();
            }
        } catch (...) {
            for (auto& pending : inflight) {
                pending.wait();
            }
            throw;
        }
        summary.tables.push_back(table_summary(table, stats, digest));
    }
    return summary;
}

}  // namespace enmap
