#pragma once
/// `turbotwin serve`: wires the broker, the fleet, the read model and the REST API together.
#include <atomic>
#include <string>

#include "turbotwin/app/access.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/cluster/config.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::app {

/// Runs until `stop` becomes true, then shuts down gracefully (stop intake, drain the workers,
/// close HTTP). Returns an error when a listener or the data dir cannot be set up.
/// `cluster_mode` (serve --cluster; needs durability off): telemetry comes from the JetStream
/// partitions this member owns, results go to the cluster's MQTT listener (docs/scale-out.md).
Result<bool> run_server(const runtime& rt, const std::atomic<bool>& stop, const cluster::cluster_config* cluster_mode = nullptr);

/// The REST access policy from the config's token hashes plus TURBOTWIN_API_TOKENS.
Result<access_policy> make_access_policy(const codec::serve_config& cfg);

}  // namespace turbotwin::app
