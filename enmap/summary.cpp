#include "enmap/summary.hpp"

#include <openssl/evp.h>

#include "enmap/error.hpp"

namespace enmap {

struct ContentDigest::Context {
    EVP_MD_CTX* ctx = nullptr;
};

ContentDigest::ContentDigest() : m_context(std::make_unique<Context>()) {
    m_context->ctx = EVP_MD_CTX_new();
    if (m_context->ctx == nullptr || EVP_DigestInit_ex(m_context->ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(m_context->ctx);
        throw Error("OpenSSL could not set up SHA-256");
    }
}

ContentDigest::~ContentDigest() {
    EVP_MD_CTX_free(m_context->ctx);
}

void ContentDigest::add(std::string_view key, std::string_view value_json) {
    m_scratch.clear();
    append_json_string(m_scratch, key);
    m_scratch += '\x1F';
    EVP_DigestUpdate(m_context->ctx, m_scratch.data(), m_scratch.size());
    EVP_DigestUpdate(m_context->ctx, value_json.data(), value_json.size());
    EVP_DigestUpdate(m_context->ctx, "\x1E", 1);
}

std::string ContentDigest::finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(m_context->ctx, digest, &size) != 1) {
        throw Error("OpenSSL could not finish a SHA-256");
    }
    static constexpr char k_hex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) {
        hex += k_hex[digest[i] >> 4];
        hex += k_hex[digest[i] & 0xF];
    }
    return hex;
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

Summary summarize(const Source& source, const std::map<std::string, Encoding>& formats,
                  const std::vector<std::string>& tables) {
    ReadOptions options;
    options.decode.invalid_text = InvalidTextPolicy::k_replace;
    options.decode.functions = FunctionPolicy::k_source;
    options.formats = formats;
    Summary summary;
    if (const auto* database = dynamic_cast<const Database*>(&source)) {
        summary.autonum = database->autonum();
        summary.change_tables = database->change_tables();
    }
    ViolationLog log;
    DecodedRow decoded;
    RawRow row;
    for (const auto& table : source.select_tables(tables)) {
        TableDecoder decoder(source.origin(table), table, options, log);
        ContentDigest digest;
        auto cursor = source.rows(table);
        while (cursor->next(row)) {
            decoder.decode(row, decoded);
            digest.add(decoded.key, decoded.value);
        }
        const TableStats& stats = decoder.stats();
        TableSummary item;
        item.name = table;
        item.rows = stats.rows;
        item.null_values = stats.null_values;
        for (const auto& [encoding, count] : stats.encodings) {
            item.encodings[std::string(encoding_name(encoding))] = count;
        }
        item.sha256 = digest.finish();
        item.lossy = stats.lossy;
        summary.tables.push_back(std::move(item));
    }
    return summary;
}

}  // namespace enmap
