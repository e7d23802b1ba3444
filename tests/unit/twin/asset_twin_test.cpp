#include "turbotwin/twin/asset_twin.hpp"

#include <gtest/gtest.h>

#include "floating_point.hpp"
#include "shipped_model.hpp"
#include "turbotwin/twin/state_record.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <vector>

namespace turbotwin::twin {
namespace {

using testing_support::fd001_nominal;
using testing_support::nan;
using testing_support::same_bits;

std::size_t idx(const char* name) { return *sensor_index(name); }

// Plausible range: nominal +-20 %, settings anything reasonable. (codec is not linked here.)
std::shared_ptr<const sensor_catalogue> narrow_catalogue() {
    auto c = std::make_shared<sensor_catalogue>();
    for (std::size_t i = 0; i < sensor_count; ++i) {
        c->sensors[i].min = 0.8 * fd001_nominal[i];
        c->sensors[i].max = 1.2 * fd001_nominal[i];
    }
    for (auto& s : c->settings) {
        s.min = -1000.0;
        s.max = 1000.0;
    }
    return c;
}

// Deterministic FD001-like readings: nominal values, a slow degradation drift and small noise.
class reading_source {
public:
    explicit reading_source(std::uint64_t seed) : rng_(seed) {}
    reading at(std::int64_t cycle) {
        std::normal_distribution<double> noise(0.0, 1.0);
        reading r;
        r.cycle = cycle;
        r.ts_ms = 1700000000000 + cycle * 60000;
        r.settings = {0.0005 * noise(rng_), 0.0002 * noise(rng_), 100.0};
        for (std::size_t i = 0; i < sensor_count; ++i) {
            // Temperatures/pressures creep up, a few others down, ~0.5 % over 200 cycles.
            const double drift = (i == idx("W31") || i == idx("W32") || i == idx("phi") ? -1.0 : 1.0) * 2.5e-5 * double(cycle);
            r.sensors[i] = fd001_nominal[i] * (1.0 + drift + 3e-4 * noise(rng_));
        }
        return r;
    }

private:
    std::mt19937_64 rng_;
};

class asset_twin_test : public ::testing::Test {
protected:
    void SetUp() override {
        config_.model = testing_support::shipped_model();
        ASSERT_NE(config_.model, nullptr);
        config_.catalogue = narrow_catalogue();
    }
    static const prognostics::rul_model& model() { return *testing_support::shipped_model(); }

    // Everything observable about a twin, to check that a rejected reading changed nothing.
    struct snapshot {
        std::int64_t last_cycle;
        std::uint64_t applied;
        std::vector<channel_state> channels;
        std::vector<float> features;
        std::optional<latest_estimate> last;
        alerting::severity level;
        std::uint64_t raised;
    };
    static snapshot take(const asset_twin& t) {
        return {t.last_cycle(), t.readings_applied(), t.channels(), t.features(), t.last_update(),
                t.alerts().current(), t.alerts().raised_count()};
    }
    static void expect_same(const snapshot& a, const snapshot& b) {
        EXPECT_EQ(a.last_cycle, b.last_cycle);
        EXPECT_EQ(a.applied, b.applied);
        ASSERT_EQ(a.channels.size(), b.channels.size());
        for (std::size_t i = 0; i < a.channels.size(); ++i) {
            EXPECT_TRUE(same_bits(a.channels[i].level, b.channels[i].level)) << a.channels[i].name;
            EXPECT_TRUE(same_bits(a.channels[i].slope, b.channels[i].slope)) << a.channels[i].name;
            EXPECT_TRUE(same_bits(a.channels[i].level_std, b.channels[i].level_std)) << a.channels[i].name;
            EXPECT_TRUE(same_bits(a.channels[i].slope_std, b.channels[i].slope_std)) << a.channels[i].name;
        }
        ASSERT_EQ(a.features.size(), b.features.size());
        for (std::size_t i = 0; i < a.features.size(); ++i) EXPECT_TRUE(same_bits(a.features[i], b.features[i])) << i;
        ASSERT_EQ(a.last.has_value(), b.last.has_value());
        if (a.last) {
            EXPECT_EQ(a.last->cycle, b.last->cycle);
            EXPECT_TRUE(same_bits(a.last->estimate.rul, b.last->estimate.rul));
        }
        EXPECT_EQ(a.level, b.level);
        EXPECT_EQ(a.raised, b.raised);
    }

