#include "snapshot/diff.hpp"

#include <map>
#include <set>
#include <unordered_set>

namespace snapshot {

namespace {
std::map<std::string, nlohmann::json> files_by_name(const nlohmann::json& manifest) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& file : manifest.at("files")) {
        out[file.at("name").get<std::string>()] = file;
    }
    return out;
}
}  // namespace

nlohmann::json diff_snapshots(const Store& store, const Hash& from, const Hash& to) {
    auto a = store.read_manifest(from);
    auto b = store.read_manifest(to);
    auto files_a = files_by_name(a);
    auto files_b = files_by_name(b);
    nlohmann::json files = nlohmann::json::array();
    std::set<std::string> names;
    for (const auto& [name, file] : files_a) {
        names.insert(name);
    }
    for (const auto& [name, file] : files_b) {
        names.insert(name);
    }
    for (const auto& name : names) {
        nlohmann::json entry = {{"name", name}};
        auto ia = files_a.find(name);
        auto ib = files_b.find(name);
        if (ia == files_a.end()) {
            entry["status"] = "added";
            entry["size_to"] = ib->second.at("size");
        } else if (ib == files_b.end()) {
            entry["status"] = "removed";
            entry["size_from"] = ia->second.at("size");
        } else {
            entry["size_from"] = ia->second.at("size");
            entry["size_to"] = ib->second.at("size");
            if (ia->second.at("sha256") == ib->second.at("sha256")) {
                entry["status"] = "same";
            } else {
                entry["status"] = "changed";
                auto chunks_a = store.file_chunks(ia->second);
                auto chunks_b = store.file_chunks(ib->second);
                std::unordered_set<Hash, HashHasher> set_a(chunks_a.begin(), chunks_a.end());
                std::uint64_t changed = 0;
                std::uint64_t unseen = 0;
                for (std::size_t i = 0; i < chunks_b.size(); ++i) {
                    if (i >= chunks_a.size() || chunks_a[i] != chunks_b[i]) {
                        ++changed;
                    }
                    if (set_a.count(chunks_b[i]) == 0) {
                        ++unseen;
                    }
                }
                entry["chunks_from"] = chunks_a.size();
                entry["chunks_to"] = chunks_b.size();
                entry["chunks_changed"] = changed;
                entry["chunks_new"] = unseen;
                entry["chunking"] = ib->second.value("chunking", "");
            }
        }
        files.push_back(entry);
    }
    nlohmann::json tables = nlohmann::json::array();
    const auto& ta = a.contains("tables") && a["tables"].is_object() ? a["tables"] : nlohmann::json::object();
    const auto& tb = b.contains("tables") && b["tables"].is_object() ? b["tables"] : nlohmann::json::object();
    std::set<std::string> table_names;
    for (const auto& [name, value] : ta.items()) {
        table_names.insert(name);
    }
    for (const auto& [name, value] : tb.items()) {
        table_names.insert(name);
    }
    for (const auto& name : table_names) {
        nlohmann::json entry = {{"table", name}};
        if (!ta.contains(name)) {
            entry["status"] = "added";
            entry["to"] = tb[name];
        } else if (!tb.contains(name)) {
            entry["status"] = "removed";
            entry["from"] = ta[name];
        } else {
            entry["status"] = ta[name] == tb[name] ? "same" : "changed";
            entry["from"] = ta[name];
            entry["to"] = tb[name];
        }
        tables.push_back(entry);
    }
    return {{"from", to_hex(from)}, {"to", to_hex(to)}, {"files", files}, {"tables", tables}};
}

}  // namespace snapshot
