#include "replay/catchup.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "enmap/error.hpp"
#include "replay/copy.hpp"
#include "replay/digest.hpp"
#include "replay/snapshot_source.hpp"

namespace fs = std::filesystem;

namespace replay {

namespace {

using Clock = std::chrono::steady_clock;

const SourceTable* find_table(const Source& source, const std::string& enmap) {
    for (const auto& t : source.tables()) {
        if (t.enmap_name == enmap) {
            return &t;
        }
    }
    return nullptr;
}

// Thrown inside a reading thread's callback to stop it early.
struct Stopped {};

// One table of a source read on a thread of its own (for_each_tuple_chunk, the spool's key order),
// handed over a few pieces of about 1 MiB at a time, and walked row by row.
class RowStream {
public:
    RowStream(Source& source, std::string enmap) : m_source(source), m_enmap(std::move(enmap)) {
        m_thread = std::thread([this] { produce(); });
    }
    ~RowStream() {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stop = true;
        }
        m_changed.notify_all();
        m_thread.join();
    }
    RowStream(const RowStream&) = delete;
    RowStream& operator=(const RowStream&) = delete;

    /// Moves to the next row; false at the end. Throws what the source threw.
    bool next() {
        if (++m_index < m_rows.size()) {
            return true;
        }
        m_rows.clear();
        m_index = 0;
        while (m_rows.empty()) {
            std::string piece;
            {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_changed.wait(lock, [&] { return !m_queue.empty() || m_done; });
                if (m_queue.empty()) {
                    if (m_error) {
                        std::rethrow_exception(m_error);
                    }
                    if (!m_rest.empty()) {
                        throw enmap::Error("replay: the rows of '" + m_enmap + "' end inside a row");
                    }
                    return false;
                }
                piece = std::move(m_queue.front());
                m_queue.pop_front();
            }
            m_changed.notify_all();
            m_data = std::move(m_rest);
            m_data += piece;
            std::size_t used = parse_copy_tuples(m_data, [&](std::string_view key, std::string_view value) {
                m_rows.emplace_back(key, value);
            });
            m_rest = m_data.substr(used);
        }
        return true;
    }
    [[nodiscard]] std::string_view key() const { return m_rows[m_index].first; }
    [[nodiscard]] std::string_view value() const { return m_rows[m_index].second; }

private:
    static constexpr std::size_t k_pieces = 4;

    void produce() {
        try {
            m_source.for_each_tuple_chunk(m_enmap, [&](std::string_view tuples, std::uint64_t) {
                std::unique_lock<std::mutex> lock(m_mutex);
                m_changed.wait(lock, [&] { return m_queue.size() < k_pieces || m_stop; });
                if (m_stop) {
                    throw Stopped{};
                }
                m_queue.emplace_back(tuples);
                lock.unlock();
                m_changed.notify_all();
            });
        } catch (const Stopped&) {
        } catch (...) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_error = std::current_exception();
        }
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_done = true;
        }
        m_changed.notify_all();
    }

    Source& m_source;
    std::string m_enmap;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::deque<std::string> m_queue;
    bool m_done = false;
    bool m_stop = false;
    std::exception_ptr m_error;
    std::string m_data;  // the rows m_rows points into
    std::string m_rest;  // a partial row at the end of the last piece
    std::vector<std::pair<std::string_view, std::string_view>> m_rows;
    std::size_t m_index = 0;
    std::thread m_thread;  // last: started once the members above exist
};

}  // namespace

nlohmann::json EnmapDelta::to_json() const {
    return {{"table", enmap},     {"rows_base", rows_base}, {"rows_new", rows_new}, {"added", added},
            {"changed", changed}, {"removed", removed},     {"read", read},         {"merged", merged}};
}

CatchupDiff::CatchupDiff(Source& base, Source& target) {
    auto start = Clock::now();
    m_dir = private_temp_dir();
    m_upserts = std::make_unique<Spool>(m_dir / "upserts");
    m_removals = std::make_unique<Spool>(m_dir / "removals");
    for (const auto& t : target.tables()) {
        EnmapDelta& delta = m_deltas[t.enmap_name];
        delta.enmap = t.enmap_name;
        diff_table(base, target, delta);
    }
    m_seconds = std::chrono::duration<double>(Clock::now() - start).count();
}

