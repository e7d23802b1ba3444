// The fleet generator and the params file, without NASA data: the committed
// models/simulator.json and hand-made params.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

#include "committed_simulator.hpp"

namespace {

using namespace turbotwin;
using namespace turbotwin::simulation;

using testing_support::committed_simulator_params_path;

simulator_params load_committed() {
    auto p = load_simulator_params(committed_simulator_params_path);
    EXPECT_TRUE(p.ok()) << p.message();
    return p.ok() ? *p : simulator_params{};
}

// Three wearing sensors with FD001-like figures, a noisy altitude, everything else constant.
simulator_params hand_made() {
    simulator_params p;
    p.life = {std::log(200.0), 0.2, 100, 400};
    p.wear = {4.0, 0.1};
    for (std::size_t i = 0; i < column_count; ++i) {
        auto& c = p.column(i);
        c.constant = true;
        c.decimals = 2;
        c.value = 10.0 + static_cast<double>(i);
    }
    auto wearing = [&](std::string_view name, int decimals, double initial, double initial_sd, double drift,
                       double drift_sd, double noise) {
        auto& c = p.sensors[*sensor_index(name)];
        c = {decimals, false, 0.0, initial, initial_sd, drift, drift_sd, noise};
    };
    wearing("T24", 2, 642.4, 0.2, 1.3, 0.2, 0.3);
    wearing("T50", 2, 1402.8, 4.5, 27.0, 4.3, 4.0);
    wearing("htBleed", 0, 392.3, 0.6, 4.2, 0.7, 0.9);
    p.settings[0] = {4, false, 0.0, 0.0, 0.0, 0.0, 0.0, 0.002};
    p.correlation.variables = {"log_life", "T24.initial", "T24.drift"};
    p.correlation.matrix = {{1.0, 0.0, 0.0}, {0.0, 1.0, -0.9}, {0.0, -0.9, 1.0}};
    return p;
}

std::string as_text(const std::vector<simulated_engine>& fleet, const simulator_params& p) {
    std::ostringstream out;
    write_fleet_cmapss(out, fleet, p);
    return out.str();
}

double column_value(const reading& r, std::size_t i) {
    return i < setting_count ? r.settings[i] : r.sensors[i - setting_count];
}

std::vector<dataset::engine_trajectory> as_trajectories(const std::vector<simulated_engine>& fleet) {
    std::vector<dataset::engine_trajectory> out;
    for (const auto& e : fleet) out.push_back({e.unit, e.cycles});
    return out;
}

TEST(wear_fraction, runs_from_zero_to_one_and_accelerates) {
    EXPECT_DOUBLE_EQ(wear_fraction(0, 200, 4), 0.0);
    EXPECT_NEAR(wear_fraction(200, 200, 4), 1.0, 1e-12);
    EXPECT_NEAR(wear_fraction(50, 200, 0), 0.25, 1e-12);  // linear limit
    EXPECT_NEAR(wear_fraction(50, 200, 1e-12), 0.25, 1e-9);
    // Exponential: the first half of life shows little of the wear.
    EXPECT_LT(wear_fraction(100, 200, 4), 0.15);
    for (int t = 1; t <= 200; ++t) EXPECT_GT(wear_fraction(t, 200, 4), wear_fraction(t - 1, 200, 4));
}

TEST(simulator_params, committed_file_loads_and_passes_validation) {
    auto p = load_simulator_params(committed_simulator_params_path);
    ASSERT_TRUE(p.ok()) << p.message();
    EXPECT_TRUE(validate_simulator_params(*p).ok());
    EXPECT_GT(p->fitted_engines, 0);
    // FD001's constant sensors stay constant.
    for (auto name : {"T2", "P2", "P15", "epr", "farB", "Nf_dmd", "PCNfR_dmd"})
        EXPECT_TRUE(p->sensors[*sensor_index(name)].constant) << name;
    EXPECT_TRUE(p->settings[2].constant);  // tra
    EXPECT_EQ(p->sensors[*sensor_index("htBleed")].decimals, 0);
}

TEST(simulator_params, json_round_trip_is_stable) {
    const auto p = load_committed();
    const std::string text = simulator_params_to_json(p);
    auto back = simulator_params_from_json(text);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(simulator_params_to_json(*back), text);

    auto hand = simulator_params_from_json(simulator_params_to_json(hand_made()));
    ASSERT_TRUE(hand.ok()) << hand.message();
    EXPECT_EQ(hand->correlation.variables, hand_made().correlation.variables);
    EXPECT_DOUBLE_EQ(hand->sensors[*sensor_index("T50")].drift_mean, 27.0);
}

TEST(simulator_params, save_then_load) {
    const auto path = (std::filesystem::temp_directory_path() / "turbotwin_test_simulator.json").string();
    ASSERT_TRUE(save_simulator_params(hand_made(), path).ok());
    auto back = load_simulator_params(path);
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(simulator_params_to_json(*back), simulator_params_to_json(hand_made()));
    std::filesystem::remove(path);
}

TEST(simulator_params, rejects_bad_documents) {
    EXPECT_EQ(load_simulator_params("/nonexistent/simulator.json").error(), errc::io_error);
    EXPECT_EQ(simulator_params_from_json("{not json").error(), errc::malformed_json);
    EXPECT_EQ(simulator_params_from_json("[1, 2]").error(), errc::not_an_object);
    EXPECT_EQ(simulator_params_from_json(R"({"format": "turbotwin-simulator-params/1"})").error(), errc::wrong_type);

    const std::string good = simulator_params_to_json(hand_made());
    auto with = [&](const std::string& from, const std::string& to) {
        std::string s = good;
        const auto at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) s.replace(at, from.size(), to);
        return simulator_params_from_json(s);
    };
    EXPECT_EQ(with("\"name\": \"T24\"", "\"name\": \"T99\"").error(), errc::invalid_argument);
    EXPECT_EQ(with("\"T24.drift\"", "\"T24.wobble\"").error(), errc::invalid_argument);
    EXPECT_EQ(with("-0.9]", "-0.8]").error(), errc::invalid_argument);  // no longer symmetric
    EXPECT_EQ(with("\"min_cycles\": 100", "\"min_cycles\": 5").error(), errc::invalid_argument);
    EXPECT_EQ(with("\"noise_sd\": 0.3", "\"noise_sd\": -0.3").error(), errc::invalid_argument);
    EXPECT_EQ(with("\"decimals\": 0", "\"decimals\": 9").error(), errc::invalid_argument);
    EXPECT_EQ(with("\"decimals\": 0", "\"decimals\": \"zero\"").error(), errc::wrong_type);
}

