#pragma once
/// The load generator behind `turbotwin loadgen`: publishes simulated telemetry for N engines at
/// a fixed rate, listens for the twin's RUL messages, and reports what arrived and how late.
/// In pass-through mode the same messages go to a plain topic nobody else reads and the
/// generator subscribes to that topic itself: the broker alone, the baseline the twin is
/// measured against in the same run (docs/performance.md).
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/mqtt/client.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::replay {

struct loadgen_options {
    mqtt::client_options broker;         ///< URL, credentials, TLS; client ids are generated
    int assets = 1000;                   ///< engines <prefix>000001 .. <prefix><assets>
    /// Engine ids start with it. A twin refuses cycles it already has, and every run starts its
    /// engines' cycles afresh: give each run against the same server its own prefix.
    std::string asset_prefix = "LG-";
    double rate = 1000;                  ///< messages per second, all engines together
    double duration_s = 10;              ///< how long to publish
    int qos = 1;                         ///< for the telemetry and the subscription
    bool passthrough = false;            ///< broker only: no twin in the loop
    std::size_t max_in_flight = 256;     ///< unacknowledged QoS 1 publishes (see replay_options)
    /// After the last publish, how long to wait for the answers still on their way. A run
    /// ends earlier once everything arrived.
    std::chrono::milliseconds drain{5000};
    std::uint64_t seed = 1;              ///< simulated engines and their starting ages
};

/// Send-to-answer latency summary, milliseconds.
struct latency_summary {
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

struct loadgen_report {
    std::string mode;                   ///< "twin" or "passthrough"
    int assets = 0;
    int qos = 1;
    double target_rate = 0;             ///< messages per second asked for
    double duration_s = 0;              ///< publishing time asked for
    std::uint64_t sent = 0;             ///< publishes the client accepted
    std::uint64_t publish_failures = 0; ///< publishes the client refused (not sent)
    std::uint64_t received = 0;         ///< distinct messages answered (twin: an RUL message for that cycle)
    std::uint64_t duplicates = 0;       ///< answers for a message already answered
    std::uint64_t lost = 0;             ///< sent and never answered within the drain time
    std::uint64_t ts_mismatches = 0;    ///< answers whose echoed "ts" was not the one sent
    double send_seconds = 0;            ///< first to last publish
    double achieved_rate = 0;           ///< sent / send_seconds
    double drain_seconds = 0;           ///< after the last publish, until the last answer (or the drain limit)
    latency_summary latency;
    /// True when the rate was held: nothing lost, at least 95% of the rate sent, and the last
    /// answer no later than a second after the last publish (no backlog left to work off).
    bool sustained = false;
};

/// Trial-by-trial search for the highest sustained rate (loadgen --rate max).
struct max_rate_report {
    std::vector<loadgen_report> trials;  ///< in the order run
    double max_sustained_rate = 0;       ///< highest target rate of a sustained trial (0: none)
};

/// Runs one trial. Errors: cannot connect or subscribe, bad options.
Result<loadgen_report> run_loadgen(const loadgen_options& options, const simulation::simulator_params& params);

/// Doubles the rate from `start_rate` until a trial is not sustained (or `ceiling` is passed),
/// then bisects `refine_steps` times between the last sustained and the first failed rate.
/// Each trial runs options.duration_s; engines keep their cycle count across trials.
/// `on_trial` sees each trial's report as it finishes.
Result<max_rate_report> find_max_rate(loadgen_options options, const simulation::simulator_params& params,
                                      double start_rate = 2000, double ceiling = 200000, int refine_steps = 3,
                                      const std::function<void(const loadgen_report&)>& on_trial = {});

/// Plain topic for the pass-through baseline: loadgen/v1/engines/{id}/telemetry (a twin never
/// subscribes to it).
std::string passthrough_topic(const std::string& asset);

}  // namespace turbotwin::replay
