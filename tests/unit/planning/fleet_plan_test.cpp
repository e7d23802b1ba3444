#include "turbotwin/planning/fleet_plan.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <random>

namespace turbotwin::planning {
namespace {

// One bin; RUL quantiles raw-10, raw, raw+10 at 5%, 50%, 95%: a symmetric distribution whose
// P(RUL <= raw + x) is 0.5 + 0.45 x / 10 for |x| <= 10 (and goes on linearly beyond).
prognostics::interval_calibration symmetric_calibration() {
    prognostics::interval_calibration c;
    c.bin_upper = {std::numeric_limits<double>::infinity()};
    c.lo_offset = {-10.0};
    c.hi_offset = {10.0};
    c.levels = {0.05, 0.5, 0.95};
    c.offsets = {{-10.0, 0.0, 10.0}};
    return c;
}

engine_outlook engine(std::string id, double rul) { return {std::move(id), 100, rul, rul, 1.0}; }

TEST(forecast, PerEngineProbabilityIsExactAndMonteCarloAgreesWithIt) {
    const auto c = symmetric_calibration();
    // RUL 60, critical 20, 10 days at 4 cycles a day: critical within the horizon iff RUL <= 60.
    const std::vector<engine_outlook> fleet = {engine("A", 60), engine("B", 200), engine("C", 15)};
    forecast_options o;
    o.days = 10;
    o.use.default_cycles_per_day = 4;
    o.samples = 20000;
    const auto f = forecast(c, fleet, o);
    ASSERT_TRUE(f) << f.detail();
    ASSERT_EQ(f->engines.size(), 3u);
    EXPECT_EQ(f->engines[0].asset, "C");  // most at risk first
    EXPECT_NEAR(f->engines[0].p_critical, 1.0, 1e-12);
    EXPECT_EQ(f->engines[0].median_days_to_critical, 0.0);
    EXPECT_EQ(f->engines[1].asset, "A");
    EXPECT_NEAR(f->engines[1].p_critical, 0.5, 1e-12);
    EXPECT_NEAR(f->engines[1].median_days_to_critical, 10.0, 1e-9);
    EXPECT_NEAR(f->engines[2].p_critical, 0.0, 1e-12);
    // Two weeks (the second partial); C is removed in week 0, A half the time.
    ASSERT_EQ(f->weeks.size(), 2u);
    EXPECT_EQ(f->weeks[1].to_day, 10.0);
    EXPECT_NEAR(f->total_mean, 1.5, 0.02);
    EXPECT_EQ(f->total_lo, 1.0);
    EXPECT_EQ(f->total_hi, 2.0);
    EXPECT_GE(f->weeks[0].mean, 1.0);
}

TEST(forecast, HarderFlyingBringsCriticalCloserAndOverridesApply) {
    const auto c = symmetric_calibration();
    const std::vector<engine_outlook> fleet = {engine("A", 80), engine("B", 80)};
    forecast_options o;
    o.days = 10;
    o.use.default_cycles_per_day = 4;
    o.use.per_engine["B"] = 8;
    const auto f = forecast(c, fleet, o);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->engines[0].asset, "B");
    EXPECT_GT(f->engines[0].p_critical, f->engines[1].p_critical);
    EXPECT_EQ(f->engines[0].cycles_per_day, 8.0);
}

TEST(forecast, RefusesNonsense) {
    const auto c = symmetric_calibration();
    const std::vector<engine_outlook> fleet = {engine("A", 80)};
    forecast_options o;
    o.days = 0;
    EXPECT_EQ(forecast(c, fleet, o).error(), errc::invalid_argument);
    o.days = 30;
    o.use.default_cycles_per_day = std::nan("");
    EXPECT_EQ(forecast(c, fleet, o).error(), errc::invalid_argument);
    o.use.default_cycles_per_day = 4;
    o.use.per_engine["A"] = -1;
    EXPECT_EQ(forecast(c, fleet, o).error(), errc::invalid_argument);
    // The draws' weekly counts are bounded: ten years of weeks at 20,000 draws is refused.
    o.use.per_engine.clear();
    o.days = 3650;
    o.samples = 20000;
    const auto big = forecast(c, fleet, o);
    EXPECT_EQ(big.error(), errc::invalid_argument);
    EXPECT_NE(big.detail().find("samples"), std::string::npos);
}

TEST(scenario, EachChangeMovesTheRiskItShould) {
    const auto c = symmetric_calibration();
    const std::vector<engine_outlook> fleet = {engine("A", 100), engine("B", 100), engine("C", 100)};
    scenario s;
    s.baseline.cycles_per_day = 4;
    s.baseline.engines["A"] = {4, 25};   // 100 cycles to the visit: risk 0.5
    s.baseline.engines["B"] = {2, 50};   // 100 cycles too
    s.baseline.engines["C"] = {4, 20};   // 80 cycles: risk below
    plan_change harder{plan_change::kind::utilisation, {"A"}, 5.0, std::nullopt, 0, 0};
    plan_change defer{plan_change::kind::defer_visit, {"C"}, std::nullopt, std::nullopt, 20, 0};
    s.changes = {harder, defer};
    const auto r = run_scenario(c, fleet, s);
    ASSERT_TRUE(r) << r.detail();
    auto find = [&](const std::string& id) {
        for (const auto& e : r->engines)
            if (e.asset == id) return e;
        return engine_outcome{};
    };
    const auto a = find("A"), b = find("B"), cc = find("C");
    EXPECT_NEAR(a.baseline.risk, 0.5, 1e-12);
    EXPECT_NEAR(a.scenario.cycles_to_visit, 125, 1e-9);
    EXPECT_GT(a.scenario.risk, a.baseline.risk);
    EXPECT_TRUE(a.changed);
    EXPECT_FALSE(b.changed);
    EXPECT_EQ(b.scenario.risk, b.baseline.risk);
    EXPECT_NEAR(cc.baseline.cycles_to_visit, 80, 1e-9);
    EXPECT_NEAR(cc.scenario.cycles_to_visit, 100, 1e-9);  // deferred 20 cycles = 5 days at 4 a day
    EXPECT_NEAR(*cc.scenario.visit_in_days, 25, 1e-9);
    EXPECT_NEAR(r->expected_failures_scenario - r->expected_failures_baseline,
                (a.scenario.risk - a.baseline.risk) + (cc.scenario.risk - cc.baseline.risk), 1e-12);
    EXPECT_EQ(r->engines.front().asset, "A");  // highest scenario risk first
}

TEST(scenario, SwapTradesUtilisationAndFleetPlanTouchesAll) {
    const auto c = symmetric_calibration();
    const std::vector<engine_outlook> fleet = {engine("A", 100), engine("B", 100)};
    scenario s;
    s.baseline.engines["A"] = {2, 30};
    s.baseline.engines["B"] = {5, 30};
    s.changes = {{plan_change::kind::swap, {"A", "B"}, std::nullopt, std::nullopt, 0, 0}};
    auto r = run_scenario(c, fleet, s);
    ASSERT_TRUE(r);
    for (const auto& e : r->engines) {
        EXPECT_TRUE(e.changed);
        EXPECT_EQ(e.scenario.cycles_per_day, e.asset == "A" ? 5.0 : 2.0);
    }
    s.changes = {{plan_change::kind::fleet_plan, {}, 3.0, 10.0, 0, 0}};
    r = run_scenario(c, fleet, s);
    ASSERT_TRUE(r);
    for (const auto& e : r->engines) EXPECT_NEAR(e.scenario.cycles_to_visit, 30, 1e-9);
}

TEST(scenario, NamesWhatIsWrong) {
    const auto c = symmetric_calibration();
    const std::vector<engine_outlook> fleet = {engine("A", 100)};
    scenario s;
    s.changes = {{plan_change::kind::utilisation, {"ZZ"}, 3.0, std::nullopt, 0, 0}};
    auto r = run_scenario(c, fleet, s);
    EXPECT_EQ(r.error(), errc::not_found);
    EXPECT_NE(r.detail().find("ZZ"), std::string::npos);
    s.changes = {{plan_change::kind::defer_visit, {"A"}, std::nullopt, std::nullopt, 10, 0}};
    r = run_scenario(c, fleet, s);  // no visit planned
    EXPECT_EQ(r.error(), errc::invalid_argument);
    s.changes = {{plan_change::kind::swap, {"A"}, std::nullopt, std::nullopt, 0, 0}};
    EXPECT_EQ(run_scenario(c, fleet, s).error(), errc::invalid_argument);
}

TEST(schedule, OptimumBeatsTheThresholdPlanWhenCapacityIsShort) {
    const auto c = symmetric_calibration();
    // Three engines due now by the point estimate, one slot a week: the threshold plan takes
    // them in point-RUL order; the optimum takes the one whose risk grows fastest first.
    std::vector<engine_outlook> fleet = {engine("A", 21), engine("B", 22), engine("C", 30), engine("D", 400)};
    schedule_options o;
    o.weeks = 4;
    o.capacity_per_week = 1;
    o.use.default_cycles_per_day = 1;
    o.use.per_engine["C"] = 6;  // flies hard: 42 cycles a week
    o.threshold_rul = 25;
    const auto best = optimal_schedule(c, fleet, o);
    const auto naive = threshold_schedule(c, fleet, o);
    ASSERT_TRUE(best) << best.detail();
    ASSERT_TRUE(naive) << naive.detail();
    EXPECT_LE(best->expected_failures, naive->expected_failures + 1e-12);
    EXPECT_LT(best->expected_failures, naive->expected_failures - 0.05);
    ASSERT_FALSE(best->removals.empty());
    EXPECT_EQ(best->removals.front().asset, "C");
    EXPECT_EQ(best->removals.front().week, 0);
    // Capacity holds, and a healthy engine is not pulled for nothing.
    std::map<int, int> per_week;
    for (const auto& r : best->removals) ++per_week[r.week];
    for (const auto& [w, n] : per_week) EXPECT_LE(n, 1);
    for (const auto& r : best->removals) EXPECT_NE(r.asset, "D");
    // Every engine is either removed once or kept.
    EXPECT_EQ(best->removals.size() + best->kept.size(), fleet.size());
}

TEST(schedule, OptimumMatchesBruteForceOnSmallFleets) {
    const auto c = symmetric_calibration();
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> rul(0, 60), rate(0.5, 4);
    for (int trial = 0; trial < 30; ++trial) {
        std::vector<engine_outlook> fleet;
        schedule_options o;
        o.weeks = 3;
        o.capacity_per_week = 1;
        o.min_risk_reduction = 0.01;
        for (int i = 0; i < 4; ++i) {
            fleet.push_back(engine(std::string(1, char('A' + i)), rul(rng)));
            o.use.per_engine[fleet.back().asset] = rate(rng);
        }
        const auto best = optimal_schedule(c, fleet, o);
        ASSERT_TRUE(best);
        // Brute force: each engine to week 0..2 or kept (3), capacity 1 per week.
        double brute = 1e9;
        for (int code = 0; code < 256; ++code) {
            int weeks_of[4], used[3] = {0, 0, 0};
            bool ok = true;
            double cost = 0;
            for (int i = 0; i < 4; ++i) {
                weeks_of[i] = (code >> (2 * i)) & 3;
                const double r = o.use.of(fleet[std::size_t(i)].asset);
                if (weeks_of[i] < 3) {
                    ok = ok && ++used[weeks_of[i]] <= 1;
                    cost += failure_within(c, fleet[std::size_t(i)], weeks_of[i] * 7.0 * r) + o.min_risk_reduction;
                } else {
                    cost += failure_within(c, fleet[std::size_t(i)], 21.0 * r);
                }
            }
            if (ok) brute = std::min(brute, cost);
        }
        const double flow_cost = best->expected_failures + o.min_risk_reduction * double(best->removals.size());
        EXPECT_NEAR(flow_cost, brute, 1e-9) << "trial " << trial;
    }
}

TEST(schedule, JudgeCountsFailuresBeforeRemovalAndLifeGivenUp) {
    const std::vector<engine_outlook> fleet = {engine("A", 50), engine("B", 50), engine("C", 50)};
    schedule s;
    s.removals = {{"A", 1, 0, 0}, {"B", 2, 0, 0}};
    s.kept = {"C"};
    schedule_options o;
    o.weeks = 4;
    o.use.default_cycles_per_day = 1;
    // A removed at day 7 with 10 cycles left; B fails at 12, before its removal at 14; C fails
    // at 20, within the 28-day horizon.
    const std::map<std::string, double, std::less<>> truth = {{"A", 17}, {"B", 12}, {"C", 20}};
    const auto j = judge(s, fleet, truth, o);
    EXPECT_EQ(j.failures, 2);
    EXPECT_EQ(j.removals, 1);
    EXPECT_NEAR(j.mean_life_left, 10, 1e-12);
}

}  // namespace
}  // namespace turbotwin::planning