TEST(simulate_fleet, same_seed_same_rows_and_different_seed_different_rows) {
    const auto p = load_committed();
    const fleet_options options{12, 42, 0.5};
    const std::string a = as_text(simulate_fleet(p, options), p);
    EXPECT_EQ(a, as_text(simulate_fleet(p, options), p));
    EXPECT_NE(a, as_text(simulate_fleet(p, {12, 43, 0.5}), p));
}

TEST(simulate_fleet, cuts_short_the_requested_share) {
    const auto p = load_committed();
    for (auto [engines, fraction, expected_cut] : {std::tuple{20, 0.5, 10}, {20, 0.0, 0}, {20, 1.0, 20}, {7, 0.3, 2}, {1, 0.5, 1}}) {
        const auto fleet = simulate_fleet(p, {engines, 5, fraction});
        ASSERT_EQ(fleet.size(), static_cast<std::size_t>(engines));
        int cut = 0;
        for (const auto& e : fleet) cut += e.run_to_failure ? 0 : 1;
        EXPECT_EQ(cut, expected_cut) << engines << " engines, fraction " << fraction;
    }
    EXPECT_TRUE(simulate_fleet(p, {0, 1, 0.5}).empty());
    EXPECT_TRUE(simulate_fleet(p, {-3, 1, 0.5}).empty());
}

