// Does the simulator look like FD001? Fit on NASA's train_FD001.txt, simulate 100 run-to-failure
// engines, and compare the figures a maintenance engineer would look at, each measured the same
// way on both fleets by code that shares nothing with the fit. Skips when the data is absent
// (fresh machines have none; the file is never copied into the repo).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace {

using namespace turbotwin;
using namespace turbotwin::simulation;

const std::string fd001_path = std::string(TURBOTWIN_SOURCE_DIR) + "/../shared/data/cmapss/train_FD001.txt";

// The sensors that carry FD001's degradation.
constexpr std::array<std::string_view, 14> informative = {"T24", "T30", "T50", "P30", "Nf",  "Nc",  "Ps30",
                                                          "phi", "NRf", "NRc", "BPR", "htBleed", "W31", "W32"};

struct sensor_figures {
    double start = 0;     ///< fleet mean of each engine's first 20 cycles
    double start_sd = 0;  ///< engine-to-engine spread of that
    double end = 0;       ///< fleet mean of each engine's last 10 cycles (failure)
    double end_sd = 0;
    double noise = 0;  ///< pooled spread around a centred 11-cycle moving average
};

struct fleet_figures {
    double life_mean = 0;
    std::map<std::string_view, sensor_figures> sensors;
};

double mean_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
}
double sd_of(const std::vector<double>& v) {
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size()));
}

fleet_figures measure(const std::vector<dataset::engine_trajectory>& fleet) {
    fleet_figures f;
    std::vector<double> lives;
    for (const auto& e : fleet) lives.push_back(static_cast<double>(e.cycles.size()));
    f.life_mean = mean_of(lives);
    for (auto name : informative) {
        const std::size_t s = *sensor_index(name);
        std::vector<double> starts, ends;
        double sum_sq = 0;
        std::size_t n = 0;
        for (const auto& e : fleet) {
            std::vector<double> x;
            for (const auto& r : e.cycles) x.push_back(r.sensors[s]);
            starts.push_back(mean_of({x.begin(), x.begin() + 20}));
            ends.push_back(mean_of({x.end() - 10, x.end()}));
            for (std::size_t i = 5; i + 5 < x.size(); ++i) {
                const double local = mean_of({x.begin() + static_cast<long>(i) - 5, x.begin() + static_cast<long>(i) + 6});
                sum_sq += (x[i] - local) * (x[i] - local);
                ++n;
            }
        }
        f.sensors[name] = {mean_of(starts), sd_of(starts), mean_of(ends), sd_of(ends),
                           std::sqrt(sum_sq / static_cast<double>(n) * 11.0 / 10.0)};
    }
    return f;
}

// FD001 and its fit, made once for all the tests below (the fit takes about a second).
struct fd001_fit {
    std::vector<dataset::engine_trajectory> data;
    simulator_params params;
    std::string error;  ///< why it could not be made, empty when it could
};

const fd001_fit& shared_fit() {
    static const fd001_fit fit = [] {
        fd001_fit f;
        auto file = dataset::read_cmapss(fd001_path);
        if (!file) return f.error = file.message(), f;
        if (!file->issues.empty()) return f.error = file->issues.front().message, f;
        f.data = dataset::group_by_unit(file->rows);
        auto params = fit_simulator(f.data);
        if (!params) return f.error = params.message(), f;
        auto printed = cmapss_printed_decimals(fd001_path);
        if (!printed) return f.error = printed.message(), f;
        raise_decimals(*params, *printed);
        params->fitted_on = "train_FD001.txt";  // as `turbotwin fit-sim` records it
        f.params = *params;
        return f;
    }();
    return fit;
}

class fd001 : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(fd001_path))
            GTEST_SKIP() << "NASA C-MAPSS data not found at " << fd001_path
                         << "; the FD001 fit check needs it (the other simulator tests do not)";
        const auto& fit = shared_fit();
        ASSERT_TRUE(fit.error.empty()) << fit.error;
        ASSERT_EQ(fit.data.size(), 100u);
        data_ = &fit.data;
        params_ = &fit.params;
    }
    const std::vector<dataset::engine_trajectory>* data_ = nullptr;
    const simulator_params* params_ = nullptr;
};

