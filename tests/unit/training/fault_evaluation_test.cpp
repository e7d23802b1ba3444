// evaluate_faults on a small simulated fleet with the shipped model: stuck probes and dropouts
// are found within their targets and isolation keeps the RUL nearer the fault-free run than
// applying the faulty readings does. (The full-size figures are in docs/trust.md.)
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "turbotwin/prognostics/model.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/training/fault_evaluation.hpp"

namespace {

using namespace turbotwin;

struct setup {
    simulation::simulator_params params;
    twin::twin_config config;
    std::vector<dataset::engine_trajectory> fleet;
};

setup make_setup(int engines) {
    setup s;
    auto params = simulation::load_simulator_params(std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json");
    EXPECT_TRUE(params.ok()) << params.message();
    auto model = prognostics::load_model(std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json");
    EXPECT_TRUE(model.ok()) << model.message();
    if (!params || !model) return s;
    s.params = *params;
    s.config.model = std::make_shared<prognostics::rul_model>(std::move(*model));
    auto catalogue = std::make_shared<sensor_catalogue>();
    for (auto& r : catalogue->sensors) r.min = -1e9, r.max = 1e9;
    for (auto& r : catalogue->settings) r.min = -1e9, r.max = 1e9;
    s.config.catalogue = catalogue;
    simulation::fleet_options options;
    options.engines = engines;
    options.seed = 5;
    options.cut_short_fraction = 0.0;
    for (auto& e : simulation::simulate_fleet(*params, options)) s.fleet.push_back({e.unit, std::move(e.cycles)});
    return s;
}

TEST(evaluate_faults, StuckAndDroppedProbesAreFoundInTimeAndIsolationHelpsTheRul) {
    const auto s = make_setup(20);
    ASSERT_EQ(s.fleet.size(), 20u);
    for (auto kind : {simulation::fault_kind::stuck, simulation::fault_kind::dropout}) {
        const std::string name(simulation::fault_kind_name(kind));
        auto spec = simulation::parse_fault_spec(name + ":start=0.4");
        ASSERT_TRUE(spec) << spec.message();
        auto ev = training::evaluate_faults(s.fleet, *spec, s.params, s.config, 3);
        ASSERT_TRUE(ev) << ev.message();
        EXPECT_EQ(ev->engines, 20u);
        const auto& k = ev->kinds[std::size_t(kind)];
        EXPECT_EQ(k.injected, 20u) << name;
        EXPECT_EQ(k.in_target, k.injected) << name;
        EXPECT_EQ(k.right_reason, k.detected) << name;
        EXPECT_LE(k.delay_max, 10.0) << name;
        EXPECT_LT(ev->false_alerts_per_1000, 1.0) << name;
        // A healthy probe may be blamed late in life, when wear itself turns novel: rarely.
        EXPECT_LE(ev->wrong_probe, ev->engines / 10) << name;
        EXPECT_GT(ev->rul.points, 0u) << name;
        EXPECT_LT(ev->rul.mean_abs_move_isolated, ev->rul.mean_abs_move_raw) << name;
        EXPECT_LT(ev->rul.rmse_isolated, 1.1 * ev->rul.rmse_clean) << name;
    }
}

// Nc and NRc share the fleet's second degradation direction almost alone: each explains the
// other's drift equally well, and the rule once blamed most drifts of one on the other, leaving
// the drifting probe in the prediction. The drift must be found on the probe that drifts.
TEST(evaluate_faults, DriftsOfTwinProbesAreBlamedOnTheProbeThatDrifts) {
    const auto s = make_setup(40);
    ASSERT_EQ(s.fleet.size(), 40u);
    for (const char* probe : {"Nc", "NRc"}) {
        auto spec = simulation::parse_fault_spec(std::string("drift:start=0.2,sensor=") + probe);
        ASSERT_TRUE(spec) << spec.message();
        auto ev = training::evaluate_faults(s.fleet, *spec, s.params, s.config, 3);
        ASSERT_TRUE(ev) << ev.message();
        const auto& k = ev->kinds[std::size_t(simulation::fault_kind::drift)];
        EXPECT_GE(k.injected, 35u) << probe;
        EXPECT_GE(double(k.in_target), 0.95 * double(k.injected)) << probe;
        EXPECT_LE(ev->wrong_probe, 2u) << probe;
        EXPECT_EQ(ev->rul.unwarranted_alert_engines_isolated, 0u) << probe;
    }
}

TEST(evaluate_faults, NoFaultsMeansNothingDetectedAndTheSameRul) {
    const auto s = make_setup(5);
    auto spec = simulation::parse_fault_spec("spike:engines=0");
    ASSERT_TRUE(spec) << spec.message();
    auto ev = training::evaluate_faults(s.fleet, *spec, s.params, s.config, 3);
    ASSERT_TRUE(ev) << ev.message();
    EXPECT_TRUE(ev->faults.empty());
    EXPECT_EQ(ev->rul.points, 0u);
    EXPECT_EQ(ev->wrong_probe, 0u);
}

}  // namespace
