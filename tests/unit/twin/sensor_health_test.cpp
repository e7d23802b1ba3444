// The sensor fault rules of asset_twin (sensor_health.hpp) on readings whose noise is known:
// gating of single outliers, the whole-engine exception, stuck values, dropouts, recovery, and
// that a gated or excluded reading is exactly a missing one to the filter.
#include "turbotwin/twin/asset_twin.hpp"

#include <gtest/gtest.h>

#include "floating_point.hpp"
#include "shipped_model.hpp"

#include <cmath>
#include <memory>
#include <random>

namespace turbotwin::twin {
namespace {

using testing_support::fd001_nominal;
using testing_support::nan;
using testing_support::same_bits;

std::size_t sensor(const char* name) { return *sensor_index(name); }

std::shared_ptr<const sensor_catalogue> wide_catalogue() {
    auto c = std::make_shared<sensor_catalogue>();
    for (std::size_t i = 0; i < sensor_count; ++i) {
        c->sensors[i].min = 0.5 * fd001_nominal[i];
        c->sensors[i].max = 1.5 * fd001_nominal[i];
    }
    for (auto& s : c->settings) s.min = -1000.0, s.max = 1000.0;
    return c;
}

/// Flat readings with Gaussian noise a quarter of each channel's modelled measurement noise:
/// far inside the gate, and never an exact repeat.
class quiet_engine {
public:
    quiet_engine(const prognostics::rul_model& m, std::uint64_t seed) : rng_(seed) {
        sd_.fill(0.0);
        for (const auto& ch : m.channels) sd_[ch.sensor] = 0.25 * std::sqrt(ch.filter.measurement_var);
    }
    reading at(std::int64_t cycle) {
        reading r;
        r.cycle = cycle;
        r.settings = {0.0, 0.0, 100.0};
        for (std::size_t i = 0; i < sensor_count; ++i) r.sensors[i] = fd001_nominal[i] + sd_[i] * noise_(rng_);
        return r;
    }
    double sd(std::size_t s) const { return sd_[s]; }

private:
    std::mt19937_64 rng_;
    std::normal_distribution<double> noise_{0.0, 1.0};
    std::array<double, sensor_count> sd_;
};

class sensor_health_test : public ::testing::Test {
protected:
    void SetUp() override {
        config_.model = testing_support::shipped_model();
        ASSERT_NE(config_.model, nullptr);
        config_.catalogue = wide_catalogue();
    }
    static const prognostics::rul_model& model() { return *testing_support::shipped_model(); }
    static std::size_t channel(const char* name) {
        for (std::size_t i = 0; i < model().channels.size(); ++i)
            if (model().channels[i].name == name) return i;
        ADD_FAILURE() << name << " is not a model channel";
        return 0;
    }
    static double noise_sd(const char* name) { return std::sqrt(model().channels[channel(name)].filter.measurement_var); }

    twin_config config_;

};

TEST_F(sensor_health_test, CleanReadingsKeepEveryProbeOk) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 1);
    for (std::int64_t c = 1; c <= 300; ++c) {
        auto u = t.process(e.at(c));
        ASSERT_TRUE(u) << u.message();
        EXPECT_EQ(u->gated_sensors, 0) << c;
        EXPECT_TRUE(u->sensor_faults.empty()) << c;
        EXPECT_TRUE(u->sensor_changes.empty()) << c;
    }
}

TEST_F(sensor_health_test, ASpikeIsGatedExactlyLikeAMissingReadingAndForgottenNextCycle) {
    asset_twin spiked("ENG-1", config_), missing("ENG-2", config_);
    quiet_engine a(model(), 2), b(model(), 2);
    for (std::int64_t c = 1; c <= 40; ++c) {
        ASSERT_TRUE(spiked.process(a.at(c)));
        ASSERT_TRUE(missing.process(b.at(c)));
    }
    auto r = a.at(41), gap = b.at(41);
    r.sensors[sensor("T50")] += 20 * noise_sd("T50");
    gap.sensors[sensor("T50")] = nan;
    auto u = spiked.process(r);
    ASSERT_TRUE(u);
    ASSERT_TRUE(missing.process(gap));
    EXPECT_EQ(u->gated_sensors, 1);
    ASSERT_EQ(u->sensor_faults.size(), 1u);
    EXPECT_EQ(u->sensor_faults[0].sensor, "T50");
    EXPECT_EQ(u->sensor_faults[0].status, sensor_status::suspect);
    EXPECT_EQ(u->sensor_faults[0].reason, sensor_fault::spike);
    EXPECT_EQ(u->sensor_faults[0].since, 41);
    const auto k = channel("T50");
    EXPECT_TRUE(same_bits(spiked.filters()[k].level(), missing.filters()[k].level()));
    EXPECT_TRUE(same_bits(spiked.filters()[k].covariance()(0, 0), missing.filters()[k].covariance()(0, 0)));
    // The next plausible reading clears the suspicion.
    u = spiked.process(a.at(42));
    ASSERT_TRUE(u);
    EXPECT_TRUE(u->sensor_faults.empty());
    ASSERT_EQ(u->sensor_changes.size(), 1u);
    EXPECT_EQ(u->sensor_changes[0].status, sensor_status::ok);
}

