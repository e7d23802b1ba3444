#pragma once
/// One member of a turbotwin cluster on NATS JetStream (`serve --cluster`): it announces itself
/// in a KV bucket, holds leases on its rendezvous share of the partitions, and consumes each
/// partition it holds from the telemetry stream, acknowledging only what the twins have applied.
/// The design and its failure behaviour: docs/scale-out.md.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/cluster/config.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::cluster {

/// How a node hands the messages of the partitions it owns to the twins (the server's intake).
struct twin_intake {
    /// Queues one telemetry message for its engine's worker. `rebuild`: a previous owner already
    /// applied and acknowledged it; it is applied again only to rebuild the engine's state, and
    /// its results are not published (see node::publishing). Returns the intake sequence number
    /// to wait for before acknowledging (0: nothing to wait for, e.g. rejected on admission), or
    /// nullopt when intake is closed (shutting down: left unacknowledged for the next owner).
    /// `topic`: empty for telemetry; an operator command's topic for a command read back from
    /// the journal (see node::command).
    std::function<std::optional<std::uint64_t>(const std::string& asset, std::string topic, std::string payload, bool rebuild)> deliver;
    /// The intake sequence number up to which every queued message has been applied.
    std::function<std::uint64_t()> applied;
    /// How many times this member's MQTT output link has connected (optional). It is announced,
    /// and the others publish their engines' latest RUL again when it changes (see
    /// node::peers_relinked).
    std::function<std::uint64_t()> link_epoch;
};

/// One entry of an engine's journal: a telemetry reading (empty topic) or an operator command.
struct journal_record {
    std::string topic;
    std::string payload;
};

/// True when the build has the NATS client (libnats): without it `serve --cluster` refuses.
bool available() noexcept;

class node {
public:
    /// Connects to the cluster, makes sure the telemetry stream and the KV bucket exist, and
    /// starts the membership, lease and consumer threads. `http_url` is this member's REST base
    /// URL as the others can reach it (for redirects).
    static Result<std::unique_ptr<node>> start(const cluster_config& config, std::string http_url, twin_intake intake);
    ~node();  ///< stop()
    node(const node&) = delete;
    node& operator=(const node&) = delete;

    /// True when this member owns the engine's partition and has caught up with what the previous
    /// owner published: only then are its RUL and alert messages published (no duplicates from
    /// a rebuild).
    bool publishing(std::string_view asset) const;
    /// The REST base URL of the live member that holds the engine's partition, when it is another
    /// member; nullopt when this member holds it or no holder is known (a takeover in progress).
    std::optional<std::string> owner_url(std::string_view asset) const;
    /// Whether the engine's partition is held by this member.
    bool owns(std::string_view asset) const;
    /// How many partitions this member holds and publishes (caught up with the previous owner).
    std::size_t live_partitions() const;
    /// Connected to a NATS node.
    bool connected() const;
    /// Counts the times another member's MQTT output link came up: a member seen anew, or its
    /// announced link epoch changed. Then this member should publish its engines' latest RUL
    /// again: the MQTT node that member reconnected to may have handed it stale retained
    /// messages (measured: a NATS node restarted under load, before it caught up, gave a member
    /// an engine's RUL of nine cycles before), and its read model would keep them.
    std::uint64_t peers_relinked() const;
    /// GET /api/v1/cluster: members, each partition's holder, lag and counters.
    nlohmann::json describe() const;
    /// Prometheus text: per-partition lag, delivered, acknowledged, redelivered; ownership changes.
    std::string prometheus() const;
    /// Runs an operator command (alert acknowledgement, engine event) for an engine whose
    /// partition this member holds, in order with the partition's readings: the partition's
    /// thread appends it to the journal (so a later holder applies it again when it rebuilds),
    /// then calls `apply(true)`, or `apply(false)` when it could not (the partition moved, or
    /// this member is stopping). False, without calling `apply`: the partition is not live here.
    bool command(std::string_view asset, std::string topic, std::string payload, std::function<void(bool journaled)> apply);
    /// The engine's journal, oldest first, up to its last entry as the stream's leader reports it:
    /// what a twin of the engine has applied (its history can be re-run from it).
    Result<std::vector<journal_record>> journal_of(std::string_view asset) const;
    /// Releases every partition (stops consuming, acknowledges what was applied, deletes the
    /// leases so the others take over at once) and leaves. Idempotent.
    void stop();

    struct impl;

private:
    explicit node(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace turbotwin::cluster
