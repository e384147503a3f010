#include "snapshot/pool.hpp"

#include <algorithm>

namespace snapshot {

WorkerPool::WorkerPool(unsigned threads) {
    threads = std::max(1U, threads);
    for (unsigned i = 0; i < threads; ++i) {
        m_threads.emplace_back([this] { work(); });
    }
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto& thread : m_threads) {
        thread.join();
    }
}

void WorkerPool::work() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stop || !m_tasks.empty(); });
            if (m_tasks.empty()) {
                return;
            }
            task = std::move(m_tasks.front());
            m_tasks.pop_front();
        }
        task();
    }
}

unsigned default_threads() {
    unsigned cores = std::thread::hardware_concurrency();
    return std::clamp(cores, 1U, 8U);
}

}  // namespace snapshot
