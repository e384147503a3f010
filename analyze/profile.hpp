#pragma once
// analyze/ the profile of one table: fed every raw row once, it decodes each value through the
// typed visitor and keeps bounded summaries of its keys and of every path of its field tree.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analyze/analyze.hpp"
#include "enmap/source.hpp"

namespace analyze {

/// Values of one table that may be keys of another table: a field path, or a part of the key.
struct RelationshipCandidate {
    nlohmann::json from;  // {"path": "$.guild"} or {"key_part": 0, "pattern": "..."}
    const std::vector<std::uint64_t>* sample = nullptr;  // hash64 of sampled values (occurrences)
    std::uint64_t occurrences = 0;                       // values seen in all
    bool integers = false;  // short integers: a match means less than a snowflake's
    bool own_key = false;   // a part of this table's own key
    std::string name;       // a field's member name (`reminderId`), empty for a key part
};

/// The profile of one table.
class TableProfile {
public:
    /// `counter` is the table's internal::autonum counter, if it has one; `key_budget` is the
    /// number of key hashes the whole analysis may still keep, decreased by what this table keeps.
    TableProfile(std::string table, const AnalyzeOptions& options, std::optional<std::int64_t> counter,
                 std::size_t& key_budget);
    ~TableProfile();
    TableProfile(const TableProfile&) = delete;
    TableProfile& operator=(const TableProfile&) = delete;

    /// Reads one row. Never throws for a malformed value: it is counted as an edge case.
    void add_row(const enmap::RawRow& row);
    /// Ends the table: sorts what relationships are looked up in.
    void finish();

    [[nodiscard]] const std::string& name() const;
    /// The table's shapes (shapes.json's "tables" entry), without relationships.
    [[nodiscard]] nlohmann::json to_json() const;
    /// Frees everything but what key_index() and candidates() return (call after to_json()).
    void release();
    /// The hash64 of every key, sorted; null when the key budget ran out before the last key.
    [[nodiscard]] const std::vector<std::uint64_t>* key_index() const;
    /// The fields and key parts whose values may be keys of another table.
    [[nodiscard]] std::vector<RelationshipCandidate> candidates() const;

    struct State;  // profile.cpp

private:
    std::unique_ptr<State> m_state;
};

}  // namespace analyze
