#include "turbotwin/alerting/rules.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace turbotwin::alerting {
namespace {

constexpr severity N = severity::normal;
constexpr severity W = severity::warning;
constexpr severity C = severity::critical;

// Defaults: warning at <= 50, critical at <= 20, clear margin 10.
const thresholds defaults{};

TEST(severity, Names) {
    EXPECT_STREQ(to_string(N), "normal");
    EXPECT_STREQ(to_string(W), "warning");
    EXPECT_STREQ(to_string(C), "critical");
    EXPECT_STREQ(to_string(alert_state::active), "active");
    EXPECT_STREQ(to_string(alert_state::cleared), "cleared");
}

struct transition_case {
    severity from;
    double rul;
    severity to;
};

class next_severity_table : public ::testing::TestWithParam<transition_case> {};

TEST_P(next_severity_table, Transition) {
    const auto& c = GetParam();
    EXPECT_EQ(next_severity(defaults, c.from, c.rul), c.to)
        << to_string(c.from) << " at rul " << c.rul << " should be " << to_string(c.to);
}

INSTANTIATE_TEST_SUITE_P(
    alerting, next_severity_table,
    ::testing::Values(
        // From normal: enter at <= threshold, including a direct jump to critical.
        transition_case{N, 200.0, N}, transition_case{N, 50.0001, N}, transition_case{N, 50.0, W},
        transition_case{N, 35.0, W}, transition_case{N, 20.0001, W}, transition_case{N, 20.0, C}, transition_case{N, 0.0, C},
        // From warning: stay up to warning + margin (60), escalate at <= 20.
        transition_case{W, 50.0, W}, transition_case{W, 55.0, W}, transition_case{W, 60.0, W}, transition_case{W, 60.0001, N},
        transition_case{W, 500.0, N}, transition_case{W, 20.0001, W}, transition_case{W, 20.0, C},
        // From critical: stay up to critical + margin (30), then warning up to 60, then normal.
        transition_case{C, 0.0, C}, transition_case{C, 25.0, C}, transition_case{C, 30.0, C}, transition_case{C, 30.0001, W},
        transition_case{C, 45.0, W}, transition_case{C, 60.0, W}, transition_case{C, 60.0001, N},
        transition_case{C, 125.0, N}));

TEST(next_severity, CriticalMarginMayReachAboveWarningThreshold) {
    // critical + margin (55) > warning (50): critical holds until 55, warning until 60.
    const thresholds t{50.0, 45.0, 10.0};
    EXPECT_EQ(next_severity(t, C, 52.0), C);
    EXPECT_EQ(next_severity(t, C, 55.0), C);
    EXPECT_EQ(next_severity(t, C, 56.0), W);
    EXPECT_EQ(next_severity(t, C, 61.0), N);
    EXPECT_EQ(next_severity(t, W, 52.0), W);
    EXPECT_EQ(next_severity(t, N, 52.0), N);
}

TEST(next_severity, ZeroMarginHasNoHysteresis) {
    const thresholds t{50.0, 20.0, 0.0};
    EXPECT_EQ(next_severity(t, W, 50.0), W);
    EXPECT_EQ(next_severity(t, W, 50.5), N);
    EXPECT_EQ(next_severity(t, C, 20.5), W);
    EXPECT_EQ(next_severity(t, C, 20.0), C);
}

TEST(next_severity, EqualThresholdsGoStraightToCritical) {
    const thresholds t{30.0, 30.0, 5.0};
    EXPECT_EQ(next_severity(t, N, 30.0), C);
    EXPECT_EQ(next_severity(t, N, 31.0), N);
    EXPECT_EQ(next_severity(t, C, 34.0), C);
    EXPECT_EQ(next_severity(t, C, 35.5), N);
}

// ---------------------------------------------------------------- asset_alerts lifecycle

TEST(asset_alerts, StartsNormalWithNothingActive) {
    asset_alerts a;
    EXPECT_EQ(a.current(), N);
    EXPECT_EQ(a.active(), nullptr);
    EXPECT_EQ(a.raised_count(), 0u);
}

TEST(asset_alerts, RaisesOnceOnEnteringAndNotWhileStaying) {
    asset_alerts a;
    // GIVEN a healthy engine
    auto ch = a.evaluate(defaults, "ENG-001", 10, 120.0, 100.0, 140.0);
    EXPECT_FALSE(ch.raised);
    EXPECT_FALSE(ch.cleared);
    // WHEN the RUL drops to the warning threshold
    ch = a.evaluate(defaults, "ENG-001", 11, 50.0, 40.0, 60.0);
    // THEN one warning is raised, carrying the estimate
    ASSERT_TRUE(ch.raised);
    EXPECT_FALSE(ch.cleared);
    EXPECT_EQ(ch.raised->id, "ENG-001-1");
    EXPECT_EQ(ch.raised->asset, "ENG-001");
    EXPECT_EQ(ch.raised->level, W);
    EXPECT_EQ(ch.raised->state, alert_state::active);
    EXPECT_EQ(ch.raised->raised_cycle, 11);
    EXPECT_EQ(ch.raised->cycle, 11);
    EXPECT_FALSE(ch.raised->cleared_cycle.has_value());
    EXPECT_EQ(ch.raised->rul, 50.0);
    EXPECT_EQ(ch.raised->rul_lo, 40.0);
    EXPECT_EQ(ch.raised->rul_hi, 60.0);
    ASSERT_TRUE(a.active());
    EXPECT_EQ(a.active()->id, "ENG-001-1");
    EXPECT_EQ(a.current(), W);
    // AND staying in warning raises nothing more
    for (std::int64_t cycle = 12; cycle < 30; ++cycle) {
        ch = a.evaluate(defaults, "ENG-001", cycle, 49.0 - double(cycle - 12), 30.0, 70.0);
        EXPECT_FALSE(ch.raised) << cycle;
        EXPECT_FALSE(ch.cleared) << cycle;
    }
    EXPECT_EQ(a.raised_count(), 1u);
    EXPECT_EQ(a.active()->cycle, 11);  // the active alert keeps the estimate of its last change
}

TEST(asset_alerts, EscalationClearsThenRaises) {
    asset_alerts a;
    ASSERT_TRUE(a.evaluate(defaults, "E7", 5, 45.0, 40.0, 50.0).raised);
    // WHEN it crosses the critical threshold
    auto ch = a.evaluate(defaults, "E7", 6, 19.0, 12.0, 25.0);
    // THEN the warning is cleared and a critical alert with the next id is raised
    ASSERT_TRUE(ch.cleared);
    ASSERT_TRUE(ch.raised);
    EXPECT_EQ(ch.cleared->id, "E7-1");
    EXPECT_EQ(ch.cleared->level, W);
    EXPECT_EQ(ch.cleared->state, alert_state::cleared);
    EXPECT_EQ(ch.cleared->raised_cycle, 5);
    EXPECT_EQ(ch.cleared->cleared_cycle, 6);
    EXPECT_EQ(ch.cleared->cycle, 6);
    EXPECT_EQ(ch.cleared->rul, 19.0);  // the estimate that ended it
    EXPECT_EQ(ch.raised->id, "E7-2");
    EXPECT_EQ(ch.raised->level, C);
    EXPECT_EQ(ch.raised->raised_cycle, 6);
    EXPECT_EQ(a.active()->id, "E7-2");
    EXPECT_EQ(a.raised_count(), 2u);
}

TEST(asset_alerts, JumpFromNormalToCriticalAndBackToNormal) {
    asset_alerts a;
    auto up = a.evaluate(defaults, "X", 1, 5.0, 0.0, 12.0);
    ASSERT_TRUE(up.raised);
    EXPECT_FALSE(up.cleared);  // nothing was active before
    EXPECT_EQ(up.raised->level, C);
    EXPECT_EQ(up.raised->id, "X-1");
    // A maintenance reset: RUL jumps far above every threshold in one reading.
    auto down = a.evaluate(defaults, "X", 2, 125.0, 110.0, 140.0);
    ASSERT_TRUE(down.cleared);
    EXPECT_FALSE(down.raised);
    EXPECT_EQ(down.cleared->id, "X-1");
    EXPECT_EQ(down.cleared->level, C);
    EXPECT_EQ(down.cleared->cleared_cycle, 2);
    EXPECT_EQ(a.current(), N);
    EXPECT_FALSE(a.active());
}

TEST(asset_alerts, DeescalationClearsCriticalAndRaisesWarning) {
    asset_alerts a;
    a.evaluate(defaults, "X", 1, 10.0, 5.0, 15.0);
    auto ch = a.evaluate(defaults, "X", 2, 40.0, 30.0, 50.0);  // above 20 + 10
    ASSERT_TRUE(ch.cleared);
    ASSERT_TRUE(ch.raised);
    EXPECT_EQ(ch.cleared->level, C);
    EXPECT_EQ(ch.raised->level, W);
    EXPECT_EQ(ch.raised->id, "X-2");
}

TEST(asset_alerts, IdsKeepCountingAcrossEpisodes) {
    asset_alerts a;
    std::vector<std::string> ids;
    std::int64_t cycle = 0;
    for (int episode = 0; episode < 3; ++episode) {
        for (double rul : {100.0, 45.0, 15.0, 100.0}) {
            auto ch = a.evaluate(defaults, "ENG-9", ++cycle, rul, rul, rul);
            if (ch.raised) ids.push_back(ch.raised->id);
        }
    }
    const std::vector<std::string> expected = {"ENG-9-1", "ENG-9-2", "ENG-9-3", "ENG-9-4", "ENG-9-5", "ENG-9-6"};
    EXPECT_EQ(ids, expected);
    EXPECT_EQ(a.raised_count(), 6u);
}

TEST(asset_alerts, NoisyRulNearAThresholdDoesNotFlap) {
    // GIVEN a RUL that hovers around the warning threshold with noise inside the margin
    asset_alerts a;
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> noise(-4.9, 4.9);
    int raised = 0, cleared = 0;
    // First reading below the threshold enters warning...
    auto first = a.evaluate(defaults, "N1", 1, 49.0, 40.0, 58.0);
    ASSERT_TRUE(first.raised);
    // ...then 500 readings in (45, 55): above 50 often, but never above 50 + 10.
    for (std::int64_t cycle = 2; cycle <= 501; ++cycle) {
        const double rul = 50.0 + noise(rng);
        auto ch = a.evaluate(defaults, "N1", cycle, rul, rul - 8, rul + 8);
        raised += ch.raised.has_value();
        cleared += ch.cleared.has_value();
    }
    // THEN nothing flaps
    EXPECT_EQ(raised, 0);
    EXPECT_EQ(cleared, 0);
    EXPECT_EQ(a.current(), W);
    EXPECT_EQ(a.raised_count(), 1u);
}

TEST(asset_alerts, NoisyRulNearCriticalDoesNotFlapEither) {
    asset_alerts a;
    std::mt19937_64 rng(12);
    std::uniform_real_distribution<double> noise(-4.9, 4.9);
    ASSERT_TRUE(a.evaluate(defaults, "N2", 1, 19.0, 10.0, 28.0).raised);
    int changes = 0;
    for (std::int64_t cycle = 2; cycle <= 501; ++cycle) {
        const double rul = 20.0 + noise(rng);
        auto ch = a.evaluate(defaults, "N2", cycle, rul, rul, rul);
        changes += ch.raised.has_value() + ch.cleared.has_value();
    }
    EXPECT_EQ(changes, 0);
    EXPECT_EQ(a.current(), C);
}

TEST(asset_alerts, WithoutMarginTheSameNoiseWouldFlap) {
    // Control for the two tests above: with clear_margin 0 the same signal does flap,
    // so the margin is what prevents it.
    const thresholds no_margin{50.0, 20.0, 0.0};
    asset_alerts a;
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> noise(-4.9, 4.9);
    int changes = 0;
    for (std::int64_t cycle = 1; cycle <= 500; ++cycle) {
        auto ch = a.evaluate(no_margin, "N3", cycle, 50.0 + noise(rng), 0, 0);
        changes += ch.raised.has_value() + ch.cleared.has_value();
    }
    EXPECT_GT(changes, 100);
}

TEST(asset_alerts, SeparateAssetsCountSeparately) {
    asset_alerts a, b;
    EXPECT_EQ(a.evaluate(defaults, "A", 1, 10.0, 0, 0).raised->id, "A-1");
    EXPECT_EQ(b.evaluate(defaults, "B", 1, 40.0, 0, 0).raised->id, "B-1");
    EXPECT_EQ(b.evaluate(defaults, "B", 2, 10.0, 0, 0).raised->id, "B-2");
    EXPECT_EQ(a.raised_count(), 1u);
}

}  // namespace
}  // namespace turbotwin::alerting

