#include "turbotwin/cluster/partitioning.hpp"

#include <algorithm>

namespace turbotwin::cluster {

std::uint32_t fnv1a32(std::string_view bytes) noexcept {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

unsigned partition_of(std::string_view asset, unsigned partitions) noexcept {
    return partitions == 0 ? 0 : fnv1a32(asset) % partitions;
}

namespace {
// A member's weight for a partition: FNV-1a 64 over "member/partition", then a finaliser
// (splitmix64's) so that ids differing in one character still get unrelated weights.
std::uint64_t rendezvous_weight(std::string_view member, unsigned partition) noexcept {
    std::uint64_t h = 14695981039346656037ull;
    auto mix_in = [&h](unsigned char c) {
        h ^= c;
        h *= 1099511628211ull;
    };
    for (unsigned char c : member) mix_in(c);
    mix_in('/');
    for (int shift = 0; shift < 32; shift += 8) mix_in(static_cast<unsigned char>((partition >> shift) & 0xff));
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}
}  // namespace

std::optional<std::string> rendezvous_owner(unsigned partition, const std::vector<std::string>& members) {
    const std::string* best = nullptr;
    std::uint64_t best_weight = 0;
    for (const auto& m : members) {
        const auto w = rendezvous_weight(m, partition);
        if (!best || w > best_weight || (w == best_weight && m < *best)) {
            best = &m;
            best_weight = w;
        }
    }
    if (!best) return std::nullopt;
    return *best;
}

ownership_plan plan_ownership(const std::string& self, std::vector<std::string> members, const std::set<unsigned>& held,
                              unsigned partitions) {
    if (std::find(members.begin(), members.end(), self) == members.end()) members.push_back(self);
    ownership_plan plan;
    for (unsigned p = 0; p < partitions; ++p) {
        const bool mine = rendezvous_owner(p, members) == self;
        const bool holding = held.count(p) > 0;
        if (mine && !holding) plan.acquire.push_back(p);
        if (!mine && holding) plan.release.push_back(p);
    }
    return plan;
}

bool valid_member_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

}  // namespace turbotwin::cluster
