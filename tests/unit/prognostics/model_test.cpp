#include "turbotwin/prognostics/model.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "turbotwin/core/reading.hpp"

#include "floating_point.hpp"
#include "temp_dir.hpp"

namespace turbotwin::prognostics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing_support::fnan;
using testing_support::same_bits;
constexpr double inf = std::numeric_limits<double>::infinity();
const std::string committed_model_path = std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json";

// ---------------------------------------------------------------- tree_ensemble::predict

// Tree A:  node0: f0 < 10 (NaN left)  -> left node1: leaf 1
//                                        -> right node2: f1 < 0.5 (NaN right) -> left node3: leaf 2
//                                                                             -> right node4: leaf 4
// Tree B:   node0: f2 < -1 (NaN right) -> node1: leaf 8 | node2: leaf 16
// Leaves are powers of two so every path combination gives a distinct sum.
tree_ensemble hand_built() {
    tree_ensemble e;
    e.base_score = 100.0;
    regression_tree a;
    a.left = {1, -1, 3, -1, -1};
    a.right = {2, -1, 4, -1, -1};
    a.feature = {0, 0, 1, 0, 0};
    a.value = {10.0f, 1.0f, 0.5f, 2.0f, 4.0f};
    a.default_left = {1, 0, 0, 0, 0};
    regression_tree b;
    b.left = {1, -1, -1};
    b.right = {2, -1, -1};
    b.feature = {2, 0, 0};
    b.value = {-1.0f, 8.0f, 16.0f};
    b.default_left = {0, 0, 0};
    e.trees = {a, b};
    return e;
}

// Every case runs through both forms: the plain trees and the compiled node array.
double predict3(const tree_ensemble& e, float f0, float f1, float f2) {
    const float f[3] = {f0, f1, f2};
    tree_ensemble compiled = e;
    compiled.compile();
    const double plain = e.predict(f);
    const double fast = compiled.predict(f);
    EXPECT_EQ(std::memcmp(&plain, &fast, sizeof plain), 0) << plain << " vs " << fast;
    return fast;
}