namespace turbotwin::alerting {
namespace {

// An asset that has raised ENG-1-1 (warning) and, after escalating, ENG-1-2 (critical).
asset_alerts escalated() {
    asset_alerts a;
    a.evaluate(defaults, "ENG-1", 10, 45, 30, 60);
    a.evaluate(defaults, "ENG-1", 20, 15, 5, 30);
    return a;
}

TEST(acknowledge, marks_the_active_alert_and_keeps_it_in_force) {
    auto alerts = escalated();
    auto r = alerts.acknowledge("ENG-1", "ENG-1-2", {"operator-1", 1700000000000, "borescope booked"});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->state, alert_state::acknowledged);
    ASSERT_TRUE(r->ack);
    EXPECT_EQ(r->ack->by, "operator-1");
    EXPECT_EQ(r->ack->comment, "borescope booked");
    EXPECT_EQ(alerts.current(), severity::critical);
    EXPECT_EQ(alerts.active()->state, alert_state::acknowledged);
}

TEST(acknowledge, refuses_twice_cleared_and_unknown_alerts) {
    auto alerts = escalated();
    ASSERT_TRUE(alerts.acknowledge("ENG-1", "ENG-1-2", {"a", 1, ""}).ok());
    EXPECT_EQ(alerts.acknowledge("ENG-1", "ENG-1-2", {"b", 2, ""}).error(), errc::conflict);
    EXPECT_EQ(alerts.active()->ack->by, "a") << "a second ack must not overwrite the first";
    EXPECT_EQ(alerts.acknowledge("ENG-1", "ENG-1-1", {"a", 1, ""}).error(), errc::conflict) << "ENG-1-1 has cleared";
    EXPECT_EQ(alerts.acknowledge("ENG-1", "ENG-1-3", {"a", 1, ""}).error(), errc::not_found);
    EXPECT_EQ(alerts.acknowledge("ENG-1", "ENG-1-0", {"a", 1, ""}).error(), errc::not_found);
    EXPECT_EQ(alerts.acknowledge("ENG-1", "ENG-2-1", {"a", 1, ""}).error(), errc::not_found);
    EXPECT_EQ(alerts.acknowledge("ENG-1", "garbage", {"a", 1, ""}).error(), errc::not_found);
}

TEST(acknowledge, an_acknowledged_alert_clears_with_its_acknowledgement) {
    auto alerts = escalated();
    ASSERT_TRUE(alerts.acknowledge("ENG-1", "ENG-1-2", {"operator-1", 5, "seen"}).ok());
    // Recovery far above the warning threshold clears it.
    auto ch = alerts.evaluate(defaults, "ENG-1", 30, 120, 100, 140);
    ASSERT_TRUE(ch.cleared);
    EXPECT_EQ(ch.cleared->state, alert_state::cleared);
    ASSERT_TRUE(ch.cleared->ack);
    EXPECT_EQ(ch.cleared->ack->by, "operator-1");
    EXPECT_FALSE(alerts.active());
}

TEST(alert_state, parses_its_own_names_only) {
    for (auto s : {alert_state::active, alert_state::acknowledged, alert_state::cleared})
        EXPECT_EQ(parse_alert_state(to_string(s)), s);
    EXPECT_FALSE(parse_alert_state("Active"));
    EXPECT_EQ(parse_severity("critical"), severity::critical);
    EXPECT_FALSE(parse_severity("high"));
}

TEST(deferred_text, is_made_once_by_the_first_reader_whatever_the_threads) {
    std::atomic<int> made{0};
    const deferred_text text([&made] {
        ++made;
        return std::string("{\"cycle\":7}");
    });
    EXPECT_EQ(made.load(), 0) << "nothing is made before it is asked for";
    std::vector<std::thread> readers;
    std::atomic<int> right{0};
    for (int i = 0; i < 4; ++i)
        readers.emplace_back([&] {
            if (text.get() == "{\"cycle\":7}") ++right;
        });
    for (auto& r : readers) r.join();
    EXPECT_EQ(made.load(), 1);
    EXPECT_EQ(right.load(), 4);
    EXPECT_EQ(deferred_text(std::string("ready")).get(), "ready");
}

}  // namespace
}  // namespace turbotwin::alerting