CatchupDiff::~CatchupDiff() {
    m_upserts.reset();
    m_removals.reset();
    std::error_code ec;
    fs::remove_all(m_dir, ec);
}

void CatchupDiff::diff_table(Source& base, Source& target, EnmapDelta& delta) {
    const SourceTable* a = find_table(base, delta.enmap);
    const SourceTable* b = find_table(target, delta.enmap);
    if (a == nullptr || b == nullptr) {
        throw enmap::Error("replay: the catch-up diff needs the enmap '" + delta.enmap +
                           "' in both snapshots");
    }
    delta.rows_base = a->rows;
    delta.rows_new = b->rows;
    if (a->rows == b->rows && a->digest == b->digest) {
        delta.upserts = m_upserts->end_segment();
        delta.removals = m_removals->end_segment();
        return;
    }
    delta.read = true;
    if (!merge(base, target, delta)) {
        spdlog::debug("{}: the spool does not give the rows in key order; comparing through a hash table",
                      delta.enmap);
        hash_join(base, target, delta);
    }
}

// The sorted merge of both tables. False (the segments discarded) when either is not in strictly
// increasing bytewise key order (a table without a key index, a bucket of very large rows).
bool CatchupDiff::merge(Source& base, Source& target, EnmapDelta& delta) {
    delta.added = delta.changed = delta.removed = 0;
    std::string last_base;
    std::string last_new;
    bool in_order = true;
    {
        RowStream from(base, delta.enmap);
        RowStream to(target, delta.enmap);
        bool more_from = from.next();
        bool more_to = to.next();
        auto advance = [&](RowStream& s, bool& more, std::string& last) {
            last.assign(s.key());
            more = s.next();
            if (more && s.key() <= std::string_view(last)) {
                in_order = false;
            }
        };
        while ((more_from || more_to) && in_order) {
            if (more_to && (!more_from || to.key() < from.key())) {
                ++delta.added;
                m_upserts->add(to.key(), to.value());
                advance(to, more_to, last_new);
            } else if (more_from && (!more_to || from.key() < to.key())) {
                ++delta.removed;
                m_removals->add(from.key(), "null");
                advance(from, more_from, last_base);
            } else {
                if (from.value() != to.value()) {
                    ++delta.changed;
                    m_upserts->add(to.key(), to.value());
                }
                advance(from, more_from, last_base);
                advance(to, more_to, last_new);
            }
        }
    }
    delta.upserts = m_upserts->end_segment();
    delta.removals = m_removals->end_segment();
    delta.merged = in_order;
    return in_order;
}

// Without key order: BASE's keys with a hash of each value in memory, then NEW's rows against them.
void CatchupDiff::hash_join(Source& base, Source& target, EnmapDelta& delta) {
    delta.added = delta.changed = delta.removed = 0;
    std::unordered_map<std::string, std::string> before;
    base.for_each_row(delta.enmap, [&](std::string_view key, std::string_view value) {
        before.emplace(std::string(key), sha256_hex(value));
    });
    target.for_each_row(delta.enmap, [&](std::string_view key, std::string_view value) {
        auto it = before.find(std::string(key));
        if (it == before.end()) {
            ++delta.added;
            m_upserts->add(key, value);
            return;
        }
        if (it->second != sha256_hex(value)) {
            ++delta.changed;
            m_upserts->add(key, value);
        }
        before.erase(it);
    });
    for (const auto& entry : before) {
        ++delta.removed;
        m_removals->add(entry.first, "null");
    }
    delta.upserts = m_upserts->end_segment();
    delta.removals = m_removals->end_segment();
}

void CatchupDiff::read_upserts(const std::string& enmap, const TupleCallback& callback) const {
    m_upserts->read(delta(enmap).upserts, callback);
}

void CatchupDiff::read_removals(const std::string& enmap, const TupleCallback& callback) const {
    m_removals->read(delta(enmap).removals, callback);
}

nlohmann::json CatchupDiff::to_json() const {
    nlohmann::json tables = nlohmann::json::array();
    for (const auto& [enmap, d] : m_deltas) {
        tables.push_back(d.to_json());
    }
    return {{"seconds", m_seconds}, {"tables", tables}};
}

}  // namespace replay
