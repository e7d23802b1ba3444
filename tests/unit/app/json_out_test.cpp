#include "turbotwin/app/json_out.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>

namespace turbotwin::app {
namespace {

twin::twin_update sample_update() {
    twin::twin_update u;
    u.cycle = 187;
    u.estimate.rul = 23.456789012345678;
    u.estimate.rul_lo = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
    u.estimate.rul_hi = 1e-7;
    u.level = alerting::severity::warning;
    u.trust = twin::confidence::low;
    u.ts_ms = 1764000000123;
    return u;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(rul_message, HasEveryFieldWithNumbersThatParseBackBitForBit) {
    // GIVEN an update with awkward numbers and a reason that needs escaping
    auto u = sample_update();
    u.trust_reason = "novelty \"high\"\\ (2.0 > 1)\nsecond line\t\x01";
    // WHEN it is encoded and parsed by a general JSON parser
    const auto j = nlohmann::json::parse(rul_message("ENG-042", u));
    // THEN every field is there, with the exact values
    EXPECT_EQ(j.size(), 9u);
    EXPECT_EQ(j.at("asset"), "ENG-042");
    EXPECT_EQ(j.at("cycle"), 187);
    EXPECT_TRUE(same_bits(j.at("rul").get<double>(), u.estimate.rul));
    EXPECT_TRUE(same_bits(j.at("rul_lo").get<double>(), u.estimate.rul_lo));
    EXPECT_TRUE(same_bits(j.at("rul_hi").get<double>(), u.estimate.rul_hi));
    EXPECT_EQ(j.at("severity"), "warning");
    EXPECT_EQ(j.at("confidence"), "low");
    EXPECT_EQ(j.at("confidence_reason"), u.trust_reason);
    EXPECT_EQ(j.at("ts"), 1764000000123);
}

TEST(rul_message, NullReasonWhenConfidentAndNoTsWhenTheReadingHadNone) {
    auto u = sample_update();
    u.trust = twin::confidence::high;
    u.ts_ms.reset();
    const auto j = nlohmann::json::parse(rul_message("E", u));
    EXPECT_TRUE(j.at("confidence_reason").is_null());
    EXPECT_FALSE(j.contains("ts"));
    EXPECT_EQ(j.at("confidence"), "high");
}

TEST(rul_message, NonFiniteNumbersAreNullNotInvalidJson) {
    auto u = sample_update();
    u.estimate.rul_hi = std::numeric_limits<double>::infinity();
    const auto j = nlohmann::json::parse(rul_message("E", u));
    EXPECT_TRUE(j.at("rul_hi").is_null());
}

}  // namespace
}  // namespace turbotwin::app