TEST_F(fd001, simulated_fleet_matches_fd001_figures) {
    const auto sim = simulate_fleet(*params_, {100, 1, 0.0});
    std::vector<dataset::engine_trajectory> sim_data;
    for (const auto& e : sim) sim_data.push_back({e.unit, e.cycles});
    const auto real = measure(*data_);
    const auto fake = measure(sim_data);

    std::printf("%-8s %12s %12s %12s %12s %9s %9s %9s %9s %9s %9s\n", "sensor", "start FD001", "start sim",
                "fail FD001", "fail sim", "noise FD", "noise sim", "s.sd FD", "s.sd sim", "f.sd FD", "f.sd sim");
    for (auto name : informative) {
        const auto& r = real.sensors.at(name);
        const auto& s = fake.sensors.at(name);
        std::printf("%-8s %12.4f %12.4f %12.4f %12.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f\n", std::string(name).c_str(),
                    r.start, s.start, r.end, s.end, r.noise, s.noise, r.start_sd, s.start_sd, r.end_sd, s.end_sd);
        // A 25% tolerance on a level of 1590 K would accept anything: levels are judged against
        // the degradation they have to show, FD001's mean change from start to failure. Nc and
        // NRc end anywhere within +-50 rpm of their mean, so two fleets of 100 differ by up to
        // 3 standard errors (about 20 rpm, half their drift) by chance alone: that is allowed.
        const double drift = std::abs(r.end - r.start);
        const double n = static_cast<double>(data_->size());
        const double se_start = std::sqrt((r.start_sd * r.start_sd + s.start_sd * s.start_sd) / n);
        const double se_end = std::sqrt((r.end_sd * r.end_sd + s.end_sd * s.end_sd) / n);
        EXPECT_NEAR(s.start, r.start, std::max(0.25 * drift, 3 * se_start)) << name << " start";
        EXPECT_NEAR(s.end, r.end, std::max(0.25 * drift, 3 * se_end)) << name << " failure";
        EXPECT_NEAR(s.end - s.start, r.end - r.start, std::max(0.25 * drift, 3 * (se_start + se_end))) << name << " drift";
        EXPECT_NEAR(s.noise, r.noise, 0.25 * r.noise) << name << " noise";
        // Engine-to-engine spread: looser, 100 engines estimate a spread to about 15%.
        EXPECT_NEAR(s.start_sd, r.start_sd, 0.5 * r.start_sd) << name << " start spread";
        EXPECT_NEAR(s.end_sd, r.end_sd, 0.5 * r.end_sd) << name << " failure spread";
    }
    std::printf("mean life: FD001 %.1f, simulated %.1f\n", real.life_mean, fake.life_mean);
    EXPECT_NEAR(fake.life_mean, real.life_mean, 0.10 * real.life_mean);
}

TEST_F(fd001, fit_finds_fd001_structure) {
    for (auto name : {"T2", "P2", "P15", "epr", "farB", "Nf_dmd", "PCNfR_dmd"})
        EXPECT_TRUE(params_->sensors[*sensor_index(name)].constant) << name;
    for (auto name : informative) EXPECT_FALSE(params_->sensors[*sensor_index(name)].constant) << name;
    // Printed like the data: T24 2 decimals, BPR and W32 4, htBleed an integer, tra 100.0.
    EXPECT_EQ(params_->sensors[*sensor_index("T24")].decimals, 2);
    EXPECT_EQ(params_->sensors[*sensor_index("BPR")].decimals, 4);
    EXPECT_EQ(params_->sensors[*sensor_index("W32")].decimals, 4);
    EXPECT_EQ(params_->sensors[*sensor_index("htBleed")].decimals, 0);
    EXPECT_EQ(params_->settings[2].decimals, 1);
    EXPECT_EQ(params_->settings[2].value, 100.0);
    // Lives 128..362, mean 206: a log-normal around exp(5.3) = 200.
    EXPECT_NEAR(params_->life.log_mean, 5.306, 0.01);
    EXPECT_GT(params_->wear.k, 2.0);
    EXPECT_LT(params_->wear.k, 8.0);
}

// models/simulator.json must be what fit-sim writes for FD001 today: a change to the fit shows up
// here until the file is regenerated. Numbers may differ by about one unit in their last
// written digit, so that a libm that rounds one exp() differently does not fail the build.
void expect_json_near(const nlohmann::json& want, const nlohmann::json& got, const std::string& where) {
    if (want.is_number() && got.is_number()) {
        const double a = want.get<double>(), b = got.get<double>();
        double tolerance = 2e-3 * std::abs(a);                                        // 4 significant digits
        if (where.find(".matrix") != std::string::npos) tolerance = 1.5e-3;          // 3 decimals
        if (where.find(".initial_mean") != std::string::npos) tolerance = 1e-5 * std::abs(a);  // 2 decimals more than the data
        EXPECT_NEAR(b, a, tolerance + 1e-12) << where;
    } else if (want.is_object() && got.is_object()) {
        EXPECT_EQ(want.size(), got.size()) << where;
        for (auto it = want.begin(); it != want.end(); ++it)
            if (got.contains(it.key())) expect_json_near(it.value(), got.at(it.key()), where + "." + it.key());
            else ADD_FAILURE() << where << "." << it.key() << " missing";
    } else if (want.is_array() && got.is_array()) {
        ASSERT_EQ(want.size(), got.size()) << where;
        for (std::size_t i = 0; i < want.size(); ++i)
            expect_json_near(want[i], got[i], where + "[" + std::to_string(i) + "]");
    } else {
        EXPECT_EQ(want, got) << where;
    }
}

TEST_F(fd001, committed_params_are_the_current_fit) {
    std::ifstream in(std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json");
    ASSERT_TRUE(in) << "models/simulator.json is missing";
    std::stringstream committed;
    committed << in.rdbuf();
    expect_json_near(nlohmann::json::parse(committed.str()), nlohmann::json::parse(simulator_params_to_json(*params_)),
                     "simulator.json");
}

}  // namespace