TEST(tree_ensemble, CompiledFormGivesTheSameBitsAsTheTreesOnTheShippedModel) {
    // GIVEN the shipped model's trees, all of them and a count that leaves the last compiled
    // group part-filled, each compiled and plain
    auto m = load_model(std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json");
    ASSERT_TRUE(m) << m.message();
    ASSERT_EQ(m->trees.trees.size() % tree_ensemble::group_width, 0u);
    for (const std::size_t tree_count : {m->trees.trees.size(), m->trees.trees.size() - 3}) {
        tree_ensemble compiled, plain;
        compiled.base_score = plain.base_score = m->trees.base_score;
        compiled.trees = plain.trees = {m->trees.trees.begin(), m->trees.trees.begin() + std::ptrdiff_t(tree_count)};
        compiled.compile();
        // WHEN both predict random feature vectors: every other one with some features missing
        // (a step tests for NaN), the rest complete (the compiled form skips that test)
        std::mt19937 rng(5);
        std::uniform_real_distribution<float> value(-50.0f, 2000.0f);
        std::vector<float> f(feature_count(*m));
        int differing = 0, distinct_outputs = 0;
        double previous = 0;
        for (int k = 0; k < 2000; ++k) {
            for (auto& x : f) x = k % 2 == 0 && rng() % 10 == 0 ? std::numeric_limits<float>::quiet_NaN() : value(rng);
            const double a = plain.predict(f), b = compiled.predict(f);
            differing += std::memcmp(&a, &b, sizeof a) != 0;
            distinct_outputs += a != previous;
            previous = a;
        }
        // THEN every output is bit for bit the same (and the inputs did move the output)
        EXPECT_EQ(differing, 0) << tree_count << " trees";
        EXPECT_GT(distinct_outputs, 100) << tree_count << " trees";
    }
}

TEST(tree_ensemble, SumsLeavesPlusBaseScore) {
    const auto e = hand_built();
    EXPECT_EQ(predict3(e, 5, 0, 0), 100 + 1 + 16);
    EXPECT_EQ(predict3(e, 20, 0, -2), 100 + 2 + 8);
    EXPECT_EQ(predict3(e, 20, 1, 0), 100 + 4 + 16);
}

TEST(tree_ensemble, SplitGoesLeftOnlyWhenStrictlyLess) {
    const auto e = hand_built();
    EXPECT_EQ(predict3(e, 10, 0, 0), 100 + 2 + 16);                    // 10 < 10 is false: right
    EXPECT_EQ(predict3(e, std::nextafter(10.0f, 0.0f), 0, 0), 100 + 1 + 16);
    EXPECT_EQ(predict3(e, 10, 0.5f, -1), 100 + 4 + 16);                // both equalities go right
    EXPECT_EQ(predict3(e, 10, 0.49999997f, -1.0000001f), 100 + 2 + 8);
}

TEST(tree_ensemble, MissingFeatureFollowsDefaultLeft) {
    const auto e = hand_built();
    EXPECT_EQ(predict3(e, fnan, 1, 0), 100 + 1 + 16);     // tree A root: default left
    EXPECT_EQ(predict3(e, 20, fnan, 0), 100 + 4 + 16);    // tree A node2: default right
    EXPECT_EQ(predict3(e, 20, 0, fnan), 100 + 2 + 16);    // tree B root: default right
    EXPECT_EQ(predict3(e, fnan, fnan, fnan), 100 + 1 + 16);
}

TEST(tree_ensemble, EmptyEnsembleIsTheBaseScore) {
    tree_ensemble e;
    e.base_score = 42.5;
    const float f[1] = {1};
    EXPECT_EQ(e.predict(f), 42.5);
}

TEST(tree_ensemble, SingleLeafTree) {
    tree_ensemble e;
    regression_tree t;
    t.left = {-1};
    t.right = {-1};
    t.feature = {0};
    t.value = {-3.25f};
    t.default_left = {0};
    e.trees = {t};
    const float f[1] = {fnan};
    EXPECT_EQ(e.predict(f), -3.25);
}

// ---------------------------------------------------------------- calibrate

interval_calibration three_bins() {
    interval_calibration c;
    c.bin_upper = {10.0, 50.0, inf};
    c.lo_offset = {-2.0, -5.0, -20.0};
    c.hi_offset = {3.0, 8.0, 30.0};
    return c;
}

TEST(calibrate, PicksTheBinByRawPredictionWithInclusiveUpperEdge) {
    const auto c = three_bins();
    struct expect_case {
        double raw, lo, hi;
    };
    for (const auto& x : {expect_case{5.0, 3.0, 8.0}, expect_case{10.0, 8.0, 13.0}, expect_case{10.5, 5.5, 18.5},
                          expect_case{50.0, 45.0, 58.0}, expect_case{50.25, 30.25, 80.25}, expect_case{1000.0, 980.0, 1030.0}}) {
        const auto e = calibrate(c, x.raw);
        EXPECT_EQ(e.rul, x.raw) << x.raw;
        EXPECT_DOUBLE_EQ(e.rul_lo, x.lo) << x.raw;
        EXPECT_DOUBLE_EQ(e.rul_hi, x.hi) << x.raw;
    }
}

TEST(calibrate, ClipsAtZero) {
    const auto c = three_bins();
    const auto small = calibrate(c, 1.0);
    EXPECT_EQ(small.rul, 1.0);
    EXPECT_EQ(small.rul_lo, 0.0);  // 1 - 2 clipped
    EXPECT_EQ(small.rul_hi, 4.0);
    const auto negative = calibrate(c, -3.0);
    EXPECT_EQ(negative.rul, 0.0);
    EXPECT_EQ(negative.rul_lo, 0.0);
    EXPECT_EQ(negative.rul_hi, 0.0);
    const auto very_negative = calibrate(c, -50.0);
    EXPECT_EQ(very_negative.rul, 0.0);
    EXPECT_EQ(very_negative.rul_lo, 0.0);
    EXPECT_EQ(very_negative.rul_hi, 0.0);
}

TEST(calibrate, IntervalAlwaysContainsThePointEvenWithOddOffsets) {
    // Offsets of the wrong sign can come out of a small calibration set.
    interval_calibration c;
    c.bin_upper = {inf};
    c.lo_offset = {4.0};
    c.hi_offset = {-6.0};
    const auto e = calibrate(c, 30.0);
    EXPECT_EQ(e.rul, 30.0);
    EXPECT_EQ(e.rul_lo, 30.0);
    EXPECT_EQ(e.rul_hi, 30.0);
}

TEST(calibrate, LastBinCatchesEverythingAboveEvenWithoutInfiniteEdge) {
    interval_calibration c;
    c.bin_upper = {10.0, 20.0};
    c.lo_offset = {-1.0, -7.0};
    c.hi_offset = {1.0, 7.0};
    const auto e = calibrate(c, 500.0);
    EXPECT_EQ(e.rul_lo, 493.0);
    EXPECT_EQ(e.rul_hi, 507.0);
}

TEST(calibrate, EmptyCalibrationGivesZeroWidthInterval) {
    const interval_calibration c;
    for (double raw : {0.0, 17.5, 300.0}) {
        const auto e = calibrate(c, raw);
        EXPECT_EQ(e.rul, raw);
        EXPECT_EQ(e.rul_lo, raw);
        EXPECT_EQ(e.rul_hi, raw);
    }
    const auto neg = calibrate(c, -4.0);
    EXPECT_EQ(neg.rul, 0.0);
    EXPECT_EQ(neg.rul_lo, 0.0);
    EXPECT_EQ(neg.rul_hi, 0.0);
}

// One bin, quantile offsets at levels 0.05, 0.5, 0.95: RUL quantiles 40, 50, 70 around raw 50.
interval_calibration three_level_calibration() {
    interval_calibration c;
    c.bin_upper = {inf};
    c.lo_offset = {-10.0};
    c.hi_offset = {20.0};
    c.levels = {0.05, 0.5, 0.95};
    c.offsets = {{-10.0, 0.0, 20.0}};
    return c;
}

TEST(failure_probability, InvertsTheQuantilesOfTheCalibratedDistribution) {
    const auto c = three_level_calibration();
    for (double p : {0.05, 0.2, 0.5, 0.8, 0.95})
        EXPECT_NEAR(failure_probability(c, 50.0, rul_quantile(c, 50.0, p)), p, 1e-12) << "p " << p;
    EXPECT_NEAR(failure_probability(c, 50.0, 60.0), 0.725, 1e-12);
    // Monotone in the horizon, within 0..1, certain far out and impossible well before.
    double last = -1;
    for (double h = 0; h <= 200; h += 0.5) {
        const double p = failure_probability(c, 50.0, h);
        EXPECT_GE(p, last);
        EXPECT_GE(p, 0.0);
        EXPECT_LE(p, 1.0);
        last = p;
    }
    EXPECT_EQ(failure_probability(c, 50.0, 0.0), 0.0);
    EXPECT_EQ(failure_probability(c, 50.0, 200.0), 1.0);
    // A wider distribution (widening 2) makes an early failure more likely.
    EXPECT_GT(failure_probability(c, 50.0, 35.0, 2.0), failure_probability(c, 50.0, 35.0, 1.0));
}

TEST(rul_at_probability, InvertsFailureProbabilityTailsIncluded) {
    const auto c = three_level_calibration();
    // Inside the levels it is rul_quantile; beyond them it goes on along the outer segments.
    for (double p : {0.05, 0.3, 0.5, 0.9, 0.95}) EXPECT_NEAR(rul_at_probability(c, 50.0, p), rul_quantile(c, 50.0, p), 1e-12);
    EXPECT_LT(rul_at_probability(c, 50.0, 0.01), rul_quantile(c, 50.0, 0.01));
    EXPECT_GT(rul_at_probability(c, 50.0, 0.99), rul_quantile(c, 50.0, 0.99));
    for (double p = 0.01; p < 1.0; p += 0.01) {
        const double x = rul_at_probability(c, 50.0, p, 1.5);
        if (x > 0) {
            EXPECT_NEAR(failure_probability(c, 50.0, x, 1.5), p, 1e-9) << "p " << p;
        }
    }
    EXPECT_EQ(rul_at_probability(c, 5.0, 0.0), 0.0);  // never below 0
}

TEST(calibrate, InvariantHoldsForRandomInputs) {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> raw(-50.0, 300.0), off(-40.0, 40.0);
    for (int trial = 0; trial < 2000; ++trial) {
        interval_calibration c;
        c.bin_upper = {20.0, 80.0, inf};
        for (int i = 0; i < 3; ++i) {
            c.lo_offset.push_back(off(rng));
            c.hi_offset.push_back(off(rng));
        }
        const double r = raw(rng);
        const auto e = calibrate(c, r);
        ASSERT_GE(e.rul_lo, 0.0);
        ASSERT_LE(e.rul_lo, e.rul);
        ASSERT_LE(e.rul, e.rul_hi);
        ASSERT_EQ(e.rul, std::max(0.0, r));
    }
}

// ---------------------------------------------------------------- features

rul_model two_channel_model() {
    rul_model m;
    m.name = "test";
    sensor_channel a;
    a.sensor = 1;
    a.name = "T24";
    a.filter.initial_level = 642.0;
    a.filter.measurement_var = 0.1;
    sensor_channel b;
    b.sensor = 10;
    b.name = "Ps30";
    b.filter.initial_level = 47.5;
    b.filter.measurement_var = 0.05;
    m.channels = {a, b};
    m.hi_weights = {2.0, -3.0};
    m.hi_bias = 5.0;
    return m;
}

TEST(features, CountAndNamesFollowTheLayout) {
    const auto m = two_channel_model();
    EXPECT_EQ(feature_count(m), 10u);
    const std::vector<std::string> expected = {"cycle",     "hi",         "hi_slope",   "hi_dev",  "T24_level",
                                               "Ps30_level", "T24_slope", "Ps30_slope", "T24_dev", "Ps30_dev"};
    EXPECT_EQ(feature_names(m), expected);
    EXPECT_EQ(feature_count(rul_model{}), 4u);
}

TEST(features, ComputeFeaturesLayout) {
    const auto m = two_channel_model();
    // GIVEN two filters with distinct, non-zero levels and slopes
    std::vector<estimation::trend_state> filters;
    for (const auto& ch : m.channels) filters.emplace_back(ch.filter);
    estimation::update_info info;
    ASSERT_TRUE(filters[0].step(m.channels[0].filter, 0.0, 642.3, info));
    ASSERT_TRUE(filters[0].step(m.channels[0].filter, 1.0, 642.9, info));
    ASSERT_TRUE(filters[1].step(m.channels[1].filter, 0.0, 47.2, info));
    ASSERT_TRUE(filters[1].step(m.channels[1].filter, 1.0, 47.0, info));
    ASSERT_NE(filters[0].slope(), 0.0);
    ASSERT_NE(filters[1].slope(), 0.0);
    // WHEN features are computed
    std::vector<float> out(feature_count(m), -999.0f);
    const std::vector<double> baselines = {642.0, 47.5};
    compute_features(m, 37, filters, baselines, out);
    // THEN [cycle, hi, hi_slope, hi_dev, level_0, level_1, slope_0, slope_1, dev_0, dev_1]
    const double l0 = filters[0].level(), l1 = filters[1].level(), s0 = filters[0].slope(), s1 = filters[1].slope();
    EXPECT_EQ(out[0], 37.0f);
    EXPECT_EQ(out[1], float(5.0 + 2.0 * l0 - 3.0 * l1));
    EXPECT_EQ(out[2], float(2.0 * s0 - 3.0 * s1));
    EXPECT_EQ(out[3], float(2.0 * (l0 - 642.0) - 3.0 * (l1 - 47.5)));
    EXPECT_EQ(out[4], float(l0));
    EXPECT_EQ(out[5], float(l1));
    EXPECT_EQ(out[6], float(s0));
    EXPECT_EQ(out[7], float(s1));
    EXPECT_EQ(out[8], float(l0 - 642.0));
    EXPECT_EQ(out[9], float(l1 - 47.5));
    // AND before the baseline exists, the deviations are missing (NaN), the rest unchanged
    const std::vector<double> unknown = {std::nan(""), std::nan("")};
    compute_features(m, 37, filters, unknown, out);
    EXPECT_TRUE(std::isnan(out[3]) && std::isnan(out[8]) && std::isnan(out[9]));
    EXPECT_EQ(out[4], float(l0));
}

// ---------------------------------------------------------------- save / load

rul_model random_model(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::uniform_int_distribution<int> e(-30, 30);
    auto awkward = [&] { return u(rng) * std::pow(10.0, e(rng)); };
    rul_model m;
    m.name = "fd00x";
    m.trained_on = "unit test \"quoted\" \xc3\xa9";
    m.seed = 0xFFFFFFFFFFFFFFFFull;  // does not fit int64
    m.rul_cap = 125.0;
    m.hi_bias = -635423.5928178241;
    for (std::size_t i : {1u, 2u, 3u, 6u, 20u}) {
        sensor_channel ch;
        ch.sensor = i;
        ch.name = std::string(sensor_names[i]);
        ch.filter = {std::abs(awkward()), std::abs(awkward()), std::abs(awkward()), awkward(), std::abs(awkward()), std::abs(awkward())};
        m.channels.push_back(ch);
        m.hi_weights.push_back(awkward());
    }
    m.calibration.coverage = 0.9;
    m.calibration.bin_upper = {10.0, 1.0 / 3.0 * 100, inf};
    m.calibration.lo_offset = {awkward(), awkward(), awkward()};
    m.calibration.hi_offset = {awkward(), awkward(), awkward()};
    m.trees.base_score = 86.829285;
    const auto nf = std::int32_t(feature_count(m));
    for (int t = 0; t < 4; ++t) {
        // A complete binary tree with 7 nodes (children of i at 2i+1, 2i+2).
        regression_tree tree;
        for (std::int32_t i = 0; i < 7; ++i) {
            const bool leaf = i >= 3;
            tree.left.push_back(leaf ? -1 : 2 * i + 1);
            tree.right.push_back(leaf ? -1 : 2 * i + 2);
            tree.feature.push_back(leaf ? 0 : (i * 5 + t) % nf);
            tree.value.push_back(float(awkward()));
            tree.default_left.push_back(std::uint8_t((i + t) % 2));
        }
        m.trees.trees.push_back(tree);
    }
    return m;
}

// A known subspace: three channels, one direction (1, 1, 0)/sqrt(2), unit scales, zero mean.
rul_model subspace_model() {
    rul_model m;
    m.novelty.mean = {0.0, 0.0, 0.0};
    m.novelty.scale = {1.0, 1.0, 1.0};
    m.novelty.directions = {{1.0 / std::sqrt(2.0), 1.0 / std::sqrt(2.0), 0.0}};
    m.novelty.threshold = 1.0;
    return m;
}

TEST(novelty, ResidualOfOneBiasedChannelLiesMostlyInThatChannel) {
    const auto m = subspace_model();
    std::vector<double> residuals(3);
    // On the subspace: no residual at all.
    std::vector<double> wear = {2.0, 2.0, 0.0};
    EXPECT_NEAR(novelty_residuals(m, wear, residuals), 0.0, 1e-12);
    // A bias b in channel 2 (off the subspace) is all channel 2's; in channel 0 it is shared
    // with channel 1 (half of it looks like wear) but channel 0 still carries the larger part.
    std::vector<double> biased = {2.0, 2.0, 3.0};
    EXPECT_NEAR(novelty_residuals(m, biased, residuals), 9.0, 1e-12);
    EXPECT_NEAR(residuals[2], 3.0, 1e-12);
    biased = {5.0, 2.0, 0.0};
    EXPECT_NEAR(novelty_residuals(m, biased, residuals), 4.5, 1e-12);
    EXPECT_NEAR(residuals[0], 1.5, 1e-12);
    EXPECT_NEAR(residuals[1], -1.5, 1e-12);
    EXPECT_DOUBLE_EQ(novelty_score(m, biased), 4.5);
}

TEST(novelty, ImputationRecoversAChannelOnTheSubspace) {
    const auto m = subspace_model();
    std::vector<double> deviations = {3.0, 99.0, 0.5};  // channel 1 failed: its number is garbage
    const bool observed[] = {true, false, true};
    ASSERT_TRUE(impute_deviations(m, deviations, observed));
    // Least squares on channels 0 and 2: c = 3/sqrt(2), so channel 1 = 3; the observed stay.
    EXPECT_NEAR(deviations[1], 3.0, 1e-12);
    EXPECT_EQ(deviations[0], 3.0);
    EXPECT_EQ(deviations[2], 0.5);
    // A mean is added for levels and left out for rates of change.
    auto shifted = m;
    shifted.novelty.mean = {1.0, 1.0, 0.0};
    shifted.novelty.scale = {2.0, 2.0, 2.0};
    std::vector<double> levels = {1.0, 0.0, 0.0};  // normalised 2 - mean 1 = 1 along channel 0
    ASSERT_TRUE(impute_deviations(shifted, levels, observed, true));
    EXPECT_NEAR(levels[1], 1.0, 1e-12);  // (1 + 1) / 2
    std::vector<double> rates = {1.0, 0.0, 0.0};
    ASSERT_TRUE(impute_deviations(shifted, rates, observed, false));
    EXPECT_NEAR(rates[1], 1.0, 1e-12);
    // Nothing to solve from: the only channel on the direction is missing with its twin.
    const bool too_few[] = {false, false, true};
    std::vector<double> untouched = {7.0, 8.0, 9.0};
    EXPECT_FALSE(impute_deviations(m, untouched, too_few));
    EXPECT_EQ(untouched, (std::vector<double>{7.0, 8.0, 9.0}));
}

TEST(model_io, SaveLoadRoundTripIsBitExact) {
    testing_support::temp_dir dir("turbotwin-model-test");
    const auto m = random_model(77);
    const auto path = dir.file("model.json");
    auto saved = save_model(m, path);
    ASSERT_TRUE(saved) << saved.message();
    auto back = load_model(path);
    ASSERT_TRUE(back) << back.message();
    const rul_model& b = *back;
    EXPECT_EQ(b.name, m.name);
    EXPECT_EQ(b.trained_on, m.trained_on);
    EXPECT_EQ(b.seed, m.seed);
    EXPECT_TRUE(same_bits(b.rul_cap, m.rul_cap));
    EXPECT_TRUE(same_bits(b.hi_bias, m.hi_bias));
    ASSERT_EQ(b.hi_weights.size(), m.hi_weights.size());
    for (std::size_t i = 0; i < m.hi_weights.size(); ++i) EXPECT_TRUE(same_bits(b.hi_weights[i], m.hi_weights[i])) << i;
    ASSERT_EQ(b.channels.size(), m.channels.size());
    for (std::size_t i = 0; i < m.channels.size(); ++i) {
        const auto &x = b.channels[i].filter, &y = m.channels[i].filter;
        EXPECT_EQ(b.channels[i].sensor, m.channels[i].sensor);
        EXPECT_EQ(b.channels[i].name, m.channels[i].name);
        EXPECT_TRUE(same_bits(x.measurement_var, y.measurement_var));
        EXPECT_TRUE(same_bits(x.level_process_var, y.level_process_var));
        EXPECT_TRUE(same_bits(x.slope_process_var, y.slope_process_var));
        EXPECT_TRUE(same_bits(x.initial_level, y.initial_level));
        EXPECT_TRUE(same_bits(x.initial_level_var, y.initial_level_var));
        EXPECT_TRUE(same_bits(x.initial_slope_var, y.initial_slope_var));
    }
    EXPECT_TRUE(same_bits(b.calibration.coverage, m.calibration.coverage));
    ASSERT_EQ(b.calibration.bin_upper.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(same_bits(b.calibration.bin_upper[i], m.calibration.bin_upper[i])) << i;  // incl. +inf
        EXPECT_TRUE(same_bits(b.calibration.lo_offset[i], m.calibration.lo_offset[i])) << i;
        EXPECT_TRUE(same_bits(b.calibration.hi_offset[i], m.calibration.hi_offset[i])) << i;
    }
    EXPECT_TRUE(same_bits(b.trees.base_score, m.trees.base_score));
    ASSERT_EQ(b.trees.trees.size(), m.trees.trees.size());
    for (std::size_t t = 0; t < m.trees.trees.size(); ++t) {
        const auto &x = b.trees.trees[t], &y = m.trees.trees[t];
        EXPECT_EQ(x.left, y.left);
        EXPECT_EQ(x.right, y.right);
        EXPECT_EQ(x.feature, y.feature);
        EXPECT_EQ(x.default_left, y.default_left);
        ASSERT_EQ(x.value.size(), y.value.size());
        for (std::size_t i = 0; i < y.value.size(); ++i) EXPECT_TRUE(same_bits(x.value[i], y.value[i])) << t << "/" << i;
    }
    // Saving the loaded model gives the same bytes.
    const auto again = dir.file("again.json");
    ASSERT_TRUE(save_model(b, again));
    std::ifstream f1(path), f2(again);
    const std::string s1((std::istreambuf_iterator<char>(f1)), {}), s2((std::istreambuf_iterator<char>(f2)), {});
    EXPECT_EQ(s1, s2);
}

TEST(model_io, SaveToUnwritablePathFails) {
    auto r = save_model(random_model(1), "/nonexistent-dir/turbotwin/model.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::io_error);
}

TEST(model_io, LoadMissingFileIsAnIoError) {
    auto r = load_model("/nonexistent-dir/turbotwin/model.json");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::io_error);
}

struct corruption {
    const char* name;
    std::function<void(json&)> apply;
};

class load_model_rejects : public ::testing::TestWithParam<corruption> {};

TEST_P(load_model_rejects, MalformedFile) {
    testing_support::temp_dir dir("turbotwin-model-test");
    const auto good = dir.file("good.json");
    ASSERT_TRUE(save_model(random_model(3), good));
    ASSERT_TRUE(load_model(good));  // control: the uncorrupted file loads
    json j;
    {
        std::ifstream in(good);
        j = json::parse(in);
    }
    GetParam().apply(j);
    const auto bad = dir.file("bad.json");
    std::ofstream(bad) << j.dump();
    auto r = load_model(bad);
    ASSERT_FALSE(r) << GetParam().name;
    EXPECT_EQ(r.error(), errc::parse_error) << GetParam().name;
    EXPECT_NE(r.detail().find(bad), std::string::npos) << r.detail();
}

json& tree0(json& j) { return j["trees"]["trees"][0]; }

INSTANTIATE_TEST_SUITE_P(
    prognostics, load_model_rejects,
    ::testing::Values(
        corruption{"wrong_format_tag", [](json& j) { j["format"] = "turbotwin-rul-model/2"; }},
        corruption{"missing_format_tag", [](json& j) { j.erase("format"); }},
        corruption{"not_an_object", [](json& j) { j = json::array({1, 2}); }},
        corruption{"missing_name", [](json& j) { j.erase("name"); }},
        corruption{"missing_trees", [](json& j) { j.erase("trees"); }},
        corruption{"string_rul_cap", [](json& j) { j["rul_cap"] = "125"; }},
        corruption{"hi_weights_too_short", [](json& j) { j["hi_weights"].erase(0); }},
        corruption{"hi_weights_too_long", [](json& j) { j["hi_weights"].push_back(1.0); }},
        corruption{"sensor_out_of_range", [](json& j) { j["channels"][0]["sensor"] = 21; }},
        corruption{"sensor_negative", [](json& j) { j["channels"][0]["sensor"] = -1; }},
        corruption{"filter_param_missing", [](json& j) { j["channels"][1]["filter"].erase("measurement_var"); }},
        corruption{"lo_offset_size", [](json& j) { j["calibration"]["lo_offset"].push_back(-1.0); }},
        corruption{"hi_offset_size", [](json& j) { j["calibration"]["hi_offset"].erase(0); }},
        corruption{"bin_upper_size", [](json& j) { j["calibration"]["bin_upper"].push_back(200.0); }},
        corruption{"empty_tree", [](json& j) {
                       for (const char* k : {"left", "right", "feature", "value", "default_left"}) tree0(j)[k] = json::array();
                   }},
        corruption{"right_size_mismatch", [](json& j) { tree0(j)["right"].erase(6); }},
        corruption{"value_size_mismatch", [](json& j) { tree0(j)["value"].push_back(0.0); }},
        corruption{"default_left_size_mismatch", [](json& j) { tree0(j)["default_left"].erase(0); }},
        corruption{"feature_size_mismatch", [](json& j) { tree0(j)["feature"].push_back(0); }},
        corruption{"left_child_out_of_range", [](json& j) { tree0(j)["left"][0] = 7; }},
        corruption{"right_child_out_of_range", [](json& j) { tree0(j)["right"][2] = 1000; }},
        corruption{"right_child_negative", [](json& j) { tree0(j)["right"][0] = -1; }},
        corruption{"left_child_points_backwards", [](json& j) { tree0(j)["left"][2] = 1; }},
        corruption{"right_child_points_backwards", [](json& j) { tree0(j)["right"][1] = 0; }},
        corruption{"child_points_to_itself", [](json& j) { tree0(j)["left"][1] = 1; }},
        corruption{"feature_out_of_range", [](json& j) { tree0(j)["feature"][0] = 4 + 3 * 5; /* feature_count, 5 channels */ }},
        corruption{"feature_negative", [](json& j) { tree0(j)["feature"][1] = -1; }}),
    [](const ::testing::TestParamInfo<corruption>& info) { return std::string(info.param.name); });

TEST(model_io, NotJsonIsAParseError) {
    testing_support::temp_dir dir("turbotwin-model-test");
    const auto path = dir.file("garbage.json");
    std::ofstream(path) << "{\"format\": \"turbotwin-rul-model/1\", ";
    auto r = load_model(path);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::parse_error);
}