    twin_config config_;  // must outlive the twins: asset_twin keeps a pointer to it

};

TEST_F(asset_twin_test, FreshTwinStartsAtTheModelPriors) {
    asset_twin t("ENG-001", config_);
    EXPECT_EQ(t.id(), "ENG-001");
    EXPECT_EQ(t.last_cycle(), 0);
    EXPECT_EQ(t.readings_applied(), 0u);
    EXPECT_FALSE(t.last_update());
    EXPECT_FALSE(t.fault());
    EXPECT_EQ(t.features().size(), prognostics::feature_count(model()));
    const auto ch = t.channels();
    ASSERT_EQ(ch.size(), model().channels.size());
    for (std::size_t i = 0; i < ch.size(); ++i) {
        EXPECT_EQ(ch[i].name, model().channels[i].name);
        EXPECT_EQ(ch[i].level, model().channels[i].filter.initial_level);
        EXPECT_EQ(ch[i].slope, 0.0);
    }
}

TEST_F(asset_twin_test, AppliesAReading) {
    asset_twin t("ENG-001", config_);
    reading_source src(1);
    const reading r = src.at(1);
    auto u = t.process(r);
    ASSERT_TRUE(u) << u.message();
    EXPECT_EQ(u->cycle, 1);
    EXPECT_EQ(u->ts_ms, r.ts_ms);
    EXPECT_EQ(u->dropped_sensors, 0);
    EXPECT_EQ(t.last_cycle(), 1);
    EXPECT_EQ(t.readings_applied(), 1u);
    ASSERT_TRUE(t.last_update());
    EXPECT_TRUE(same_bits(t.last_update()->estimate.rul, u->estimate.rul));
    EXPECT_EQ(t.features()[0], 1.0f);  // feature 0 is the cycle
    // The first reading is applied with dt = 0: each level moved from its prior towards the
    // reading, and no further.
    const auto ch = t.channels();
    for (std::size_t i = 0; i < ch.size(); ++i) {
        const double prior = model().channels[i].filter.initial_level;
        const double z = r.sensors[model().channels[i].sensor];
        EXPECT_GE(ch[i].level, std::min(prior, z)) << ch[i].name;
        EXPECT_LE(ch[i].level, std::max(prior, z)) << ch[i].name;
        EXPECT_LT(ch[i].level_std, std::sqrt(model().channels[i].filter.initial_level_var)) << ch[i].name;
    }
}

TEST_F(asset_twin_test, DuplicateCycleIsRejectedAndChangesNothing) {
    asset_twin t("ENG-002", config_);
    reading_source src(2);
    for (std::int64_t c = 1; c <= 5; ++c) ASSERT_TRUE(t.process(src.at(c)));
    const auto before = take(t);
    // GIVEN a redelivery of cycle 5 with different values
    reading again = src.at(5);
    again.sensors[idx("T24")] += 3.0;
    // WHEN processed
    auto u = t.process(again);
    // THEN it is rejected and nothing changed
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error(), errc::duplicate_cycle);
    expect_same(before, take(t));
}

TEST_F(asset_twin_test, OlderCycleIsOutOfOrder) {
    asset_twin t("ENG-003", config_);
    reading_source src(3);
    for (std::int64_t c = 1; c <= 5; ++c) ASSERT_TRUE(t.process(src.at(c)));
    const auto before = take(t);
    for (std::int64_t c : {4, 1}) {
        auto u = t.process(src.at(c));
        ASSERT_FALSE(u);
        EXPECT_EQ(u.error(), errc::out_of_order_cycle) << c;
    }
    expect_same(before, take(t));
    EXPECT_TRUE(t.process(src.at(6)));  // and the twin carries on
}

TEST_F(asset_twin_test, AllSensorsImplausibleIsRejectedAndChangesNothing) {
    asset_twin t("ENG-004", config_);
    reading_source src(4);
    for (std::int64_t c = 1; c <= 3; ++c) ASSERT_TRUE(t.process(src.at(c)));
    const auto before = take(t);
    // Every sensor off by a decimal point.
    reading r = src.at(4);
    for (auto& s : r.sensors) s *= 10.0;
    auto u = t.process(r);
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error(), errc::no_valid_sensors);
    expect_same(before, take(t));
    // All missing is the same.
    reading empty;
    empty.cycle = 4;
    auto e = t.process(empty);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error(), errc::no_valid_sensors);
    expect_same(before, take(t));
    // Cycle 4 was not consumed.
    EXPECT_TRUE(t.process(src.at(4)));
}

