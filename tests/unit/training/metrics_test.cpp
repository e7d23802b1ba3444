// The accuracy metrics evaluate prints, against values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "turbotwin/training/evaluate.hpp"

namespace {

using namespace turbotwin::training;

TEST(Phm08, ZeroErrorCostsNothing) { EXPECT_DOUBLE_EQ(phm08(0.0), 0.0); }

TEST(Phm08, LateUsesTenEarlyThirteen) {
    // Late by 10: exp(10/10) - 1 = e - 1 = 1.7182818...; early by 13: exp(13/13) - 1, the same.
    EXPECT_NEAR(phm08(10.0), 1.718281828459045, 1e-12);
    EXPECT_NEAR(phm08(-13.0), 1.718281828459045, 1e-12);
    // Late by 20: e^2 - 1 = 6.3890560989...
    EXPECT_NEAR(phm08(20.0), 6.38905609893065, 1e-12);
}

TEST(Phm08, LateCostsMoreThanEarlyBySameAmount) {
    // Early by 10: exp(10/13) - 1 = exp(0.7692307...) - 1 = 1.1581055...
    EXPECT_NEAR(phm08(-10.0), 1.1581055339484458, 1e-12);
    EXPECT_GT(phm08(10.0), phm08(-10.0));
}

TEST(ScorePoints, EmptyGivesZeroCount) {
    const auto a = score_points({});
    EXPECT_EQ(a.n, 0u);
    EXPECT_EQ(a.rmse, 0.0);
}

TEST(ScorePoints, HandComputedFourPoints) {
    // GIVEN four scored points (engine, cycle, truth, rul, lo, hi)
    const std::vector<scored_point> pts = {
        {1, 100, 50, 60, 40, 70},    // d = +10, truth inside [40, 70],   width 30
        {2, 100, 20, 7, 10, 30},     // d = -13, truth inside [10, 30],   width 20
        {3, 100, 100, 100, 101, 120},// d =   0, truth below [101, 120],  width 19
        {4, 100, 30, 35, 0, 29},     // d =  +5, truth above [0, 29],     width 29
    };
    // WHEN scored
    const auto a = score_points(pts);
    // THEN
    EXPECT_EQ(a.n, 4u);
    // RMSE = sqrt((100 + 169 + 0 + 25) / 4) = sqrt(73.5) = 8.5732141
    EXPECT_NEAR(a.rmse, 8.573214099741124, 1e-12);
    // bias = (10 - 13 + 0 + 5) / 4 = 0.5
    EXPECT_NEAR(a.bias, 0.5, 1e-12);
    // score = (e - 1) + (e - 1) + 0 + (e^0.5 - 1) = 3.4365637 + 0.6487213 = 4.0852850
    EXPECT_NEAR(a.score, 2 * 1.718281828459045 + 0.6487212707001282, 1e-12);
    // per 100 trajectories: 4.0852850 / 4 * 100 = 102.132123
    EXPECT_NEAR(a.score_per_100, 102.13212319045546, 1e-9);
    // coverage = 2 of 4; mean width = (30 + 20 + 19 + 29) / 4 = 24.5
    EXPECT_DOUBLE_EQ(a.coverage, 0.5);
    EXPECT_DOUBLE_EQ(a.mean_width, 24.5);
}

TEST(ScorePoints, IntervalEndsCountAsCovered) {
    // The truth exactly on lo or hi is inside the closed interval.
    const auto a = score_points({{1, 1, 10, 12, 10, 14}, {2, 1, 14, 12, 10, 14}});
    EXPECT_DOUBLE_EQ(a.coverage, 1.0);
}

TEST(Percentile, LinearInterpolationBetweenOrderStatistics) {
    // Sorted {10, 20, 30, 40}; position p/100 * (n - 1).
    const std::vector<double> v = {40, 10, 30, 20};
    EXPECT_DOUBLE_EQ(percentile(v, 0), 10);
    EXPECT_DOUBLE_EQ(percentile(v, 100), 40);
    // p50: position 1.5 -> 20 * 0.5 + 30 * 0.5 = 25
    EXPECT_DOUBLE_EQ(percentile(v, 50), 25);
    // p5: position 0.15 -> 10 * 0.85 + 20 * 0.15 = 11.5
    EXPECT_NEAR(percentile(v, 5), 11.5, 1e-12);
    // p90: position 2.7 -> 30 * 0.3 + 40 * 0.7 = 37
    EXPECT_NEAR(percentile(v, 90), 37, 1e-12);
}

TEST(Percentile, EmptyAndSingle) {
    EXPECT_EQ(percentile({}, 50), 0.0);
    EXPECT_EQ(percentile({7}, 5), 7.0);
    EXPECT_EQ(percentile({7}, 95), 7.0);
}

}  // namespace
