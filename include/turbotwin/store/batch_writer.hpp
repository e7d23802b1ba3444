#pragma once
/// Writes the fleet's change sets to the database off the hot path: workers hand over a change
/// set per batch and go on; one thread commits everything waiting every `commit_interval` (or
/// sooner when `commit_records` wait), together with the journal checkpoint.
///
/// The checkpoint is the caller's `watermark()`, read *before* the waiting change sets are taken:
/// the caller guarantees that every journal entry up to the watermark has had its change set
/// submitted before the watermark could pass it, so all of them are in this commit or an earlier
/// one. See docs/durability.md.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/store/database.hpp"

namespace turbotwin::store {

struct writer_options {
    std::chrono::milliseconds commit_interval{200};  ///< longest a change waits for its commit
    std::size_t commit_records = 20000;              ///< commit early once this many records wait
    std::size_t max_pending_records = 1000000;       ///< submit() waits above this (backpressure)
};

struct writer_stats {
    std::uint64_t commits = 0;           ///< transactions committed
    std::uint64_t records = 0;           ///< twin, RUL and alert records committed
    std::uint64_t failures = 0;          ///< commits that failed (retried at the next interval)
    std::uint64_t checkpoint = 0;        ///< journal position of the last commit
    std::uint64_t pending_records = 0;   ///< records waiting
    double last_commit_ms = 0;           ///< duration of the last commit
};

class batch_writer {
public:
    /// watermark(): journal position up to which every entry's change set has been submitted.
    /// on_checkpoint(seq): called on the writer thread after each commit (e.g. to release journal
    /// segments).
    batch_writer(database& db, writer_options options, std::function<std::uint64_t()> watermark,
                 std::function<void(std::uint64_t)> on_checkpoint, std::uint64_t initial_checkpoint = 0);
    ~batch_writer();  ///< stop()
    batch_writer(const batch_writer&) = delete;
    batch_writer& operator=(const batch_writer&) = delete;

    /// Queues a change set for the next commit. Waits while more than max_pending_records wait.
    void submit(change_set changes);
    /// Records that the broker acknowledged an alert's MQTT message (stored at the next commit).
    void mark_published(alert_key key);
    /// Commits everything submitted so far with a fresh watermark and waits for it.
    Result<bool> flush();
    /// A final flush, then stops the thread. Idempotent.
    void stop();

    writer_stats stats() const;
    /// False while the last commit failed (e.g. a full disk); true again after one succeeds.
    bool healthy() const;

private:
    void run();
    Result<bool> commit_once(std::unique_lock<std::mutex>& lock);

    database& db_;
    writer_options options_;
    std::function<std::uint64_t()> watermark_;
    std::function<void(std::uint64_t)> on_checkpoint_;

    mutable std::mutex mu_;
    std::condition_variable wake_;        ///< the thread: work, flush or stop
    std::condition_variable progress_;    ///< submitters waiting for room, flushers for their commit
    std::vector<change_set> pending_;
    struct pending_mark {
        alert_key key;
        int attempts = 0;  ///< commits that did not find its alert change yet
    };
    std::vector<pending_mark> marks_;
    std::size_t pending_records_ = 0;
    std::uint64_t flush_requested_ = 0;   ///< tickets handed out by flush()
    std::uint64_t flush_done_ = 0;        ///< highest ticket whose commit has finished
    Result<bool> last_result_{true};
    bool stopping_ = false;
    bool stopped_ = false;
    writer_stats stats_;
    std::thread thread_;
};

}  // namespace turbotwin::store