TEST_F(asset_twin_test, OneImplausibleSensorIsDroppedAndTreatedAsMissing) {
    reading_source src_a(5), src_b(5);
    asset_twin dropped("ENG-005", config_), missing("ENG-005", config_);
    for (std::int64_t c = 1; c <= 10; ++c) {
        reading a = src_a.at(c), b = src_b.at(c);
        if (c == 10) {
            a.sensors[idx("T30")] = 15900.0;  // implausible: dropped by the catalogue
            b.sensors[idx("T30")] = nan;      // simply missing
        }
        auto ua = dropped.process(a);
        auto ub = missing.process(b);
        ASSERT_TRUE(ua) << ua.message();
        ASSERT_TRUE(ub) << ub.message();
        if (c == 10) {
            EXPECT_EQ(ua->dropped_sensors, 1);
            EXPECT_EQ(ub->dropped_sensors, 0);
            EXPECT_EQ(ua->cycle, 10);
            EXPECT_TRUE(same_bits(ua->estimate.rul, ub->estimate.rul));
        }
    }
    // The reading was applied...
    EXPECT_EQ(dropped.last_cycle(), 10);
    EXPECT_EQ(dropped.readings_applied(), 10u);
    // ...the T30 channel only predicted (exactly like a missing value), the others updated.
    expect_same(take(dropped), take(missing));
}

TEST_F(asset_twin_test, TwoTwinsFedTheSameReadingsAgreeBitForBit) {
    asset_twin a("ENG-006", config_), b("ENG-007", config_);
    reading_source src(6);
    for (std::int64_t c = 1; c <= 250; ++c) {
        if (c % 17 == 0) continue;  // gaps
        reading r = src.at(c);
        if (c % 23 == 0) r.sensors[idx("Nc")] = nan;
        auto ua = a.process(r);
        auto ub = b.process(r);
        ASSERT_TRUE(ua && ub) << c;
        ASSERT_TRUE(same_bits(ua->estimate.rul, ub->estimate.rul)) << c;
        ASSERT_TRUE(same_bits(ua->estimate.rul_lo, ub->estimate.rul_lo)) << c;
        ASSERT_TRUE(same_bits(ua->estimate.rul_hi, ub->estimate.rul_hi)) << c;
    }
    expect_same(take(a), take(b));
}

