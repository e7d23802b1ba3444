// `simulate --wear-rate F`: the same engines, wearing F times as fast (shorter lives, the same
// sensor path per unit of damage); F = 1 is the fitted fleet.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>

#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace {

using namespace turbotwin;
using namespace turbotwin::simulation;

simulator_params committed() {
    auto p = load_simulator_params(std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json");
    EXPECT_TRUE(p.ok()) << p.message();
    return p.ok() ? *p : simulator_params{};
}

std::vector<simulated_engine> run(double rate, int engines = 40, double cut = 0.0) {
    fleet_options o;
    o.engines = engines;
    o.seed = 9;
    o.cut_short_fraction = cut;
    o.wear_rate = rate;
    return simulate_fleet(committed(), o);
}

std::string wear_fleet_text(const std::vector<simulated_engine>& fleet) {
    std::ostringstream out;
    write_fleet_cmapss(out, fleet, committed());
    return out.str();
}

TEST(wear_rate, one_is_the_default_fleet_byte_for_byte) {
    fleet_options defaults;
    defaults.engines = 12;
    defaults.seed = 9;
    fleet_options explicit_one = defaults;
    explicit_one.wear_rate = 1.0;
    EXPECT_EQ(wear_fleet_text(simulate_fleet(committed(), defaults)), wear_fleet_text(simulate_fleet(committed(), explicit_one)));
}

TEST(wear_rate, lives_shrink_by_the_rate_and_damage_reads_the_same) {
    const auto usual = run(1.0), fast = run(1.3);
    ASSERT_EQ(usual.size(), fast.size());
    const auto t50 = *sensor_index("T50");
    double usual_end = 0, fast_end = 0, usual_start = 0, fast_start = 0;
    for (std::size_t u = 0; u < usual.size(); ++u) {
        // the same engine (same draws), its life divided by the rate
        EXPECT_EQ(fast[u].life_cycles, std::llround(usual[u].life_cycles / 1.3));
        EXPECT_EQ(std::int64_t(fast[u].cycles.size()), fast[u].life_cycles);
        // the engine's own initial level and drift: at failure and at the start it reads alike
        usual_end += usual[u].cycles.back().sensors[t50];
        fast_end += fast[u].cycles.back().sensors[t50];
        usual_start += usual[u].cycles.front().sensors[t50];
        fast_start += fast[u].cycles.front().sensors[t50];
    }
    const double n = double(usual.size());
    // T50 drifts about 27 K over a life and reads with 4 K of noise: means of 40 engines agree
    // within about 1 K when the path per unit of damage is the same.
    EXPECT_NEAR(fast_end / n, usual_end / n, 2.0);
    EXPECT_NEAR(fast_start / n, usual_start / n, 2.0);
}

TEST(wear_rate, cut_short_engines_still_follow_the_test_set_rules) {
    for (const auto& e : run(3.0, 60, 0.5)) {
        EXPECT_GE(e.life_cycles, min_life_cycles);
        EXPECT_GE(std::int64_t(e.cycles.size()), 31);
        const auto rul = true_rul_at_last_cycle(e);
        EXPECT_TRUE(e.run_to_failure ? rul == 0 : (rul >= 1 && rul <= 150)) << "unit " << e.unit << " rul " << rul;
    }
}

TEST(wear_rate, is_clamped_and_a_non_finite_rate_is_the_fitted_fleet) {
    EXPECT_EQ(wear_fleet_text(run(std::nan(""), 5)), wear_fleet_text(run(1.0, 5)));
    EXPECT_EQ(wear_fleet_text(run(1e9, 5)), wear_fleet_text(run(10.0, 5)));
    for (const auto& e : run(10.0, 20)) EXPECT_GE(e.life_cycles, min_life_cycles);
}

}  // namespace
