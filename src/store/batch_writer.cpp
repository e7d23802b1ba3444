#include "turbotwin/store/batch_writer.hpp"

#include <algorithm>
#include <iterator>

#include <malloc.h>

#include <spdlog/spdlog.h>

namespace turbotwin::store {

namespace {
// An acknowledgement can arrive before the worker has submitted the change set that records the
// alert (the worker publishes while processing and submits at the end of its batch). Such a mark
// is retried at the next commits; after this many it is dropped, and the alert is republished at
// the next start (at least once).
constexpr int mark_attempts = 50;
// A commit of at least this many records was a backlog (steady ingest commits a few thousand
// per interval). Its change sets, snapshots mostly, are freed right after it, and malloc keeps
// freed memory for reuse: without handing it back, the process stayed about 300 bytes per engine
// larger for good after a burst of 100,000 engines (docs/performance.md).
constexpr std::size_t trim_after_records = 10000;
}  // namespace

batch_writer::batch_writer(database& db, writer_options options, std::function<std::uint64_t()> watermark,
                           std::function<void(std::uint64_t)> on_checkpoint, std::uint64_t initial_checkpoint)
    : db_(db), options_(options), watermark_(std::move(watermark)), on_checkpoint_(std::move(on_checkpoint)) {
    if (options_.commit_interval <= std::chrono::milliseconds::zero()) options_.commit_interval = std::chrono::milliseconds(1);
    options_.commit_records = std::max<std::size_t>(1, options_.commit_records);
    options_.max_pending_records = std::max(options_.max_pending_records, options_.commit_records);
    stats_.checkpoint = initial_checkpoint;
    thread_ = std::thread([this] { run(); });
}

batch_writer::~batch_writer() { stop(); }

void batch_writer::submit(change_set changes) {
    if (changes.empty()) return;
    std::unique_lock lock(mu_);
    progress_.wait(lock, [&] { return pending_records_ < options_.max_pending_records || stopped_; });
    pending_records_ += changes.records();
    pending_.push_back(std::move(changes));
    if (pending_records_ >= options_.commit_records) wake_.notify_one();
}

void batch_writer::mark_published(alert_key key) {
    std::lock_guard lock(mu_);
    marks_.push_back({std::move(key), 0});
}

Result<bool> batch_writer::flush() {
    std::unique_lock lock(mu_);
    if (stopped_) return last_result_;
    const auto ticket = ++flush_requested_;
    wake_.notify_one();
    progress_.wait(lock, [&] { return flush_done_ >= ticket || stopped_; });
    return last_result_;
}

void batch_writer::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
    {
        std::lock_guard lock(mu_);
        stopped_ = true;
    }
    progress_.notify_all();
}

bool batch_writer::healthy() const {
    std::lock_guard lock(mu_);
    return last_result_.ok();
}

writer_stats batch_writer::stats() const {
    std::lock_guard lock(mu_);
    writer_stats s = stats_;
    s.pending_records = pending_records_;
    return s;
}

void batch_writer::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        wake_.wait_for(lock, options_.commit_interval, [&] {
            return stopping_ || flush_requested_ > flush_done_ || pending_records_ >= options_.commit_records;
        });
        const bool last = stopping_;
        auto r = commit_once(lock);
        if (last) {
            if (!r) spdlog::error("store: final commit failed, {} records not stored: {}", pending_records_, r.message());
            return;
        }
    }
}

Result<bool> batch_writer::commit_once(std::unique_lock<std::mutex>& lock) {
    const auto ticket = flush_requested_;
    // The watermark first, then the change sets: everything it covers was submitted before it
    // was read, so it is in `batch` below (or committed already). The watermark takes the
    // fleet's locks; ours is not held meanwhile, so a worker can finish its submit().
    lock.unlock();
    const std::uint64_t watermark = watermark_ ? watermark_() : 0;
    lock.lock();
    std::vector<change_set> batch;
    batch.swap(pending_);
    std::vector<pending_mark> mark_list;
    mark_list.swap(marks_);
    std::vector<alert_key> marks;
    marks.reserve(mark_list.size());
    for (const auto& m : mark_list) marks.push_back(m.key);
    const std::size_t records = pending_records_;
    pending_records_ = 0;
    // The checkpoint never moves back (a commit that failed left it where it was).
    const std::uint64_t checkpoint = std::max(watermark, stats_.checkpoint);

    Result<bool> r{true};
    if (!batch.empty() || !marks.empty() || checkpoint != stats_.checkpoint) {
        lock.unlock();
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<alert_key> unmatched;
        r = db_.commit(batch, checkpoint, marks, &unmatched);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (r && on_checkpoint_) on_checkpoint_(checkpoint);
        if (r && records >= trim_after_records) {
            std::vector<change_set>().swap(batch);
            (void)malloc_trim(0);  // glibc; a few ms for a heap of some hundred MB
        }
        lock.lock();
        if (r) {
            ++stats_.commits;
            stats_.records += records;
            stats_.checkpoint = checkpoint;
            stats_.last_commit_ms = ms;
            for (auto& m : mark_list)
                if (++m.attempts < mark_attempts && std::find(unmatched.begin(), unmatched.end(), m.key) != unmatched.end())
                    marks_.push_back(std::move(m));
        } else {
            // Keep everything, oldest first, for the next attempt.
            ++stats_.failures;
            pending_.insert(pending_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
            pending_records_ += records;
            marks_.insert(marks_.end(), std::make_move_iterator(mark_list.begin()), std::make_move_iterator(mark_list.end()));
            if (stats_.failures <= 10 || stats_.failures % 100 == 0)
                spdlog::error("store: commit failed ({} failures so far), retrying: {}", stats_.failures, r.message());
        }
    }
    last_result_ = r;
    flush_done_ = std::max(flush_done_, ticket);
    progress_.notify_all();
    return r;
}

}  // namespace turbotwin::store
