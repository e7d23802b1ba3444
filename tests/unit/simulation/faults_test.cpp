// Sensor fault injection: the spec grammar, each kind's effect on the readings, determinism, and
// a missing value's way through the C-MAPSS text file.
#include "turbotwin/simulation/faults.hpp"

#include <gtest/gtest.h>

#include "committed_simulator.hpp"
#include "temp_file.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "turbotwin/dataset/cmapss.hpp"

namespace {

using namespace turbotwin;
using namespace turbotwin::simulation;

using testing_support::committed_simulator_params_path;

const simulator_params& params() {
    static const simulator_params p = [] {
        auto loaded = load_simulator_params(committed_simulator_params_path);
        EXPECT_TRUE(loaded.ok()) << loaded.message();
        return loaded.ok() ? *loaded : simulator_params{};
    }();
    return p;
}

std::size_t sensor(std::string_view name) { return *sensor_index(name); }

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

fault_spec spec_of(std::string_view text) {
    auto spec = parse_fault_spec(text);
    EXPECT_TRUE(spec.ok()) << text << ": " << spec.message();
    return spec.ok() ? *spec : fault_spec{};
}

// All engines run to failure unless asked: their lengths are then the lives, 128 cycles and more.
std::vector<simulated_engine> fleet_of(int engines, std::uint64_t seed = 5, double cut_short = 0.0) {
    return simulate_fleet(params(), {engines, seed, cut_short});
}

std::vector<injected_fault> inject(std::vector<simulated_engine>& fleet, std::string_view text, std::uint64_t seed = 7,
                                   const sensor_catalogue* catalogue = nullptr) {
    auto truth = inject_faults(fleet, spec_of(text), params(), seed, catalogue);
    EXPECT_TRUE(truth.ok()) << text << ": " << truth.message();
    return truth.ok() ? *truth : std::vector<injected_fault>{};
}

std::string truth_csv(const std::vector<injected_fault>& faults) {
    std::ostringstream out;
    write_fault_truth(out, faults);
    return out.str();
}

std::string fleet_text(const std::vector<simulated_engine>& fleet) {
    std::ostringstream out;
    write_fleet_cmapss(out, fleet, params());
    return out.str();
}

// Asserts that engine `u` of `faulty` equals `clean` everywhere except sensor `s` at cycles
// first..last, where `check(cycle, clean_value, faulty_value)` decides.
template <class Check>
void expect_only_changed(const simulated_engine& clean, const simulated_engine& faulty, std::size_t s, std::int64_t first,
                         std::int64_t last, Check check) {
    ASSERT_EQ(clean.cycles.size(), faulty.cycles.size());
    for (std::size_t i = 0; i < clean.cycles.size(); ++i) {
        const auto& a = clean.cycles[i];
        const auto& b = faulty.cycles[i];
        ASSERT_EQ(a.settings, b.settings);
        for (std::size_t k = 0; k < sensor_count; ++k) {
            if (k == s && a.cycle >= first && a.cycle <= last) {
                check(a.cycle, a.sensors[k], b.sensors[k]);
            } else {
                ASSERT_TRUE(same_bits(a.sensors[k], b.sensors[k])) << sensor_names[k] << " at cycle " << a.cycle;
            }
        }
    }
}

struct temp_file : testing_support::temp_file {
    explicit temp_file(const std::string& contents) : testing_support::temp_file(contents, "turbotwin-faults-test") {}
};

// "@PATH", built up: GCC 12 warns falsely (-Wrestrict) on "@" + std::string.
std::string at_file(const std::string& path) {
    std::string spec = "@";
    spec += path;
    return spec;
}

// ---------------------------------------------------------------- parse_fault_spec

TEST(parse_fault_spec, kinds_alone_take_their_defaults) {
    const auto spec = spec_of("spike;stuck;dropout;drift");
    ASSERT_EQ(spec.faults.size(), 4u);
    const auto& spike = spec.faults[0];
    EXPECT_EQ(spike.kind, fault_kind::spike);
    EXPECT_FALSE(spike.sensor.has_value());  // random
    EXPECT_EQ(spike.engines_fraction, 1.0);
    EXPECT_EQ(spike.start, 0.5);
    EXPECT_EQ(spike.size_sigma, 8.0);
    EXPECT_EQ(spike.length_cycles, std::optional<std::int64_t>(1));
    EXPECT_EQ(spec.faults[1].kind, fault_kind::stuck);
    EXPECT_FALSE(spec.faults[1].length_cycles.has_value());  // to the end
    EXPECT_EQ(spec.faults[2].kind, fault_kind::dropout);
    EXPECT_EQ(spec.faults[3].kind, fault_kind::drift);
    EXPECT_EQ(spec.faults[3].size_sigma, 1.0);
    EXPECT_FALSE(spec.faults[3].length_cycles.has_value());
}

TEST(parse_fault_spec, reads_every_key_and_tolerates_spaces) {
    const auto spec = spec_of(" drift : sensor = T50 , engines=0.25, start=40,size=2.5,length=60 ; spike:sensor=random,start=0.2 ;");
    ASSERT_EQ(spec.faults.size(), 2u);
    const auto& d = spec.faults[0];
    EXPECT_EQ(d.kind, fault_kind::drift);
    EXPECT_EQ(d.sensor, std::optional<std::size_t>(sensor("T50")));
    EXPECT_EQ(d.engines_fraction, 0.25);
    EXPECT_EQ(d.start, 40.0);
    EXPECT_EQ(d.size_sigma, 2.5);
    EXPECT_EQ(d.length_cycles, std::optional<std::int64_t>(60));
    EXPECT_FALSE(spec.faults[1].sensor.has_value());
    EXPECT_EQ(spec.faults[1].start, 0.2);
}

TEST(parse_fault_spec, reads_a_file_with_lines_and_comments) {
    temp_file file("# faults for the demo\nstuck:sensor=P30   # a frozen probe\n\ndrift:engines=0.5;spike\n");
    const auto spec = spec_of(at_file(file.path()));
    ASSERT_EQ(spec.faults.size(), 3u);
    EXPECT_EQ(spec.faults[0].kind, fault_kind::stuck);
    EXPECT_EQ(spec.faults[0].sensor, std::optional<std::size_t>(sensor("P30")));
    EXPECT_EQ(spec.faults[1].kind, fault_kind::drift);
    EXPECT_EQ(spec.faults[2].kind, fault_kind::spike);
}

TEST(parse_fault_spec, a_bad_line_in_a_file_names_the_file_and_line) {
    temp_file file("spike\n\ndrift:size=big\n");
    auto spec = parse_fault_spec(at_file(file.path()));
    ASSERT_FALSE(spec.ok());
    EXPECT_EQ(spec.error(), errc::invalid_argument);
    EXPECT_NE(spec.detail().find(file.path() + ":3:"), std::string::npos) << spec.detail();
    EXPECT_NE(spec.detail().find("size"), std::string::npos) << spec.detail();
}

TEST(parse_fault_spec, missing_file_is_an_io_error) {
    EXPECT_EQ(parse_fault_spec("@/nonexistent/turbotwin/faults.txt").error(), errc::io_error);
    EXPECT_EQ(parse_fault_spec("@").error(), errc::invalid_argument);
}

TEST(parse_fault_spec, rejects_bad_input_naming_the_offending_part) {
    struct bad_case {
        const char* spec;
        const char* mentions;  // the message must name this
    };
    const bad_case cases[] = {
        {"", "no fault"},
        {" ; ;", "no fault"},
        {"# only a comment", "no fault"},
        {"spik", "unknown fault kind 'spik'"},
        {"Spike", "unknown fault kind 'Spike'"},
        {"spike;wobble:sensor=T50", "fault 2 'wobble:sensor=T50'"},
        {"spike:", "nothing after ':'"},
        {"spike:sensor=T50,", "stray ','"},
        {"spike:sensor", "expected key=value, got 'sensor'"},
        {"spike:colour=red", "unknown key 'colour'"},
        {"spike:sensor=T99", "unknown sensor 'T99'"},
        {"spike:sensor=t50", "unknown sensor 't50'"},
        {"spike:sensor=altitude", "unknown sensor 'altitude'"},
        {"spike:sensor=T50,sensor=T30", "key 'sensor' given twice"},
        {"drift:engines=1.5", "engines"},
        {"drift:engines=-0.1", "engines"},
        {"drift:engines=half", "'half'"},
        {"drift:engines=nan", "engines"},
        {"stuck:start=-1", "start"},
        {"stuck:start=12.5", "'12.5'"},
        {"stuck:start=2000000", "start"},
        {"stuck:start=", "start"},
        {"spike:size=0", "size"},
        {"spike:size=-3", "size"},
        {"spike:size=1e999", "size"},
        {"spike:size=8x", "'8x'"},
        {"dropout:length=0", "length"},
        {"dropout:length=2.5", "'2.5'"},
        {"dropout:length=-4", "length"},
        {"dropout:length=ten", "length"},
    };
    for (const auto& c : cases) {
        auto spec = parse_fault_spec(c.spec);
        ASSERT_FALSE(spec.ok()) << "'" << c.spec << "' was accepted";
        EXPECT_EQ(spec.error(), errc::invalid_argument) << c.spec;
        EXPECT_NE(spec.detail().find(c.mentions), std::string::npos) << "'" << c.spec << "': " << spec.detail();
    }
}

TEST(parse_fault_spec, size_is_checked_but_ignored_for_stuck_and_dropout) {
    const auto spec = spec_of("stuck:size=3;dropout:size=3");
    EXPECT_EQ(spec.faults[0].size_sigma, 0.0);
    EXPECT_EQ(spec.faults[1].size_sigma, 0.0);
}

// ---------------------------------------------------------------- each kind's effect

TEST(inject_faults, spike_changes_one_cycle_by_its_size_in_noise_sd) {
    // GIVEN a clean fleet and a copy
    const auto clean = fleet_of(6);
    auto faulty = clean;
    // WHEN every engine gets a 10-sigma spike on T50 at 60% of its record
    const auto truth = inject(faulty, "spike:sensor=T50,start=0.6,size=10");
    // THEN each engine differs at that one cycle only, by +-10 sd (to the printed decimals)
    ASSERT_EQ(truth.size(), clean.size());
    const double sd = params().sensors[sensor("T50")].noise_sd;
    for (std::size_t u = 0; u < clean.size(); ++u) {
        const auto& f = truth[u];
        EXPECT_EQ(f.unit, clean[u].unit);
        EXPECT_EQ(f.kind, fault_kind::spike);
        EXPECT_EQ(f.sensor, sensor("T50"));
        EXPECT_EQ(f.start_cycle, static_cast<std::int64_t>(std::floor(0.6 * static_cast<double>(clean[u].cycles.size()))) + 1);
        EXPECT_EQ(f.end_cycle, f.start_cycle);
        EXPECT_EQ(f.size_sigma, 10.0);
        EXPECT_TRUE(f.sign == 1 || f.sign == -1);
        EXPECT_EQ(f.noise_sd, sd);
        EXPECT_FALSE(f.detectable_cycle.has_value());
        expect_only_changed(clean[u], faulty[u], f.sensor, f.start_cycle, f.end_cycle, [&](std::int64_t, double before, double after) {
            EXPECT_NEAR(after - before, f.sign * 10.0 * sd, 0.005 + 1e-9);
        });
    }
}

TEST(inject_faults, spike_with_a_length_lasts_that_many_cycles) {
    const auto clean = fleet_of(2);
    auto faulty = clean;
    const auto truth = inject(faulty, "spike:sensor=Ps30,start=50,length=3");
    ASSERT_EQ(truth.size(), 2u);
    for (std::size_t u = 0; u < clean.size(); ++u) {
        EXPECT_EQ(truth[u].start_cycle, 50);
        EXPECT_EQ(truth[u].end_cycle, 52);
        expect_only_changed(clean[u], faulty[u], sensor("Ps30"), 50, 52, [&](std::int64_t, double before, double after) {
            EXPECT_NEAR(std::abs(after - before), 8.0 * params().sensors[sensor("Ps30")].noise_sd, 0.005 + 1e-9);
        });
    }
}

TEST(inject_faults, stuck_repeats_the_last_reading_bit_for_bit) {
    const auto clean = fleet_of(4);
    auto faulty = clean;
    const auto truth = inject(faulty, "stuck:sensor=T30,start=40,length=25");
    ASSERT_EQ(truth.size(), clean.size());
    for (std::size_t u = 0; u < clean.size(); ++u) {
        const auto& f = truth[u];
        EXPECT_EQ(f.start_cycle, 40);
        EXPECT_EQ(f.end_cycle, 64);
        EXPECT_EQ(f.sign, 0);
        EXPECT_EQ(f.size_sigma, 0.0);
        const double frozen = clean[u].cycles[38].sensors[sensor("T30")];  // cycle 39
        expect_only_changed(clean[u], faulty[u], f.sensor, 40, 64, [&](std::int64_t cycle, double, double after) {
            EXPECT_TRUE(same_bits(after, frozen)) << "cycle " << cycle;
        });
    }
}

TEST(inject_faults, stuck_from_the_first_cycle_starts_at_the_second) {
    const auto clean = fleet_of(1);
    auto faulty = clean;
    const auto truth = inject(faulty, "stuck:sensor=T24,start=0");
    ASSERT_EQ(truth.size(), 1u);
    EXPECT_EQ(truth[0].start_cycle, 2);
    EXPECT_EQ(truth[0].end_cycle, last_cycle(clean[0]));
    for (const auto& r : faulty[0].cycles) EXPECT_TRUE(same_bits(r.sensors[sensor("T24")], clean[0].cycles[0].sensors[sensor("T24")]));
}

TEST(inject_faults, dropout_makes_the_sensor_missing_to_the_end) {
    const auto clean = fleet_of(3);
    auto faulty = clean;
    const auto truth = inject(faulty, "dropout:sensor=phi,start=0.5");
    ASSERT_EQ(truth.size(), clean.size());
    for (std::size_t u = 0; u < clean.size(); ++u) {
        EXPECT_EQ(truth[u].end_cycle, last_cycle(clean[u]));
        expect_only_changed(clean[u], faulty[u], sensor("phi"), truth[u].start_cycle, truth[u].end_cycle,
                            [](std::int64_t cycle, double, double after) { EXPECT_TRUE(std::isnan(after)) << cycle; });
    }
}

TEST(inject_faults, drift_grows_linearly_and_reaches_three_sd_at_detectable_cycle) {
    const auto clean = fleet_of(5);
    auto faulty = clean;
    const auto truth = inject(faulty, "drift:sensor=T50,start=30");
    ASSERT_EQ(truth.size(), clean.size());
    const auto& channel = params().sensors[sensor("T50")];
    const double half_digit = 0.5 * std::pow(10.0, -channel.decimals) + 1e-9;
    for (std::size_t u = 0; u < clean.size(); ++u) {
        const auto& f = truth[u];
        EXPECT_EQ(f.start_cycle, 30);
        EXPECT_EQ(f.end_cycle, last_cycle(clean[u]));
        EXPECT_EQ(f.size_sigma, 1.0);
        // 1 sd per 10 cycles: 0.1 sd at cycle 30, 3 sd at cycle 59, the 30th faulty cycle.
        ASSERT_EQ(f.detectable_cycle, std::optional<std::int64_t>(59));
        expect_only_changed(clean[u], faulty[u], f.sensor, f.start_cycle, f.end_cycle, [&](std::int64_t cycle, double before, double after) {
            const double bias_sd = static_cast<double>(cycle - 30 + 1) / 10.0;
            EXPECT_NEAR(after - before, f.sign * bias_sd * channel.noise_sd, half_digit) << "cycle " << cycle;
            const double measured = std::abs(after - before) / channel.noise_sd;
            if (cycle < 59) {
                EXPECT_LT(drift_bias_sigma(1.0, cycle - 30), 3.0);
            } else if (cycle == 59) {
                EXPECT_NEAR(measured, 3.0, half_digit / channel.noise_sd);
            }
        });
    }
}

TEST(inject_faults, detectable_cycle_follows_the_size_and_is_empty_when_the_drift_ends_first) {
    auto fleet = fleet_of(1);
    auto truth = inject(fleet, "drift:sensor=W31,start=10,size=0.3;drift:sensor=T24,start=10,size=4;drift:sensor=P30,start=10,length=20");
    ASSERT_EQ(truth.size(), 3u);
    for (const auto& f : truth) {
        if (f.sensor == sensor("W31")) {
            EXPECT_EQ(f.detectable_cycle, std::optional<std::int64_t>(10 + 99));  // 0.03 sd a cycle: 100 cycles
        } else if (f.sensor == sensor("T24")) {
            EXPECT_EQ(f.detectable_cycle, std::optional<std::int64_t>(10 + 7));  // 0.4 sd a cycle: 8 cycles
        } else {
            EXPECT_EQ(f.end_cycle, 29);
            EXPECT_FALSE(f.detectable_cycle.has_value());  // 2 sd when it stops
        }
    }
}

TEST(inject_faults, absolute_start_beyond_the_record_skips_the_engine) {
    auto fleet = fleet_of(10, 5, 1.0);  // all cut short: 31 cycles and more, some short of 200
    std::size_t long_enough = 0;
    for (const auto& e : fleet) long_enough += last_cycle(e) >= 200 ? 1 : 0;
    ASSERT_LT(long_enough, fleet.size());
    const auto truth = inject(fleet, "dropout:sensor=T24,start=200");
    EXPECT_EQ(truth.size(), long_enough);
    for (const auto& f : truth) EXPECT_EQ(f.start_cycle, 200);
}

TEST(inject_faults, missing_values_stay_missing) {
    const auto clean = fleet_of(2);
    auto faulty = clean;
    const auto truth = inject(faulty, "dropout:sensor=T50,start=50,length=10;spike:sensor=T50,start=55;drift:sensor=T50,start=40;"
                                      "stuck:sensor=T50,start=70");
    ASSERT_EQ(truth.size(), 8u);
    for (std::size_t u = 0; u < clean.size(); ++u) {
        for (const auto& r : faulty[u].cycles) {
            const double v = r.sensors[sensor("T50")];
            EXPECT_EQ(std::isnan(v), r.cycle >= 50 && r.cycle <= 59) << r.cycle;
        }
        // The stuck probe repeats its last value, drift included (cycle 69).
        EXPECT_TRUE(same_bits(faulty[u].cycles.back().sensors[sensor("T50")], faulty[u].cycles[68].sensors[sensor("T50")]));
    }
}

TEST(inject_faults, several_faults_on_one_engine_are_listed_by_unit_then_start) {
    auto fleet = fleet_of(3);
    const auto truth = inject(fleet, "spike:start=80;stuck:start=20;drift:start=50");
    ASSERT_EQ(truth.size(), 9u);
    for (std::size_t i = 0; i < truth.size(); ++i) {
        EXPECT_EQ(truth[i].unit, static_cast<long>(i / 3 + 1));
        if (i % 3 != 0) {
            EXPECT_LT(truth[i - 1].start_cycle, truth[i].start_cycle);
        }
    }
}

TEST(inject_faults, random_sensor_is_a_wearing_one) {
    auto fleet = fleet_of(40);
    const auto truth = inject(fleet, "dropout");
    ASSERT_EQ(truth.size(), 40u);
    std::set<std::size_t> seen;
    for (const auto& f : truth) {
        EXPECT_FALSE(params().sensors[f.sensor].constant) << sensor_names[f.sensor];
        seen.insert(f.sensor);
    }
    EXPECT_GE(seen.size(), 8u);  // 14 wearing sensors, 40 draws
}

TEST(inject_faults, engines_fraction_picks_that_many_engines) {
    for (auto [engines, fraction, expected] : {std::tuple{20, 0.5, 10}, {20, 0.0, 0}, {20, 1.0, 20}, {7, 0.3, 2}, {10, 0.25, 3}}) {
        auto fleet = fleet_of(engines);
        const auto truth = inject(fleet, "stuck:sensor=T24,engines=" + std::to_string(fraction));
        EXPECT_EQ(truth.size(), static_cast<std::size_t>(expected)) << engines << " x " << fraction;
        std::set<long> units;
        for (const auto& f : truth) units.insert(f.unit);
        EXPECT_EQ(units.size(), truth.size());
    }
}

// ---------------------------------------------------------------- determinism

TEST(inject_faults, same_seed_same_faults_different_seed_different_faults) {
    const std::string spec = "stuck;drift:engines=0.5;spike:sensor=T50;dropout:engines=0.3,start=0.7,length=5";
    auto a = fleet_of(20);
    auto b = fleet_of(20);
    auto c = fleet_of(20);
    const auto truth_a = inject(a, spec, 3);
    const auto truth_b = inject(b, spec, 3);
    const auto truth_c = inject(c, spec, 4);
    EXPECT_EQ(truth_csv(truth_a), truth_csv(truth_b));
    EXPECT_EQ(fleet_text(a), fleet_text(b));
    EXPECT_NE(truth_csv(truth_a), truth_csv(truth_c));
    EXPECT_NE(fleet_text(a), fleet_text(c));
}

TEST(inject_faults, an_engines_faults_do_not_depend_on_fleet_size) {
    // Unit 2's sensor and sign come from its own stream; with engines=1 every engine is picked.
    auto small = fleet_of(3);
    auto large = fleet_of(30);
    const auto a = inject(small, "drift;spike", 9);
    const auto b = inject(large, "drift;spike", 9);
    auto of_unit = [](const std::vector<injected_fault>& t, long unit) {
        std::vector<injected_fault> out;
        for (const auto& f : t)
            if (f.unit == unit) out.push_back(f);
        return truth_csv(out);
    };
    for (long unit : {1L, 2L, 3L}) EXPECT_EQ(of_unit(a, unit), of_unit(b, unit)) << unit;
}

TEST(inject_faults, signs_and_sensors_vary_between_engines) {
    auto fleet = fleet_of(30);
    const auto truth = inject(fleet, "drift");
    int up = 0;
    for (const auto& f : truth) up += f.sign > 0 ? 1 : 0;
    EXPECT_GT(up, 5);
    EXPECT_LT(up, 25);
}

// ---------------------------------------------------------------- limits and refusals

TEST(inject_faults, holds_spikes_and_drifts_within_the_plausible_range_and_counts_it) {
    sensor_catalogue catalogue;
    auto& t50 = catalogue.sensors[sensor("T50")];
    t50.min = 1300.0;
    t50.max = 1500.0;
    const auto clean = fleet_of(4);
    auto faulty = clean;
    // 100 sd is about 400 K: far outside either edge.
    const auto truth = inject(faulty, "spike:sensor=T50,start=20,size=100,length=10", 7, &catalogue);
    ASSERT_EQ(truth.size(), 4u);
    for (std::size_t u = 0; u < clean.size(); ++u) {
        EXPECT_EQ(truth[u].clipped_cycles, 10);
        expect_only_changed(clean[u], faulty[u], sensor("T50"), 20, 29, [&](std::int64_t, double, double after) {
            EXPECT_EQ(after, truth[u].sign > 0 ? 1500.0 : 1300.0);
        });
    }
    // Within the range nothing is counted.
    auto again = clean;
    for (const auto& f : inject(again, "spike:sensor=T50,start=20", 7, &catalogue)) EXPECT_EQ(f.clipped_cycles, 0);
}

TEST(inject_faults, refuses_offsets_on_a_constant_sensor_and_changes_nothing) {
    const auto clean = fleet_of(2);
    for (const char* text : {"spike:sensor=T2", "drift;stuck:sensor=P2", "drift:sensor=epr"}) {
        auto faulty = clean;
        auto truth = inject_faults(faulty, spec_of(text), params(), 1);
        ASSERT_FALSE(truth.ok()) << text;
        EXPECT_EQ(truth.error(), errc::invalid_argument);
        EXPECT_NE(truth.detail().find("constant"), std::string::npos) << truth.detail();
        EXPECT_EQ(fleet_text(faulty), fleet_text(clean)) << text;
    }
    // A spec built in code is held to the parser's ranges.
    for (auto broken : {fault_entry{fault_kind::spike, std::nullopt, 2.0, 0.5, 8.0, 1},
                        fault_entry{fault_kind::drift, std::nullopt, 1.0, 10.5, 1.0, std::nullopt},
                        fault_entry{fault_kind::drift, std::nullopt, 1.0, 0.5, 0.0, std::nullopt},
                        fault_entry{fault_kind::stuck, sensor_count, 1.0, 0.5, 0.0, std::nullopt},
                        fault_entry{fault_kind::dropout, std::nullopt, 1.0, 0.5, 0.0, 0}}) {
        auto faulty = clean;
        auto truth = inject_faults(faulty, fault_spec{{broken}}, params(), 1);
        EXPECT_EQ(truth.error(), errc::invalid_argument);
        EXPECT_EQ(fleet_text(faulty), fleet_text(clean));
    }
    // A dropout of a constant sensor is a real fault: it is allowed.
    auto faulty = clean;
    EXPECT_EQ(inject(faulty, "dropout:sensor=T2").size(), 2u);
}

// ---------------------------------------------------------------- truth file

TEST(write_fault_truth, header_then_one_line_per_fault) {
    auto fleet = fleet_of(2);
    const auto truth = inject(fleet, "drift:sensor=T50,start=30;dropout:sensor=phi,start=100,length=5");
    const std::string csv = truth_csv(truth);
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "unit,kind,sensor,start_cycle,end_cycle,size_sigma,sign,noise_sd,detectable_cycle,clipped_cycles");
    std::getline(in, line);
    const std::string sign = truth[0].sign > 0 ? "1" : "-1";
    EXPECT_EQ(line, "1,drift,T50,30," + std::to_string(last_cycle(fleet[0])) + ",1," + sign + ",4.02,59,0");
    std::getline(in, line);
    EXPECT_EQ(line, "1,dropout,phi,100,104,0,0,0.3003,,0");
    int rows = 2;
    while (std::getline(in, line)) ++rows;
    EXPECT_EQ(rows, 4);
}

