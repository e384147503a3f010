#include "replay/source.hpp"

#include "enmap/error.hpp"
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
