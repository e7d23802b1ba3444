// Learning from recorded failures: the recalibration keeps the trees and moves only the
// intervals, the truth of a failure recorded after the last reading, and held-out scoring.
#include "turbotwin/training/learning.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::training {
namespace {

std::shared_ptr<const prognostics::rul_model> shipped() {
    static const auto loaded = [] {
        auto m = prognostics::load_model(std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json");
        EXPECT_TRUE(m.ok()) << m.message();
        return m ? std::make_shared<const prognostics::rul_model>(std::move(*m)) : nullptr;
    }();
    return loaded;
}

// Run-to-failure engines from the committed simulator, wearing `rate` times as fast.
std::vector<dataset::engine_trajectory> fleet(int engines, std::uint64_t seed, double rate) {
    auto params = simulation::load_simulator_params(std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json");
    EXPECT_TRUE(params.ok()) << params.message();
    if (!params) return {};
    simulation::fleet_options o;
    o.engines = engines;
    o.seed = seed;
    o.cut_short_fraction = 0.0;
    o.wear_rate = rate;
    std::vector<dataset::engine_trajectory> out;
    for (auto& e : simulation::simulate_fleet(*params, o)) out.push_back({e.unit, std::move(e.cycles)});
    return out;
}

twin::twin_config config_for(std::shared_ptr<const prognostics::rul_model> m) {
    twin::twin_config c;
    c.model = std::move(m);
    c.catalogue = std::make_shared<sensor_catalogue>();
    return c;
}

TEST(learning, a_failure_recorded_after_the_last_reading_adds_its_gap_to_every_true_rul) {
    ASSERT_NE(shipped(), nullptr);
    auto engines = fleet(1, 3, 1.0);
    auto gap = engines;
    gap[0].rul_after_last = 4;
    const auto at_failure = build_features(*shipped(), engines);
    const auto after_gap = build_features(*shipped(), gap);
    ASSERT_EQ(at_failure.rows(), after_gap.rows());
    EXPECT_EQ(at_failure.rul.back(), 0.0f);
    for (std::size_t r = 0; r < at_failure.rows(); ++r) EXPECT_EQ(after_gap.rul[r], at_failure.rul[r] + 4.0f);
}

TEST(learning, recalibration_keeps_the_trees_and_brings_fast_engines_coverage_toward_nominal) {
    ASSERT_NE(shipped(), nullptr);
    // GIVEN 15 recorded failures of engines wearing 1.3x as fast, and 25 other such engines held out
    const auto failures = fleet(15, 101, 1.3);
    auto held_out = fleet(40, 101, 1.3);
    held_out.erase(held_out.begin(), held_out.begin() + 15);  // units 16..40: never learnt from

    // WHEN the shipped model's intervals are recalibrated on the failures
    std::size_t residuals = 0;
    auto recalibrated = recalibrate_intervals(*shipped(), failures, &residuals);
    ASSERT_TRUE(recalibrated.ok()) << recalibrated.message();
    EXPECT_GT(residuals, 15u * 100u);

    // THEN the trees and every point prediction are the same, the intervals are not
    EXPECT_EQ(recalibrated->trees.trees.size(), shipped()->trees.trees.size());
    const auto before = score_held_out(config_for(shipped()), held_out, 5, 7);
    const auto after = score_held_out(config_for(std::make_shared<const prognostics::rul_model>(*recalibrated)), held_out, 5, 7);
    ASSERT_EQ(before.size(), after.size());
    ASSERT_EQ(before.size(), 25u * 5u);
    for (std::size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(before[i].cycle, after[i].cycle);  // the same cuts, whatever the model
        EXPECT_EQ(before[i].rul, after[i].rul);
        EXPECT_GE(before[i].truth, 1.0);
        EXPECT_LE(before[i].truth, 150.0);
    }
    // AND the held-out coverage of the 90% interval comes closer to 0.9
    const auto old_acc = score_points(before), new_acc = score_points(after);
    EXPECT_LT(old_acc.coverage, 0.85);
    EXPECT_LT(std::abs(new_acc.coverage - 0.9), std::abs(old_acc.coverage - 0.9));
    EXPECT_EQ(new_acc.rmse, old_acc.rmse);
}

TEST(learning, a_refit_calibrates_on_the_fleets_own_engines_and_learns_its_trees_from_all) {
    // GIVEN 6 engines of a usual fleet (the base) and 4 failures of a fast-wearing one
    auto engines = fleet(6, 41, 1.0);
    const auto fast = fleet(4, 42, 1.3);
    engines.insert(engines.end(), fast.begin(), fast.end());
    train_options o;
    o.rounds = 15;
    o.calibration_folds = 2;
    // WHEN one model calibrates on every engine and one only on the fast ones
    auto pooled = train_model(engines, o);
    o.calibrate_from_engine = 6;
    auto own = train_model(engines, o);
    ASSERT_TRUE(pooled.ok()) << pooled.message();
    ASSERT_TRUE(own.ok()) << own.message();
    // THEN the trees are the same and the intervals are not
    ASSERT_EQ(own->trees.trees.size(), pooled->trees.trees.size());
    for (std::size_t t = 0; t < own->trees.trees.size(); ++t) EXPECT_EQ(own->trees.trees[t].value, pooled->trees.trees[t].value);
    EXPECT_NE(own->calibration.lo_offset, pooled->calibration.lo_offset);
    // AND there must be an engine left to calibrate on
    o.calibrate_from_engine = engines.size();
    EXPECT_EQ(train_model(engines, o).error(), errc::invalid_argument);
}

TEST(learning, too_few_cycles_to_calibrate_are_refused_with_the_count) {
    ASSERT_NE(shipped(), nullptr);
    auto engines = fleet(1, 5, 1.0);
    engines[0].cycles.resize(20);  // a 20-cycle life: true RUL 1..19 at 19 cycles, fewer than 30
    auto r = recalibrate_intervals(*shipped(), engines);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::invalid_argument);
    EXPECT_NE(r.message().find("19 cycles"), std::string::npos) << r.message();
}

}  // namespace
}  // namespace turbotwin::training
