#include "replay/source.hpp"

#include "enmap/error.hpp"
#include "enmap/table_reader.hpp"
#include "replay/copy.hpp"

namespace replay {

void Source::for_each_tuple_chunk(const std::string& enmap_name, const TupleCallback& callback) {
    constexpr std::size_t k_chunk = 1 << 20;
    std::string tuples;
    std::uint64_t rows = 0;
    for_each_row(enmap_name, [&](std::string_view key, std::string_view value) {
        append_copy_tuple(tuples, key, value);
        ++rows;
        if (tuples.size() >= k_chunk) {
            callback(tuples, rows);
            tuples.clear();
            rows = 0;
        }
    });
    if (rows > 0) {
        callback(tuples, rows);
    }
}

void note_key_size(SourceTable& table, std::string_view key) {
    constexpr std::size_t k_listed = 10;
    if (key.size() <= k_max_key_bytes) {
        return;
    }
    ++table.long_key_count;
    if (table.long_keys.size() < k_listed) {
        table.long_keys.emplace_back(key);
    }
}

void throw_if_long_keys(const std::vector<SourceTable>& tables) {
    std::string list;
    std::uint64_t total = 0;
    for (const auto& t : tables) {
        total += t.long_key_count;
        for (const auto& key : t.long_keys) {
            list += "\n  " + t.enmap_name + "/" + enmap::display_key_short(key);  // its start and length
        }
        if (t.long_key_count > t.long_keys.size()) {
            list += "\n  " + t.enmap_name + ": ... and " +
                    std::to_string(t.long_key_count - t.long_keys.size()) + " more";
        }
    }
    if (total == 0) {
        return;
    }
    throw enmap::InputError(
        std::to_string(total) + " key(s) are longer than " + std::to_string(k_max_key_bytes) +
            " bytes, the most a PostgreSQL btree index entry (the raw_ tables' primary key) is sure to "
            "hold:" +
            list,
        "nothing was written to PostgreSQL; shorten or delete these keys in the bot's data (a key this long "
        "is usually a value stored as a key), take a new snapshot, and replay again");
}

void throw_if_violations(const std::vector<SourceViolation>& violations) {
    if (violations.empty()) {
        return;
    }
    bool text = false;
    bool functions = false;
    std::string list;
    for (const auto& v : violations) {
        list += "\n  " + v.table + "/" + v.key + " at " + v.violation.path + ": " + v.violation.detail;
        text = text || v.violation.kind == enmap::Violation::Kind::k_invalid_text;
        functions = functions || v.violation.kind == enmap::Violation::Kind::k_function;
    }
    std::string hint = "nothing was written to PostgreSQL;";
    if (text) {
        hint += " use --invalid-text=replace to store such text as U+FFFD;";
    }
    if (functions) {
        hint += " use --functions=drop or --functions=source to keep the rows;";
    }
    hint += " the snapshot keeps the original bytes either way";
    throw enmap::PolicyError(std::to_string(violations.size()) + " value(s) break the data policy:" + list,
                             hint);
}

}  // namespace replay
