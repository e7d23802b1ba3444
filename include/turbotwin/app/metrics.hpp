#pragma once
/// Counters the server exposes at GET /metrics (Prometheus text format).
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "turbotwin/core/result.hpp"

namespace turbotwin::app {

class metrics {
public:
    static constexpr std::size_t reason_slots = 32;

    std::atomic<std::uint64_t> messages_received{0};  ///< telemetry messages from the broker
    std::atomic<std::uint64_t> readings_applied{0};   ///< readings that updated a twin
    std::atomic<std::uint64_t> sensors_ignored{0};    ///< single implausible sensors dropped
    std::atomic<std::uint64_t> rul_published{0};
    std::atomic<std::uint64_t> alerts_published{0};
    std::atomic<std::uint64_t> publish_failures{0};
    std::atomic<std::uint64_t> alert_redeliveries{0}; ///< alerts sent again (Paho failed or lost the first)
    std::atomic<std::uint64_t> journal_replayed{0};   ///< journal entries re-applied at start-up
    std::atomic<std::uint64_t> replay_skipped{0};     ///< of those, cycles the restored twin already had
    std::atomic<std::uint64_t> journal_failures{0};   ///< messages that could not be written to the journal
    std::atomic<std::uint64_t> shadow_rejected{0};    ///< readings the live twin applied and the shadow model's twin refused

    void count_rejected(errc reason) noexcept { rejected_[std::size_t(reason) % reason_slots].fetch_add(1, std::memory_order_relaxed); }
    std::uint64_t rejected(errc reason) const noexcept { return rejected_[std::size_t(reason) % reason_slots].load(); }
    std::uint64_t rejected_total() const noexcept;

    /// Seconds from a message's arrival (Paho's callback) to its twin having processed it.
    void observe_processing(double seconds) noexcept;
    /// One answered HTTP request: `route` is the route template ("/api/v1/assets/{id}").
    void count_http(std::string_view route, unsigned status);

    /// Upper bounds (seconds) of the processing latency histogram's buckets.
    static constexpr std::array<double, 14> latency_buckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                               0.025,  0.05,    0.1,    0.25,  0.5,    1.0,  5.0};

    /// Prometheus exposition of the counters; `gauges` is appended as is.
    std::string prometheus(const std::string& gauges) const;

private:
    std::array<std::atomic<std::uint64_t>, reason_slots> rejected_{};
    std::array<std::atomic<std::uint64_t>, latency_buckets.size() + 1> latency_counts_{};  ///< last: +Inf
    std::atomic<std::uint64_t> latency_sum_ns_{0};
    mutable std::mutex http_mu_;
    std::map<std::pair<std::string, unsigned>, std::uint64_t> http_requests_;  ///< (route, status) -> count; guarded by http_mu_
};

}  // namespace turbotwin::app