TEST_F(sensor_health_test, ManyProbesJumpingTogetherAreTheEngineAndAreApplied) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 3);
    for (std::int64_t c = 1; c <= 40; ++c) ASSERT_TRUE(t.process(e.at(c)));
    auto r = e.at(41);
    for (const char* name : {"T30", "T50", "Ps30", "phi"}) r.sensors[sensor(name)] += 20 * noise_sd(name);
    const double before = t.filters()[channel("T50")].level();
    auto u = t.process(r);
    ASSERT_TRUE(u);
    EXPECT_EQ(u->gated_sensors, 0);
    EXPECT_TRUE(u->sensor_faults.empty());
    EXPECT_GT(t.filters()[channel("T50")].level(), before + noise_sd("T50"));
}

TEST_F(sensor_health_test, RepeatedJumpsFailTheProbe) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 4);
    for (std::int64_t c = 1; c <= 40; ++c) ASSERT_TRUE(t.process(e.at(c)));
    Result<twin_update> u{errc::invalid_argument};
    for (std::int64_t c = 41; c <= 43; ++c) {
        auto r = e.at(c);
        r.sensors[sensor("T30")] += 30 * noise_sd("T30");
        u = t.process(r);
        ASSERT_TRUE(u);
    }
    ASSERT_EQ(u->sensor_faults.size(), 1u);
    EXPECT_EQ(u->sensor_faults[0].status, sensor_status::failed);
    EXPECT_EQ(u->sensor_faults[0].reason, sensor_fault::jump);
    EXPECT_EQ(u->sensor_faults[0].since, 41);
}

TEST_F(sensor_health_test, AStuckProbeFailsAfterSixEqualReadingsAndComesBackWhenItVariesAgain) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 5);
    for (std::int64_t c = 1; c < 40; ++c) ASSERT_TRUE(t.process(e.at(c)));
    const auto last_good = e.at(40);
    ASSERT_TRUE(t.process(last_good));
    const double frozen = last_good.sensors[sensor("T50")];  // the probe sticks at its last value
    std::int64_t failed_at = 0;
    for (std::int64_t c = 41; c <= 60; ++c) {
        auto r = e.at(c);
        r.sensors[sensor("T50")] = frozen;
        auto u = t.process(r);
        ASSERT_TRUE(u);
        for (const auto& ch : u->sensor_changes)
            if (ch.sensor == "T50" && ch.status == sensor_status::failed) {
                EXPECT_EQ(ch.reason, sensor_fault::stuck);
                failed_at = c;
            }
    }
    EXPECT_EQ(failed_at, 45) << "the first frozen reading is the 1st repeat, the 5th repeat fails the probe";
    const auto& h = t.sensors()[channel("T50")];
    EXPECT_EQ(h.status, sensor_status::failed);
    // A failed probe is excluded: its filter coasts while the stuck value keeps coming.
    // It varies again near its true level: back after five plausible readings.
    std::int64_t back_at = 0;
    for (std::int64_t c = 61; c <= 70 && !back_at; ++c) {
        auto u = t.process(e.at(c));
        ASSERT_TRUE(u);
        for (const auto& ch : u->sensor_changes)
            if (ch.sensor == "T50" && ch.status == sensor_status::ok) back_at = c;
    }
    EXPECT_EQ(back_at, 65);
}

TEST_F(sensor_health_test, ARepeatedWholeFrameIsNotAStuckProbe) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 6);
    for (std::int64_t c = 1; c <= 40; ++c) ASSERT_TRUE(t.process(e.at(c)));
    auto frame = e.at(41);
    for (std::int64_t c = 41; c <= 50; ++c) {
        frame.cycle = c;
        auto u = t.process(frame);
        ASSERT_TRUE(u);
        EXPECT_TRUE(u->sensor_faults.empty()) << c;
    }
}

