#pragma once
/// The live fleet: every engine's twin, sharded over worker threads. An engine always lands on
/// the same shard, so each twin has exactly one owner and domain code needs no lock; the only
/// shared state is the read model (fleet_view) and the counters.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/app/metrics.hpp"
#include "turbotwin/codec/telemetry.hpp"
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

class fleet {
public:
    fleet(const twin::twin_config& config, unsigned workers, codec::telemetry_limits limits, fleet_view& view,
          metrics& counters, output_sink& sink);
    ~fleet();  ///< stops
    fleet(const fleet&) = delete;
    fleet& operator=(const fleet&) = delete;

    /// Hands a raw telemetry message to its engine's worker. Cheap: safe on Paho's thread.
    void submit(std::string topic, std::string payload);
    /// Processes everything queued, then joins the workers. Idempotent.
    void stop();
    /// Messages queued and not yet processed.
    std::size_t backlog() const;
    /// True when every queue is empty and no worker is busy.
    bool idle() const;

private:
    struct job {
        std::string asset;
        std::string topic;
        std::string payload;
    };
    struct shard {
        mutable std::mutex mu;
        std::condition_variable cv;
        std::deque<job> queue;
        bool busy = false;
        bool stopping = false;
        std::unordered_map<std::string, std::unique_ptr<twin::asset_twin>> twins;  ///< owned by this shard's thread
        std::thread thread;
    };

    void run(shard& s);
    void process(shard& s, job& j);
    void reject(const std::string& topic, errc reason, const std::string& detail);

    const twin::twin_config& config_;
    codec::telemetry_limits limits_;
    fleet_view& view_;
    metrics& metrics_;
    output_sink& sink_;
    std::vector<std::unique_ptr<shard>> shards_;
    bool stopped_ = false;
};

}  // namespace turbotwin::app
