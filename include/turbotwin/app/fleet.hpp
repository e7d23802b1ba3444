#pragma once
/// The live fleet: every engine's twin, sharded over worker threads. An engine always lands on
/// the same shard, so each twin has exactly one owner and domain code needs no lock; the only
/// shared state is the read model (fleet_view) and the counters.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/app/metrics.hpp"
#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

/// Where processed results go (MQTT in the server, nothing or a recorder in tests).
class output_sink {
public:
    virtual ~output_sink() = default;
    virtual void rul(const std::string& asset, const twin::twin_update& u) = 0;
    virtual void alert(const alerting::alert& a) = 0;
    /// A rejected message; the sink decides how often to report it.
    virtual void rejected(const std::string& topic, const std::string& reason) = 0;
};

/// Where each worker batch's durable changes go (the store's batch writer in `serve`).
class change_sink {
public:
    virtual ~change_sink() = default;
    /// Called on the worker after each batch: the snapshots of the twins it changed, their RUL
    /// rows and alert changes. The batch's messages count as processed only after it returns.
    virtual void batch_done(store::change_set&& changes) = 0;
};

/// What an applied operator command produced.
struct command_outcome {
    std::optional<alerting::alert> alert;  ///< ack: the acknowledged alert; event: the alert it cleared, if any
    std::optional<asset_summary> asset;    ///< event: the engine as it now is
};
/// The answer to an operator command, called on the engine's worker once it is applied.
using command_reply = std::function<void(Result<command_outcome>)>;

/// What swapping the active and the shadow model did.
struct model_swap {
    const twin::twin_config* active = nullptr;  ///< now active (the former shadow)
    const twin::twin_config* shadow = nullptr;  ///< now shadow (the former active)
    std::size_t engines = 0;        ///< engines switched
    std::size_t fresh_engines = 0;  ///< of which the candidate had no twin: they start afresh under it
};