TEST_F(sensor_health_test, ADropoutIsSuspectAtOnceAndFailedOnTheThirdMissingReading) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 7);
    for (std::int64_t c = 1; c <= 40; ++c) ASSERT_TRUE(t.process(e.at(c)));
    for (std::int64_t c = 41; c <= 43; ++c) {
        auto r = e.at(c);
        r.sensors[sensor("Ps30")] = nan;
        auto u = t.process(r);
        ASSERT_TRUE(u);
        ASSERT_EQ(u->sensor_faults.size(), 1u);
        EXPECT_EQ(u->sensor_faults[0].reason, sensor_fault::dropout);
        EXPECT_EQ(u->sensor_faults[0].since, 41);
        EXPECT_EQ(u->sensor_faults[0].status, c < 43 ? sensor_status::suspect : sensor_status::failed) << c;
    }
}

TEST_F(sensor_health_test, AFailedProbeIsImputedFromTheOthersInsteadOfCoasting) {
    // The predictor sees the failed channel's level as the other channels imply it: a stuck
    // probe far from the truth changes the features hardly at all.
    asset_twin stuck("ENG-1", config_), clean("ENG-2", config_);
    quiet_engine a(model(), 8), b(model(), 8);
    for (std::int64_t c = 1; c <= 60; ++c) {
        ASSERT_TRUE(stuck.process(a.at(c)));
        ASSERT_TRUE(clean.process(b.at(c)));
    }
    const double far = fd001_nominal[sensor("T50")] + 3 * noise_sd("T50");
    for (std::int64_t c = 61; c <= 80; ++c) {
        auto r = a.at(c);
        r.sensors[sensor("T50")] = far;  // stuck at an offset value (every reading the same)
        ASSERT_TRUE(stuck.process(r));
        ASSERT_TRUE(clean.process(b.at(c)));
    }
    ASSERT_EQ(stuck.sensors()[channel("T50")].status, sensor_status::failed);
    const auto fs = stuck.features(), fc = clean.features();
    const auto names = prognostics::feature_names(model());
    for (std::size_t i = 0; i < fs.size(); ++i) {
        if (names[i].find("T50") == std::string::npos) continue;
        if (names[i].find("slope") != std::string::npos) continue;
        EXPECT_NEAR(fs[i], fc[i], 1.5 * noise_sd("T50")) << names[i];
    }
}

TEST_F(sensor_health_test, HealthSurvivesASnapshot) {
    asset_twin t("ENG-1", config_);
    quiet_engine e(model(), 9);
    for (std::int64_t c = 1; c <= 40; ++c) ASSERT_TRUE(t.process(e.at(c)));
    for (std::int64_t c = 41; c <= 44; ++c) {
        auto r = e.at(c);
        r.sensors[sensor("W31")] = nan;
        ASSERT_TRUE(t.process(r));
    }
    auto back = asset_twin::restore(t.snapshot(), config_);
    ASSERT_TRUE(back) << back.message();
    ASSERT_EQ(back->sensor_faults().size(), 1u);
    EXPECT_EQ(back->sensor_faults()[0].sensor, "W31");
    EXPECT_EQ(back->sensor_faults()[0].status, sensor_status::failed);
    EXPECT_EQ(back->sensor_faults()[0].since, 41);
    EXPECT_EQ(back->snapshot(), t.snapshot());
}

TEST(stuck_rule, ResolutionIsTheFinestSeenAndCoarseProbesNeedMoreRepeats) {
    EXPECT_EQ(printed_decimals(2388.06, 0), 2);
    EXPECT_EQ(printed_decimals(2388.1, 0), 1);   // printed 2388.10: one reading shows one decimal...
    EXPECT_EQ(printed_decimals(2388.1, 2), 2);   // ...the probe's resolution stays the finest seen
    EXPECT_EQ(printed_decimals(392.0, 0), 0);
    EXPECT_EQ(printed_decimals(8.4195, 0), 4);
    EXPECT_EQ(printed_decimals(1.0 / 3.0, 0), 6);  // not a printed value: as fine as we look
    const sensor_fault_rules rules;
    // htBleed: whole units, noise sd 0.93 -> a repeat a third of the time -> 10 repeats.
    EXPECT_EQ(stuck_repeats_needed(0, 0.93, rules), 10);
    // Nf: hundredths, noise sd 0.03 -> p 0.094 -> the minimum of 5.
    EXPECT_EQ(stuck_repeats_needed(2, 0.0303, rules), 5);
    // A probe whose noise is below its resolution repeats all the time: never judged stuck early.
    EXPECT_EQ(stuck_repeats_needed(0, 0.01, rules), 31);
}

}  // namespace
}  // namespace turbotwin::twin
