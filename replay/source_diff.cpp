#include "replay/source_diff.hpp"

#include <map>
#include <set>
#include <unordered_map>

#include "replay/digest.hpp"

namespace replay {

namespace {

const SourceTable* find_table(const Source& source, const std::string& enmap) {
    for (const auto& t : source.tables()) {
        if (t.enmap_name == enmap) {
            return &t;
        }
    }
    return nullptr;
}

}  // namespace

nlohmann::json TableRowDiff::to_json() const {
    return {{"table", enmap},     {"rows_from", rows_from}, {"rows_to", rows_to}, {"added", added},
            {"removed", removed}, {"changed", changed},     {"in_from", in_from}, {"in_to", in_to}};
}

std::vector<TableRowDiff> diff_sources(Source& from, Source& to) {
    std::set<std::string> names;
    for (const auto& t : from.tables()) {
        names.insert(t.enmap_name);
    }
    for (const auto& t : to.tables()) {
        names.insert(t.enmap_name);
    }
    std::vector<TableRowDiff> out;
    for (const auto& name : names) {
        const SourceTable* a = find_table(from, name);
        const SourceTable* b = find_table(to, name);
        TableRowDiff d;
        d.enmap = name;
        d.in_from = a != nullptr;
        d.in_to = b != nullptr;
        d.rows_from = a != nullptr ? a->rows : 0;
        d.rows_to = b != nullptr ? b->rows : 0;
        if (a == nullptr) {
            d.added = d.rows_to;
        } else if (b == nullptr) {
            d.removed = d.rows_from;
        } else if (a->rows != b->rows || a->digest != b->digest) {
            // key -> SHA-256 of the value's canonical JSON
            std::unordered_map<std::string, std::string> before;
            before.reserve(a->rows);
            from.for_each_row(name, [&](std::string_view key, std::string_view value) {
                before.emplace(std::string(key), sha256_hex(value));
            });
            to.for_each_row(name, [&](std::string_view key, std::string_view value) {
                auto it = before.find(std::string(key));
                if (it == before.end()) {
                    ++d.added;
                    return;
                }
                if (it->second != sha256_hex(value)) {
                    ++d.changed;
                }
                before.erase(it);
            });
            d.removed = before.size();
        }
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace replay