// ---------------------------------------------------------------- the committed model

// The 470 kB model is parsed once for the suite (it dominates the run time in Debug builds).
class committed_model : public ::testing::Test {
protected:
    static void SetUpTestSuite() { loaded_ = new Result<rul_model>(load_model(committed_model_path)); }
    static void TearDownTestSuite() {
        delete loaded_;
        loaded_ = nullptr;
    }
    static const Result<rul_model>& loaded() { return *loaded_; }

private:
    static inline Result<rul_model>* loaded_ = nullptr;
};

TEST_F(committed_model, LoadsWithFourteenChannelsAndTrees) {
    const auto& m = loaded();
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m->channels.size(), 14u);
    EXPECT_EQ(m->hi_weights.size(), 14u);
    EXPECT_GT(m->trees.trees.size(), 0u);
    EXPECT_EQ(feature_count(*m), 4u + 3u * 14u);
    // Each channel's name agrees with its sensor index, and filters are proper.
    for (const auto& ch : m->channels) {
        ASSERT_LT(ch.sensor, sensor_count);
        EXPECT_EQ(ch.name, sensor_names[ch.sensor]);
        EXPECT_GT(ch.filter.measurement_var, 0.0) << ch.name;
        EXPECT_GE(ch.filter.level_process_var, 0.0) << ch.name;
        EXPECT_GE(ch.filter.slope_process_var, 0.0) << ch.name;
        EXPECT_GT(ch.filter.initial_level_var, 0.0) << ch.name;
    }
}