TEST(simulate_fleet, cycles_are_consecutive_and_ends_follow_the_test_set_rules) {
    const auto p = load_committed();
    const auto fleet = simulate_fleet(p, {60, 9, 0.5});
    for (std::size_t u = 0; u < fleet.size(); ++u) {
        const auto& e = fleet[u];
        EXPECT_EQ(e.unit, static_cast<long>(u + 1));
        ASSERT_FALSE(e.cycles.empty());
        for (std::size_t i = 0; i < e.cycles.size(); ++i) ASSERT_EQ(e.cycles[i].cycle, static_cast<std::int64_t>(i + 1));
        EXPECT_GE(e.life_cycles, p.life.min_cycles);
        EXPECT_LE(e.life_cycles, p.life.max_cycles);
        if (e.run_to_failure) {
            EXPECT_EQ(last_cycle(e), e.life_cycles);
            EXPECT_EQ(true_rul_at_last_cycle(e), 0);
        } else {
            EXPECT_GE(last_cycle(e), 31);
            EXPECT_GE(true_rul_at_last_cycle(e), 1);
            EXPECT_LE(true_rul_at_last_cycle(e), 150);
        }
    }
}

TEST(simulate_fleet, values_are_finite_rounded_and_constants_hold) {
    const auto p = load_committed();
    for (const auto& e : simulate_fleet(p, {10, 3, 0.5}))
        for (const auto& r : e.cycles)
            for (std::size_t i = 0; i < column_count; ++i) {
                const double v = column_value(r, i);
                const auto& c = p.column(i);
                ASSERT_TRUE(std::isfinite(v)) << column_name(i);
                if (c.constant) {
                    ASSERT_EQ(v, c.value) << column_name(i);
                }
                const double scaled = v * std::pow(10.0, c.decimals);
                ASSERT_NEAR(scaled, std::round(scaled), 1e-6 * std::max(1.0, std::abs(scaled))) << column_name(i);
            }
}

TEST(simulate_fleet, a_unit_does_not_depend_on_fleet_size_or_on_being_cut) {
    const auto p = load_committed();
    const auto small = simulate_fleet(p, {3, 11, 0.0});
    const auto large = simulate_fleet(p, {30, 11, 0.0});
    const auto all_cut = simulate_fleet(p, {30, 11, 1.0});
    for (std::size_t u = 0; u < small.size(); ++u) {
        EXPECT_EQ(small[u].life_cycles, large[u].life_cycles);
        ASSERT_EQ(small[u].cycles.size(), large[u].cycles.size());
        for (std::size_t i = 0; i < small[u].cycles.size(); ++i)
            ASSERT_EQ(small[u].cycles[i].sensors, large[u].cycles[i].sensors);
    }
    for (std::size_t u = 0; u < large.size(); ++u) {
        ASSERT_LT(all_cut[u].cycles.size(), large[u].cycles.size());
        for (std::size_t i = 0; i < all_cut[u].cycles.size(); ++i)
            ASSERT_EQ(all_cut[u].cycles[i].sensors, large[u].cycles[i].sensors);
    }
}

TEST(simulate_fleet, sensors_wear_in_the_fitted_direction) {
    const auto p = load_committed();
    const auto fleet = simulate_fleet(p, {40, 2, 0.0});
    for (std::size_t s = 0; s < sensor_count; ++s) {
        const auto& c = p.sensors[s];
        if (c.constant || std::abs(c.drift_mean) < 2 * c.drift_sd) continue;  // Nc, NRc: sign varies
        int agree = 0;
        for (const auto& e : fleet) {
            double start = 0, end = 0;
            for (std::size_t i = 0; i < 10; ++i) {
                start += e.cycles[i].sensors[s];
                end += e.cycles[e.cycles.size() - 1 - i].sensors[s];
            }
            agree += (end - start) * c.drift_mean > 0 ? 1 : 0;
        }
        EXPECT_GE(agree, 36) << sensor_names[s];
    }
}

