#pragma once
// A fixed set of worker threads for hashing and (de)compressing chunks in parallel.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace snapshot {

/// Runs submitted tasks on `threads` workers; the destructor waits for queued tasks.
class WorkerPool {
public:
    /// Starts the workers (at least one).
    explicit WorkerPool(unsigned threads);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Queues a task; its result or exception comes back through the future.
    template <class F>
    std::future<std::invoke_result_t<F>> submit(F task) {
        auto packaged = std::make_shared<std::packaged_task<std::invoke_result_t<F>()>>(std::move(task));
        auto future = packaged->get_future();
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_tasks.emplace_back([packaged] { (*packaged)(); });
        }
        m_wake.notify_one();
        return future;
    }
    /// Number of workers.
    [[nodiscard]] unsigned size() const { return static_cast<unsigned>(m_threads.size()); }

private:
    void work();
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<std::function<void()>> m_tasks;
    std::vector<std::thread> m_threads;
    bool m_stop = false;
};

/// Number of worker threads to use by default: the machine's cores, at most 8.
unsigned default_threads();

}  // namespace snapshot
