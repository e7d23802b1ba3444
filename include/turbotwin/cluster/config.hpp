#pragma once
/// `serve --cluster FILE`: where the NATS cluster is and how the partitions are shared.
#include <chrono>
#include <string>
#include <vector>

#include "turbotwin/core/result.hpp"

namespace turbotwin::cluster {

struct cluster_config {
    std::vector<std::string> nats_urls;  ///< NATS client URLs of the cluster's nodes (any subset reaches all)
    std::string mqtt_url;                ///< an MQTT listener of the NATS cluster: RUL and alerts are published there
    std::string instance;                ///< this member's id, unique in the cluster ([A-Za-z0-9_-], 1..64)
    std::string advertise_url;           ///< this member's REST base URL as others reach it; empty: from --http
    /// Must equal P in the NATS mapping `partition(P,1)` (config/cluster/nats-node.conf): fixed
    /// at deployment, since changing it moves every engine.
    unsigned partitions = 64;
    int replicas = 3;                              ///< JetStream replicas of the stream and the KV bucket
    std::chrono::milliseconds lease_ttl{6000};     ///< a member or lease not renewed for this long is gone
    std::chrono::milliseconds heartbeat{500};      ///< how often leases and membership are renewed
    std::chrono::hours telemetry_max_age{24 * 7};  ///< telemetry kept in the stream (a new owner rebuilds from it)
    std::string stream = "TURBOTWIN_TELEMETRY";    ///< JetStream stream over twin.p.*.*
    std::string bucket = "turbotwin_cluster";      ///< KV bucket of members and leases
};

/// Reads a cluster config (JSON, see config/cluster/turbotwin-cluster.json). Checks ranges: the
/// lease must outlast at least three heartbeats, so one late renewal does not lose it.
Result<cluster_config> load_cluster_config(const std::string& path);
/// The same checks on a config built or overridden in code.
Result<bool> check_cluster_config(const cluster_config& c);

/// A lease held by this member: valid while renewed within the TTL minus a safety margin of
/// two heartbeats, so the holder stops consuming before the bucket could let another member
/// take the lease (the KV entry expires a full TTL after its last successful renewal).
class lease_clock {
public:
    using clock = std::chrono::steady_clock;
    lease_clock(std::chrono::milliseconds ttl, std::chrono::milliseconds heartbeat) : ttl_(ttl), heartbeat_(heartbeat) {}
    /// A renewal sent at `sent` succeeded (count from the send: the server stamped it after).
    void renewed(clock::time_point sent) { last_renewed_ = sent; }
    /// False once the holder must consider the lease lost (stop consuming, do not ack).
    bool valid(clock::time_point now) const { return now - last_renewed_ < ttl_ - 2 * heartbeat_; }

private:
    std::chrono::milliseconds ttl_, heartbeat_;
    clock::time_point last_renewed_{};
};

}  // namespace turbotwin::cluster