TEST(write_fleet_cmapss, prints_the_column_decimals_and_reads_back) {
    const auto p = load_committed();
    const auto fleet = simulate_fleet(p, {4, 8, 0.5});
    std::istringstream text(as_text(fleet, p));
    std::string line;
    std::size_t rows = 0;
    long previous_unit = 0;
    while (std::getline(text, line)) {
        auto row = dataset::parse_cmapss_line(line);
        ASSERT_TRUE(row.ok()) << row.message() << ": " << line;
        EXPECT_GE(row->unit, previous_unit);  // unit-major
        previous_unit = row->unit;
        std::istringstream fields(line);
        std::string f;
        fields >> f >> f;  // unit, cycle
        for (std::size_t i = 0; i < column_count; ++i) {
            fields >> f;
            const auto dot = f.find('.');
            const int printed = dot == std::string::npos ? 0 : static_cast<int>(f.size() - dot - 1);
            ASSERT_EQ(printed, p.column(i).decimals) << column_name(i) << " in " << line;
        }
        ++rows;
    }
    std::size_t expected = 0;
    for (const auto& e : fleet) expected += e.cycles.size();
    EXPECT_EQ(rows, expected);
}

TEST(write_fleet_truth, one_line_per_engine_after_a_header) {
    const auto fleet = simulate_fleet(load_committed(), {3, 1, 0.5});
    std::ostringstream out;
    write_fleet_truth(out, fleet);
    std::istringstream in(out.str());
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "unit,last_cycle,true_rul_at_last_cycle,life");
    for (const auto& e : fleet) {
        std::getline(in, line);
        EXPECT_EQ(line, std::to_string(e.unit) + "," + std::to_string(last_cycle(e)) + "," +
                            std::to_string(true_rul_at_last_cycle(e)) + "," + std::to_string(e.life_cycles));
    }
    EXPECT_FALSE(std::getline(in, line));
}

TEST(fit_simulator, recovers_hand_made_params) {
    // GIVEN a fleet drawn from known params
    const auto truth = hand_made();
    const auto fleet = simulate_fleet(truth, {300, 17, 0.0});
    // WHEN the simulator is fitted to it
    auto fit = fit_simulator(as_trajectories(fleet));
    ASSERT_TRUE(fit.ok()) << fit.message();
    // THEN the figures come back within what 300 engines can tell
    EXPECT_NEAR(fit->life.log_mean, truth.life.log_mean, 0.04);
    EXPECT_NEAR(fit->life.log_sd, truth.life.log_sd, 0.03);
    EXPECT_NEAR(fit->wear.k, truth.wear.k, 0.3);
    for (auto name : {"T24", "T50", "htBleed"}) {
        const auto& want = truth.sensors[*sensor_index(name)];
        const auto& got = fit->sensors[*sensor_index(name)];
        ASSERT_FALSE(got.constant) << name;
        EXPECT_EQ(got.decimals, want.decimals) << name;
        EXPECT_NEAR(got.initial_mean, want.initial_mean, 0.1 * want.drift_mean) << name;
        EXPECT_NEAR(got.drift_mean, want.drift_mean, 0.05 * want.drift_mean) << name;
        EXPECT_NEAR(got.initial_sd, want.initial_sd, 0.2 * want.initial_sd) << name;
        EXPECT_NEAR(got.drift_sd, want.drift_sd, 0.2 * want.drift_sd) << name;
        EXPECT_NEAR(got.noise_sd, want.noise_sd, 0.05 * want.noise_sd) << name;
    }
    const auto& vars = fit->correlation.variables;
    const auto at = [&](const std::string& v) { return std::find(vars.begin(), vars.end(), v) - vars.begin(); };
    ASSERT_LT(at("T24.drift"), static_cast<long>(vars.size()));
    EXPECT_NEAR(fit->correlation.matrix[at("T24.initial")][at("T24.drift")], -0.9, 0.1);
    EXPECT_NEAR(fit->correlation.matrix[at("T50.initial")][at("T50.drift")], 0.0, 0.2);
    // Constant columns are found constant, at their value.
    const auto& p2 = fit->sensors[*sensor_index("P2")];
    EXPECT_TRUE(p2.constant);
    EXPECT_EQ(p2.value, truth.sensors[*sensor_index("P2")].value);
    EXPECT_FALSE(fit->settings[0].constant);
    EXPECT_NEAR(fit->settings[0].noise_sd, 0.002, 0.0002);
    EXPECT_TRUE(validate_simulator_params(*fit).ok());
}