TEST_F(asset_twin_test, IntervalAlwaysContainsTheEstimate) {
    asset_twin t("ENG-008", config_);
    reading_source src(8);
    std::mt19937_64 rng(8);
    std::bernoulli_distribution drop(0.2);
    std::uniform_int_distribution<int> step(1, 3);
    double min_rul = std::numeric_limits<double>::infinity(), max_rul = 0;
    for (std::int64_t c = 1; c <= 400; c += step(rng)) {
        reading r = src.at(c);
        for (auto& s : r.sensors)
            if (drop(rng)) s = nan;
        auto u = t.process(r);
        ASSERT_TRUE(u) << u.message();
        const auto& e = u->estimate;
        ASSERT_TRUE(std::isfinite(e.rul) && std::isfinite(e.rul_lo) && std::isfinite(e.rul_hi)) << c;
        ASSERT_GE(e.rul_lo, 0.0) << c;
        ASSERT_LE(e.rul_lo, e.rul) << c;
        ASSERT_LE(e.rul, e.rul_hi) << c;
        min_rul = std::min(min_rul, e.rul);
        max_rul = std::max(max_rul, e.rul);
    }
    // The model reacts to the data at all (a constant output would make the checks above vacuous).
    EXPECT_GT(max_rul - min_rul, 1.0);
}

TEST_F(asset_twin_test, AlertsAreDrivenByTheEstimate) {
    // Thresholds far above any RUL: the very first reading must raise a critical alert, once.
    config_.alert_thresholds = {1e9, 1e9, 10.0};
    asset_twin t("ENG-009", config_);
    reading_source src(9);
    auto first = t.process(src.at(1));
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->alerts.raised);
    EXPECT_EQ(first->alerts.raised->id, "ENG-009-1");
    EXPECT_EQ(first->alerts.raised->asset, "ENG-009");
    EXPECT_EQ(first->alerts.raised->raised_cycle, 1);
    EXPECT_TRUE(same_bits(first->alerts.raised->rul, first->estimate.rul));
    EXPECT_EQ(first->level, alerting::severity::critical);
    auto second = t.process(src.at(2));
    ASSERT_TRUE(second);
    EXPECT_FALSE(second->alerts.raised);
    EXPECT_FALSE(second->alerts.cleared);
    EXPECT_EQ(t.alerts().raised_count(), 1u);
}

TEST_F(asset_twin_test, NoAlertWhenThresholdsAreBelowZero) {
    config_.alert_thresholds = {-1.0, -2.0, 0.0};  // RUL is never negative
    asset_twin t("ENG-010", config_);
    reading_source src(10);
    for (std::int64_t c = 1; c <= 50; ++c) {
        auto u = t.process(src.at(c));
        ASSERT_TRUE(u);
        EXPECT_FALSE(u->alerts.raised);
        EXPECT_EQ(u->level, alerting::severity::normal);
    }
}

TEST_F(asset_twin_test, NumericalFaultIsRecordedAndNoChannelAdvances) {
    // GIVEN a model whose 6th channel has R = 0 and an exactly known level: S = 0 on its first update
    auto broken = std::make_shared<prognostics::rul_model>(model());
    auto& f = broken->channels.at(5).filter;
    f.measurement_var = 0.0;
    f.initial_level_var = 0.0;
    twin_config cfg = config_;
    cfg.model = broken;
    asset_twin t("ENG-011", cfg);
    const auto before = take(t);
    // WHEN a reading arrives
    reading_source src(11);
    auto u = t.process(src.at(1));
    // THEN numerical_fault, the fault names the channel, and channels 0..4 (stepped before the
    // fault) were not advanced either
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error(), errc::numerical_fault);
    ASSERT_TRUE(t.fault());
    EXPECT_NE(t.fault()->find(broken->channels[5].name), std::string::npos) << *t.fault();
    expect_same(before, take(t));
}