class fleet {
public:
    /// `changes` (may be null: no durable state) receives every batch's change set.
    /// `shadow` (may be null): a candidate model's config, run beside the active one on every
    /// applied reading and event, publishing nothing; its estimates go to the change sink. Both
    /// configs must outlive the fleet (promotion swaps their roles).
    fleet(const twin::twin_config& config, unsigned workers, codec::telemetry_limits limits, fleet_view& view,
          metrics& counters, output_sink& sink, change_sink* changes = nullptr, const twin::twin_config* shadow = nullptr);
    ~fleet();  ///< stops
    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    /// Cheap checks, safe on Paho's thread: a bad asset id in the topic or an oversized payload
    /// is rejected here (counted and reported) and goes no further. Returns the asset id.
    Result<std::string> admit(const std::string& topic, std::size_t payload_bytes);
    /// Queues an admitted message for its engine's worker. `seq` is its journal sequence number:
    /// calls come from one thread at a time, with increasing `seq` (processed_watermark() relies
    /// on each shard's queue being in seq order). `replayed`: it comes from the journal at
    /// start-up, so a cycle the restored twin already has is expected, skipped without a report.
    /// Operator commands (codec/command.hpp topics) take the same road, in order with the
    /// engine's readings; `reply`, if set, gets the outcome on the worker.
    void enqueue(std::string asset, std::string topic, std::string payload, std::uint64_t seq, bool replayed = false,
                 command_reply reply = {});
    /// admit() then enqueue() with the next sequence number: for callers without a journal.
    void submit(std::string topic, std::string payload);
    /// Gives a restored twin to the shard that owns its engine and shows it in the view. Only
    /// before the first enqueue() (the shard's worker has not touched its map yet).
    void adopt(std::unique_ptr<twin::asset_twin> twin, std::int64_t updated_ms);
    /// The same for a restored engine's shadow twin (rebuilt from its stored readings).
    void adopt_shadow(std::unique_ptr<twin::asset_twin> twin);
    /// Promotion (or rollback): each shard, at its place in its stream, makes every engine's
    /// shadow twin the live one (it takes over the live alert state, see
    /// asset_twin::take_over_alerts) and the live one the shadow; the alert changes that makes are
    /// published, stored and shown like any. `done` runs once, on the worker of the last shard to
    /// switch, with the totals and that batch's change set (to store what goes with it).
    /// invalid_argument when there is no shadow model.
    Result<bool> swap_models(std::function<void(const model_swap&, store::change_set&)> done);
    /// The journal position up to which every enqueued message has been processed and its
    /// change set handed to the change sink (or it was rejected). See docs/durability.md.
    std::uint64_t processed_watermark() const;
    /// Processes everything queued, then joins the workers. Idempotent.
    void stop();
    /// The sequence number of the last message enqueued.
    std::uint64_t enqueued_watermark() const noexcept { return last_enqueued_seq_.load(std::memory_order_acquire); }
    /// Messages queued and not yet processed.
    std::size_t backlog() const;
    /// True when every queue is empty and no worker is busy.
    bool idle() const;

private:
    struct shard;
    struct batch_changes;
    struct job {
        std::string asset;
        std::string topic;
        std::string payload;
        std::uint64_t seq = 0;   ///< journal sequence number
        bool replayed = false;   ///< re-applied from the journal at start-up
        command_reply reply;     ///< set for an operator command from the REST API
        std::chrono::steady_clock::time_point arrived;  ///< when it was queued (latency metric)
        std::function<void(shard&, batch_changes*)> control;  ///< a fleet-wide step (model swap), not a message
    };
    struct shard {
        mutable std::mutex mu;
        std::condition_variable cv;
        std::deque<job> queue;
        bool busy = false;
        bool idle = false;               ///< the worker waits for a first message (not lingering)
        bool urgent = false;             ///< a queued operator command: process without lingering
        std::uint64_t busy_low_seq = 0;  ///< seq of the first message of the batch in progress (0: none)
        bool stopping = false;
        std::unordered_map<std::string, std::unique_ptr<twin::asset_twin>> twins;  ///< owned by this shard's thread
        std::unordered_map<std::string, std::unique_ptr<twin::asset_twin>> shadows;  ///< the candidate model's twins, same owner
        const twin::twin_config* active = nullptr;  ///< this shard's roles: swapped at its place in its stream
        const twin::twin_config* shadow = nullptr;
        std::thread thread;
    };

    /// A worker woken with fewer than linger_batch messages waits up to `linger` for more: the
    /// latency added is at most `linger`, the wake-ups saved grow with the rate. 3 ms rather
    /// than 1: serve's CPU per reading 148 -> 129 us at 4,000/s and 131 -> 121 us at 7,000/s
    /// (fewer wake-ups of the workers and of Paho's send thread), the median latency 2.6 ->
    /// 3.9 ms, p99 unchanged (docs/performance.md).
    static constexpr std::size_t linger_batch = 64;
    static constexpr std::chrono::microseconds linger{3000};

    shard& shard_for(const std::string& asset) const;
    void run(shard& s);
    void process(shard& s, job& j, batch_changes* changes);
    void process_command(shard& s, job& j, batch_changes* changes);
    void run_shadow(shard& s, const std::string& asset, const reading& input, batch_changes* changes);
    model_swap swap_shard(shard& s, batch_changes* changes);
    void observe(const job& j);
    void reject(const std::string& topic, errc reason, const std::string& detail);

    const twin::twin_config& config_;
    const twin::twin_config* shadow_config_;
    codec::telemetry_limits limits_;
    fleet_view& view_;
    metrics& metrics_;
    output_sink& sink_;
    change_sink* changes_;
    std::vector<std::unique_ptr<shard>> shards_;
    std::atomic<std::uint64_t> last_enqueued_seq_{0};
    bool stopped_ = false;
};

}  // namespace turbotwin::app