TEST(fit_simulator, is_deterministic) {
    const auto fleet = as_trajectories(simulate_fleet(hand_made(), {40, 4, 0.0}));
    auto a = fit_simulator(fleet), b = fit_simulator(fleet);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(simulator_params_to_json(*a), simulator_params_to_json(*b));
}

TEST(fit_simulator, rejects_unusable_input) {
    auto fleet = as_trajectories(simulate_fleet(hand_made(), {5, 4, 0.0}));
    EXPECT_EQ(fit_simulator({fleet[0], fleet[1]}).error(), errc::invalid_argument);  // too few engines
    auto backwards = fleet;
    std::swap(backwards[2].cycles[3], backwards[2].cycles[4]);
    EXPECT_EQ(fit_simulator(backwards).error(), errc::invalid_argument);
    auto short_engine = fleet;
    short_engine[1].cycles.resize(5);
    EXPECT_EQ(fit_simulator(short_engine).error(), errc::invalid_argument);
    auto no_readings = fleet;
    for (auto& e : no_readings)
        for (auto& r : e.cycles) r.sensors[0] = missing;
    EXPECT_EQ(fit_simulator(no_readings).error(), errc::invalid_argument);
}

TEST(fit_simulator, skips_missing_readings) {
    auto fleet = as_trajectories(simulate_fleet(hand_made(), {30, 6, 0.0}));
    for (auto& e : fleet)
        for (std::size_t i = 0; i < e.cycles.size(); i += 7) e.cycles[i].sensors[*sensor_index("T50")] = missing;
    auto fit = fit_simulator(fleet);
    ASSERT_TRUE(fit.ok()) << fit.message();
    EXPECT_NEAR(fit->sensors[*sensor_index("T50")].drift_mean, 27.0, 3.0);
}

TEST(cmapss_printed_decimals, counts_digits_as_printed) {
    const auto path = (std::filesystem::temp_directory_path() / "turbotwin_test_decimals.txt").string();
    {
        std::ofstream out(path);
        out << "1 1 -0.0007 -0.0004 100.0 518.67 641.82 1589.70 1400.60 14.62 21.61 554.36 2388.06 9046.19 1.30 "
               "47.47 521.66 2388.02 8138.62 8.4195 0.03 392 2388 100.00 39.06 23.4190\n"
               "not a row\n";
    }
    auto d = cmapss_printed_decimals(path);
    ASSERT_TRUE(d.ok()) << d.message();
    EXPECT_EQ((*d)[0], 4);   // altitude
    EXPECT_EQ((*d)[2], 1);   // tra 100.0
    EXPECT_EQ((*d)[3 + 9], 2);   // epr 1.30
    EXPECT_EQ((*d)[3 + 16], 0);  // htBleed
    EXPECT_EQ((*d)[3 + 20], 4);  // W32
    std::filesystem::remove(path);
    EXPECT_EQ(cmapss_printed_decimals("/nonexistent/file.txt").error(), errc::io_error);

    auto p = hand_made();
    raise_decimals(p, *d);
    EXPECT_EQ(p.settings[2].decimals, 2);  // never lowered
    EXPECT_EQ(p.settings[0].decimals, 4);
}

}  // namespace
