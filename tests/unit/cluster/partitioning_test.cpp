#include "turbotwin/cluster/partitioning.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "turbotwin/cluster/config.hpp"

namespace turbotwin::cluster {
namespace {

TEST(partition_of, MatchesNatsPartitionMapping) {
    // Observed on nats-server 2.9.10 with the mapping of config/cluster/nats-node.conf:
    // turbotwin.v1.engines.ID.telemetry arrived as twin.p.K.ID with these K (P = 64).
    EXPECT_EQ(partition_of("ENG-1", 64), 13u);
    EXPECT_EQ(partition_of("ENG-7", 64), 27u);
    EXPECT_EQ(partition_of("ENG-200", 64), 20u);
    EXPECT_EQ(partition_of("LG-000001", 64), 32u);
    EXPECT_EQ(partition_of("ab", 64), 10u);
}

TEST(fnv1a32, KnownVectors) {
    EXPECT_EQ(fnv1a32(""), 2166136261u);
    EXPECT_EQ(fnv1a32("a"), 0xe40c292cu);
    EXPECT_EQ(fnv1a32("foobar"), 0xbf9cf968u);
}

TEST(rendezvous_owner, NoMembersNoOwner) { EXPECT_FALSE(rendezvous_owner(3, {})); }

TEST(rendezvous_owner, SameAnswerWhateverTheMemberOrder) {
    const std::vector<std::string> a{"tt1", "tt2", "tt3"}, b{"tt3", "tt1", "tt2"};
    for (unsigned p = 0; p < 64; ++p) EXPECT_EQ(rendezvous_owner(p, a), rendezvous_owner(p, b));
}

TEST(rendezvous_owner, SpreadsPartitionsFairly) {
    const std::vector<std::string> members{"tt1", "tt2", "tt3"};
    std::map<std::string, int> share;
    for (unsigned p = 0; p < 3000; ++p) ++share[*rendezvous_owner(p, members)];
    for (const auto& m : members) EXPECT_NEAR(share[m], 1000, 120) << m;
}

TEST(rendezvous_owner, OnlyTheLeaversPartitionsMoveAndTheyComeBack) {
    // GIVEN three members  WHEN tt2 leaves  THEN only tt2's partitions move, spread over both others
    const std::vector<std::string> three{"tt1", "tt2", "tt3"}, two{"tt1", "tt3"};
    std::set<std::string> heirs;
    for (unsigned p = 0; p < 64; ++p) {
        const auto before = *rendezvous_owner(p, three), after = *rendezvous_owner(p, two);
        if (before != "tt2") EXPECT_EQ(before, after) << p;
        else heirs.insert(after);
    }
    EXPECT_EQ(heirs.size(), 2u);
}

TEST(plan_ownership, AcquiresItsShareAndReleasesTheRest) {
    const std::vector<std::string> members{"tt1", "tt2", "tt3"};
    std::set<unsigned> everything;
    for (unsigned p = 0; p < 16; ++p) everything.insert(p);
    // Alone, tt1 holds everything; when the others appear it releases exactly their share.
    const auto plan = plan_ownership("tt1", members, everything, 16);
    EXPECT_TRUE(plan.acquire.empty());
    for (unsigned p : plan.release) EXPECT_NE(rendezvous_owner(p, members), "tt1");
    EXPECT_EQ(plan.release.size() + 0u, static_cast<std::size_t>(16 - std::count_if(everything.begin(), everything.end(), [&](unsigned p) {
                                            return rendezvous_owner(p, members) == "tt1";
                                        })));
    // Holding nothing, it acquires its share; self counts as a member even when unlisted.
    const auto fresh = plan_ownership("tt1", {"tt2", "tt3"}, {}, 16);
    for (unsigned p : fresh.acquire) EXPECT_EQ(rendezvous_owner(p, members), "tt1");
    EXPECT_TRUE(fresh.release.empty());
}

TEST(valid_member_id, Alphabet) {
    EXPECT_TRUE(valid_member_id("tt-1_a"));
    EXPECT_FALSE(valid_member_id(""));
    EXPECT_FALSE(valid_member_id("a.b"));  // KV keys and consumer names
    EXPECT_FALSE(valid_member_id(std::string(65, 'a')));
}

TEST(lease_clock, ExpiresTwoHeartbeatsBeforeTheBucketWould) {
    using namespace std::chrono_literals;
    lease_clock lease(6000ms, 500ms);
    const auto t0 = lease_clock::clock::now();
    lease.renewed(t0);
    EXPECT_TRUE(lease.valid(t0 + 4900ms));
    EXPECT_FALSE(lease.valid(t0 + 5000ms));
    lease.renewed(t0 + 4000ms);
    EXPECT_TRUE(lease.valid(t0 + 8000ms));
}

TEST(check_cluster_config, RefusesUnsafeSettings) {
    cluster_config c;
    c.nats_urls = {"nats://127.0.0.1:4222"};
    c.mqtt_url = "tcp://127.0.0.1:1883";
    c.instance = "tt1";
    EXPECT_TRUE(check_cluster_config(c));
    c.lease_ttl = std::chrono::milliseconds(1000);  // < 3 heartbeats of 500 ms
    EXPECT_FALSE(check_cluster_config(c));
    c.lease_ttl = std::chrono::milliseconds(6000);
    c.instance = "bad.id";
    EXPECT_FALSE(check_cluster_config(c));
}

}  // namespace
}  // namespace turbotwin::cluster