// ---------------------------------------------------------------- missing values in the file

TEST(write_fleet_cmapss, a_dropout_is_written_as_nan_and_read_back_as_missing) {
    // GIVEN a fleet with a dropout on T24 from cycle 40
    auto fleet = fleet_of(2);
    inject(fleet, "dropout:sensor=T24,start=40,length=3");
    // WHEN written as C-MAPSS text and read back
    temp_file file(fleet_text(fleet));
    auto read = dataset::read_cmapss(file.path());
    // THEN every line is accepted, T24 is missing exactly there, and the rest is unchanged
    ASSERT_TRUE(read.ok()) << read.message();
    EXPECT_TRUE(read->issues.empty()) << read->issues.front().message;
    const auto engines = dataset::group_by_unit(read->rows);
    ASSERT_EQ(engines.size(), 2u);
    int missing_count = 0;
    for (std::size_t u = 0; u < engines.size(); ++u) {
        ASSERT_EQ(engines[u].cycles.size(), fleet[u].cycles.size());
        for (std::size_t i = 0; i < engines[u].cycles.size(); ++i) {
            const auto& back = engines[u].cycles[i];
            const bool dropped = back.cycle >= 40 && back.cycle <= 42;
            EXPECT_EQ(std::isnan(back.sensors[sensor("T24")]), dropped) << back.cycle;
            missing_count += std::isnan(back.sensors[sensor("T24")]) ? 1 : 0;
            EXPECT_EQ(back.sensors[sensor("T50")], fleet[u].cycles[i].sensors[sensor("T50")]);
        }
    }
    EXPECT_EQ(missing_count, 6);
    EXPECT_NE(file.path().find("turbotwin-faults-test"), std::string::npos);
    std::ifstream raw(file.path());
    std::string text((std::istreambuf_iterator<char>(raw)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(" nan "), std::string::npos);
}

}  // namespace