TEST_F(asset_twin_test, the_state_record_holds_the_filters_and_contributions_that_sum_to_the_prediction) {
    asset_twin t("E", config_);
    reading_source src(5);
    for (std::int64_t c = 1; c <= 150; ++c) ASSERT_TRUE(t.process(src.at(c)).ok());
    const auto r = record_state(t);
    EXPECT_EQ(r.cycle, 150);
    ASSERT_EQ(r.channels.size(), t.channels().size());
    for (std::size_t i = 0; i < r.channels.size(); ++i) {
        EXPECT_TRUE(same_bits(r.channels[i].level, t.channels()[i].level));
        EXPECT_TRUE(same_bits(r.channels[i].slope_std, t.channels()[i].slope_std));
        EXPECT_TRUE(same_bits(r.channels[i].baseline, t.baselines()[i]));
    }
    EXPECT_TRUE(same_bits(r.estimate.estimate.raw, t.last_update()->estimate.raw));
    ASSERT_TRUE(r.has_contributions) << "the shipped model carries its training covers";
    ASSERT_EQ(r.top_features.size(), 8u);
    for (std::size_t k = 1; k < r.top_features.size(); ++k)
        EXPECT_GE(std::abs(r.top_features[k - 1].contribution), std::abs(r.top_features[k].contribution));
    // The whole attribution: bias + every feature's share is the trees' output.
    const auto features = t.features();
    std::vector<double> shares(features.size() + 1);
    ASSERT_TRUE(prognostics::feature_contributions(model().trees, features, shares));
    EXPECT_EQ(shares.back(), r.contribution_bias);
    double engine_wide = 0, sensors = 0;
    for (std::size_t f = 0; f < 4; ++f) engine_wide += shares[f];
    for (const auto& [name, share] : r.by_sensor) sensors += share;
    EXPECT_EQ(r.by_sensor.size(), model().channels.size());
    EXPECT_NEAR(r.contribution_bias + engine_wide + sensors, t.last_update()->estimate.raw, 1e-3);
    const auto names = prognostics::feature_names(model());
    for (const auto& f : r.top_features) {
        const auto at = std::size_t(std::find(names.begin(), names.end(), f.feature) - names.begin());
        ASSERT_LT(at, names.size()) << f.feature;
        EXPECT_TRUE(same_bits(f.value, features[at]));
        EXPECT_EQ(f.contribution, shares[at]);
    }
}

TEST_F(asset_twin_test, the_state_recorded_in_two_steps_is_the_state_recorded_at_once_even_after_the_twin_moved_on) {
    asset_twin t("E", config_);
    reading_source src(9);
    for (std::int64_t c = 1; c <= 120; ++c) ASSERT_TRUE(t.process(src.at(c)).ok());
    const auto at_once = record_state(t);
    // WHEN the numbers are copied now and the contributions are added after more readings
    auto later = record_state_without_contributions(t);
    const auto features = t.features();
    EXPECT_FALSE(later.has_contributions);
    for (std::int64_t c = 121; c <= 140; ++c) ASSERT_TRUE(t.process(src.at(c)).ok());
    add_contributions(later, *t.shared_model(), features);
    // THEN both records are the same, bit for bit
    EXPECT_EQ(later.cycle, at_once.cycle);
    ASSERT_EQ(later.channels.size(), at_once.channels.size());
    for (std::size_t i = 0; i < later.channels.size(); ++i) {
        EXPECT_TRUE(same_bits(later.channels[i].level, at_once.channels[i].level));
        EXPECT_TRUE(same_bits(later.channels[i].slope, at_once.channels[i].slope));
    }
    ASSERT_TRUE(later.has_contributions);
    EXPECT_EQ(later.contribution_bias, at_once.contribution_bias);
    ASSERT_EQ(later.top_features.size(), at_once.top_features.size());
    for (std::size_t k = 0; k < later.top_features.size(); ++k) {
        EXPECT_EQ(later.top_features[k].feature, at_once.top_features[k].feature);
        EXPECT_EQ(later.top_features[k].contribution, at_once.top_features[k].contribution);
    }
    ASSERT_EQ(later.by_sensor.size(), at_once.by_sensor.size());
    for (std::size_t k = 0; k < later.by_sensor.size(); ++k) EXPECT_EQ(later.by_sensor[k], at_once.by_sensor[k]);
}

}  // namespace
}  // namespace turbotwin::twin