TEST_F(committed_model, CalibrationOffsetsAreOrdered) {
    const auto& m = loaded();
    ASSERT_TRUE(m) << m.message();
    const auto& c = m->calibration;
    ASSERT_FALSE(c.bin_upper.empty());
    EXPECT_TRUE(std::isinf(c.bin_upper.back()));
    for (std::size_t i = 0; i < c.bin_upper.size(); ++i) {
        if (i > 0) {
            EXPECT_LT(c.bin_upper[i - 1], c.bin_upper[i]) << i;
        }
        EXPECT_LT(c.lo_offset[i], 0.0) << i;
        EXPECT_GT(c.hi_offset[i], 0.0) << i;
    }
    EXPECT_GT(c.coverage, 0.0);
    EXPECT_LT(c.coverage, 1.0);
}

TEST_F(committed_model, PredictionsStayInsideTheInterval) {
    const auto& m = loaded();
    ASSERT_TRUE(m) << m.message();
    // Features from the filters' priors at various cycles: not a real engine, just a sweep
    // that must still obey the interval invariants.
    std::vector<estimation::trend_state> filters;
    for (const auto& ch : m->channels) filters.emplace_back(ch.filter);
    std::vector<float> f(feature_count(*m));
    std::vector<double> baselines;
    for (const auto& fl : filters) baselines.push_back(fl.level());
    for (std::int64_t cycle : {1, 50, 150, 300}) {
        compute_features(*m, cycle, filters, baselines, f);
        const auto e = predict(*m, f);
        EXPECT_TRUE(std::isfinite(e.rul));
        EXPECT_GE(e.rul_lo, 0.0);
        EXPECT_LE(e.rul_lo, e.rul);
        EXPECT_LE(e.rul, e.rul_hi);
    }
}

}  // namespace
}  // namespace turbotwin::prognostics
