#pragma once
/// Which partition an engine belongs to, and which cluster member owns a partition. Pure
/// functions: the same answers on every instance, with no coordination.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace turbotwin::cluster {

/// 32-bit FNV-1a, the hash NATS' subject mapping function `partition(P, ...)` applies to the
/// tokens it names.
std::uint32_t fnv1a32(std::string_view bytes) noexcept;

/// The partition NATS puts an engine's telemetry in under the mapping
/// `"turbotwin.v1.engines.*.telemetry": "twin.p.{{partition(P,1)}}.{{wildcard(1)}}"`:
/// FNV-1a of the engine id mod P (verified against nats-server 2.9; see docs/scale-out.md).
/// `partitions` must be at least 1.
unsigned partition_of(std::string_view asset, unsigned partitions) noexcept;

/// The member that owns `partition` by rendezvous (highest random weight) hashing: each member
/// scores every partition and the highest score wins. When a member leaves only its partitions
/// move, spread over the others; when it comes back it gets exactly those back. Ties (never in
/// practice) go to the smaller id. nullopt when there are no members.
std::optional<std::string> rendezvous_owner(unsigned partition, const std::vector<std::string>& members);

/// What an instance should do about its leases this round.
struct ownership_plan {
    std::vector<unsigned> acquire;  ///< partitions it should own and does not hold: try to take the lease
    std::vector<unsigned> release;  ///< partitions it holds that belong to another live member now
};

/// Compares the partitions `self` holds with its rendezvous share among `members` (self is
/// counted as a member whether or not it is listed).
ownership_plan plan_ownership(const std::string& self, std::vector<std::string> members, const std::set<unsigned>& held,
                              unsigned partitions);

/// True when `id` can name a cluster member: 1..64 of [A-Za-z0-9_-] (it becomes part of KV keys
/// and consumer names).
bool valid_member_id(std::string_view id) noexcept;

}  // namespace turbotwin::cluster
