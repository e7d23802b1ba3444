#include "turbotwin/estimation/trend_filter.hpp"

#include <gtest/gtest.h>

#include <Eigen/Cholesky>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "matrix_near.hpp"

namespace turbotwin::estimation {
namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double inf = std::numeric_limits<double>::infinity();

state_matrix transition(double dt) {
    state_matrix f;
    f << 1.0, dt, 0.0, 1.0;
    return f;
}

// Q(dt) written out independently of the implementation (Bar-Shalom et al. eq. 6.2.2-12 plus a
// level random walk).
state_matrix process_noise(const trend_filter_params& p, double dt) {
    const double q = p.slope_process_var;
    state_matrix m;
    m << p.level_process_var * dt + q * dt * dt * dt / 3.0, q * dt * dt / 2.0, q * dt * dt / 2.0, q * dt;
    return m;
}

trend_filter_params diffuse_no_process_noise(double measurement_var) {
    trend_filter_params p;
    p.measurement_var = measurement_var;
    p.level_process_var = 0.0;
    p.slope_process_var = 0.0;
    p.initial_level = 0.0;  // deliberately far from the data
    p.initial_level_var = 1e10;
    p.initial_slope_var = 1e10;
    return p;
}

bool same_bits(const state_vector& a, const state_vector& b) { return std::memcmp(a.data(), b.data(), sizeof(double) * 2) == 0; }
bool same_bits(const state_matrix& a, const state_matrix& b) { return std::memcmp(a.data(), b.data(), sizeof(double) * 4) == 0; }

TEST(trend_filter, StartsAtThePrior) {
    trend_filter_params p;
    p.initial_level = 641.8;
    p.initial_level_var = 0.25;
    p.initial_slope_var = 1e-4;
    trend_filter f(p);
    EXPECT_EQ(f.level(), 641.8);
    EXPECT_EQ(f.slope(), 0.0);
    state_matrix p0;
    p0 << 0.25, 0.0, 0.0, 1e-4;
    EXPECT_MATRIX_NEAR(f.covariance(), p0, 0.0);
    EXPECT_DOUBLE_EQ(f.level_std(), 0.5);
    EXPECT_DOUBLE_EQ(f.slope_std(), 0.01);
}

// (a) No process noise, diffuse prior, noise-free line: the state is the line itself.
TEST(trend_filter, NoiseFreeLineIsRecoveredExactly) {
    const double a = 641.82, b = 0.0375;
    const auto params = diffuse_no_process_noise(0.09);
    trend_filter f(params);
    update_info info;
    const int n = 60;
    for (int t = 1; t <= n; ++t) {
        // GIVEN reading t of the line a + b*t (first reading at dt = 0, then one cycle apart)
        ASSERT_TRUE(f.step(t == 1 ? 0.0 : 1.0, a + b * t, info));
        EXPECT_TRUE(info.applied);
    }
    // THEN level = a + b*t_n and slope = b
    EXPECT_NEAR(f.level(), a + b * n, 1e-6);
    EXPECT_NEAR(f.slope(), b, 1e-6);
    // and the last innovation was (nearly) zero: the line was already known.
    EXPECT_NEAR(info.innovation, 0.0, 1e-6);
}

// (b) One predict + update step against a hand-derived 2x2 computation.
TEST(trend_filter, OneStepMatchesHandComputation) {
    // GIVEN prior x0 = [10, 0], P0 = diag(4, 0.25), R = 1, level rw 0.5, q = 0.3
    trend_filter_params p;
    p.initial_level = 10.0;
    p.initial_level_var = 4.0;
    p.initial_slope_var = 0.25;
    p.measurement_var = 1.0;
    p.level_process_var = 0.5;
    p.slope_process_var = 0.3;
    trend_filter f(p);
    update_info info;
    // WHEN dt = 1 and z = 13
    ASSERT_TRUE(f.step(1.0, 13.0, info));
    // THEN by hand:
    //   x- = [10, 0]
    //   F P0 F' = [[4 + 0.25, 0.25], [0.25, 0.25]],  Q(1) = [[0.5 + 0.3/3, 0.15], [0.15, 0.3]]
    //   P- = [[4.85, 0.4], [0.4, 0.55]]
    //   S = 4.85 + 1 = 5.85, nu = 3, K = [4.85, 0.4] / 5.85
    //   x+ = x- + K nu,  P+ = P- - P-[:,0] P-[0,:] / S
    const double s = 5.85;
    state_vector x_expected;
    x_expected << 10.0 + 3.0 * 4.85 / s, 3.0 * 0.4 / s;
    state_matrix p_expected;
    p_expected << 4.85 - 4.85 * 4.85 / s, 0.4 - 4.85 * 0.4 / s,  //
        0.4 - 0.4 * 4.85 / s, 0.55 - 0.4 * 0.4 / s;
    EXPECT_TRUE(info.applied);
    EXPECT_NEAR(info.innovation, 3.0, 1e-12);
    EXPECT_NEAR(info.innovation_var, s, 1e-12);
    EXPECT_MATRIX_NEAR(f.state(), x_expected, 1e-12);
    EXPECT_MATRIX_NEAR(f.covariance(), p_expected, 1e-12);
    // Sanity on the hand numbers themselves: P+00 = R * P-00 / S.
    EXPECT_NEAR(p_expected(0, 0), 4.85 / 5.85, 1e-15);
}

TEST(trend_filter, SecondStepPropagatesTheSlopeIntoTheLevel) {
    // Continue the hand example one more step with a missing reading and dt = 2:
    // x- = F(2) x,  P- = F(2) P F(2)' + Q(2).
    trend_filter_params p;
    p.initial_level = 10.0;
    p.initial_level_var = 4.0;
    p.initial_slope_var = 0.25;
    p.measurement_var = 1.0;
    p.level_process_var = 0.5;
    p.slope_process_var = 0.3;
    trend_filter f(p);
    update_info info;
    ASSERT_TRUE(f.step(1.0, 13.0, info));
    const state_vector x1 = f.state();
    const state_matrix p1 = f.covariance();
    ASSERT_TRUE(f.step(2.0, nan, info));
    EXPECT_FALSE(info.applied);
    state_vector x2;
    x2 << x1(0) + 2.0 * x1(1), x1(1);
    state_matrix q2;  // [[0.5*2 + 0.3*8/3, 0.3*4/2], [0.3*4/2, 0.3*2]]
    q2 << 1.0 + 0.8, 0.6, 0.6, 0.6;
    const state_matrix p2 = transition(2.0) * p1 * transition(2.0).transpose() + q2;
    EXPECT_MATRIX_NEAR(f.state(), x2, 1e-12);
    EXPECT_MATRIX_NEAR(f.covariance(), p2, 1e-12);
}

// (c) q = 0 and a diffuse prior: the filter is recursive least squares, so its level and
// slope after n readings equal the OLS line through the same noisy data, evaluated at t_n.
TEST(trend_filter, EqualsOrdinaryLeastSquaresWithoutProcessNoise) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> noise(0.0, 0.3);
    const double a = 1589.7, b = 0.12;
    const int n = 300;
    std::vector<double> t(n), z(n);
    for (int i = 0; i < n; ++i) {
        t[i] = 1.0 + i + (i >= 100 ? 5.0 : 0.0);  // includes one 5-cycle gap
        z[i] = a + b * t[i] + noise(rng);
    }
    const auto params = diffuse_no_process_noise(0.09);
    trend_filter f(params);
    update_info info;
    for (int i = 0; i < n; ++i) ASSERT_TRUE(f.step(i == 0 ? 0.0 : t[i] - t[i - 1], z[i], info));

    // OLS with centred sums (long double for a reference well below the tolerance).
    long double tm = 0, zm = 0;
    for (int i = 0; i < n; ++i) { tm += t[i]; zm += z[i]; }
    tm /= n;
    zm /= n;
    long double sxy = 0, sxx = 0;
    for (int i = 0; i < n; ++i) {
        sxy += (t[i] - tm) * (z[i] - zm);
        sxx += (t[i] - tm) * (t[i] - tm);
    }
    const double slope_ols = double(sxy / sxx);
    const double level_ols = double(zm + (sxy / sxx) * (t[n - 1] - tm));
    EXPECT_NEAR(f.slope(), slope_ols, 1e-6 * std::abs(slope_ols));
    EXPECT_NEAR(f.level(), level_ols, 1e-6 * std::abs(level_ols));
    // The covariance is the OLS covariance too: var(slope) = R / Sxx.
    EXPECT_NEAR(f.covariance()(1, 1), 0.09 / double(sxx), 1e-6 * 0.09 / double(sxx));
    // And the noise is real: OLS is not simply the true line.
    EXPECT_GT(std::abs(slope_ols - b) + std::abs(level_ols - (a + b * t[n - 1])), 1e-4);
}

// (d) A missing reading only predicts.
TEST(trend_filter, NanMeasurementOnlyPredicts) {
    trend_filter_params p;
    p.initial_level = 100.0;
    p.initial_level_var = 1.0;
    p.measurement_var = 0.5;
    p.slope_process_var = 1e-3;
    p.level_process_var = 1e-2;
    trend_filter f(p);
    update_info info;
    ASSERT_TRUE(f.step(0.0, 101.0, info));
    ASSERT_TRUE(f.step(1.0, 102.5, info));  // gives the filter a non-zero slope
    ASSERT_NE(f.slope(), 0.0);
    const state_vector x = f.state();
    const state_matrix cov = f.covariance();

    ASSERT_TRUE(f.step(1.0, nan, info));
    EXPECT_FALSE(info.applied);
    EXPECT_EQ(info.innovation, 0.0);
    EXPECT_EQ(info.innovation_var, 0.0);
    EXPECT_DOUBLE_EQ(f.level(), x(0) + x(1) * 1.0);
    EXPECT_EQ(f.slope(), x(1));
    EXPECT_GT(f.covariance()(0, 0), cov(0, 0));
    EXPECT_GT(f.covariance()(1, 1), cov(1, 1));
    const state_matrix expected = transition(1.0) * cov * transition(1.0).transpose() + process_noise(p, 1.0);
    EXPECT_MATRIX_NEAR(f.covariance(), expected, 1e-12);
}

TEST(trend_filter, NanMeasurementWithZeroDtChangesNothing) {
    const trend_filter_params defaults;
    trend_filter f(defaults);
    const state_vector x = f.state();
    const state_matrix cov = f.covariance();
    update_info info;
    ASSERT_TRUE(f.step(0.0, nan, info));
    EXPECT_FALSE(info.applied);
    EXPECT_TRUE(same_bits(f.state(), x));
    EXPECT_TRUE(same_bits(f.covariance(), cov));
}

// (e) Gaps: Q(dt) is the exact discretisation, so a k-cycle gap equals k one-cycle predictions.
TEST(trend_filter, GapEqualsRepeatedSingleCyclePredictions) {
    trend_filter_params p;
    p.initial_level = 47.5;
    p.initial_level_var = 0.04;
    p.measurement_var = 0.07;
    p.level_process_var = 2e-4;
    p.slope_process_var = 3e-5;
    p.initial_slope_var = 1e-5;
    for (double gap : {2.0, 3.0, 7.0, 25.0}) {
        trend_filter jump(p), walk(p);
        update_info info;
        for (trend_filter* f : {&jump, &walk}) {
            ASSERT_TRUE(f->step(0.0, 47.4, info));
            ASSERT_TRUE(f->step(1.0, 47.7, info));
        }
        // WHEN one filter jumps the gap in one step and the other walks it one cycle at a time
        ASSERT_TRUE(jump.step(gap, 48.3, info));
        const double nu_jump = info.innovation, s_jump = info.innovation_var;
        for (int k = 1; k < int(gap); ++k) ASSERT_TRUE(walk.step(1.0, nan, info));
        ASSERT_TRUE(walk.step(1.0, 48.3, info));
        // THEN they agree
        EXPECT_NEAR(info.innovation, nu_jump, 1e-9) << gap;
        EXPECT_NEAR(info.innovation_var, s_jump, 1e-9) << gap;
        EXPECT_MATRIX_NEAR(jump.state(), walk.state(), 1e-9);
        EXPECT_MATRIX_NEAR(jump.covariance(), walk.covariance(), 1e-12);
    }
}

TEST(trend_filter, GapPredictionMatchesClosedForm) {
    trend_filter_params p;
    p.initial_level = 5.0;
    p.initial_level_var = 2.0;
    p.initial_slope_var = 0.5;
    p.level_process_var = 0.1;
    p.slope_process_var = 0.2;
    trend_filter f(p);
    update_info info;
    const double dt = 4.0;
    ASSERT_TRUE(f.step(dt, nan, info));
    // F P0 F' with P0 = diag(2, 0.5), dt = 4: [[2 + 16*0.5, 4*0.5], [4*0.5, 0.5]] = [[10, 2], [2, 0.5]]
    // Q(4) = [[0.1*4 + 0.2*64/3, 0.2*16/2], [0.2*16/2, 0.2*4]] = [[0.4 + 12.8/3, 1.6], [1.6, 0.8]]
    state_matrix expected;
    expected << 10.0 + 0.4 + 12.8 / 3.0, 2.0 + 1.6, 2.0 + 1.6, 0.5 + 0.8;
    EXPECT_MATRIX_NEAR(f.covariance(), expected, 1e-12);
    EXPECT_EQ(f.level(), 5.0);  // slope mean is 0: the level does not move
}

// (f) Joseph form: P stays symmetric positive definite over a long run, including long gaps,
// tiny process noise and wildly different scales.
TEST(trend_filter, CovarianceStaysSymmetricPositiveDefinite) {
    std::mt19937_64 rng(2024);
    std::normal_distribution<double> gauss(0.0, 1.0);
    std::uniform_int_distribution<int> gap(1, 4);
    std::bernoulli_distribution drop(0.15);
    // Parameters as fitted for T24 in models/fd001.json, and an extreme, badly scaled variant.
    trend_filter_params t24;
    t24.measurement_var = 0.0903938629707863;
    t24.level_process_var = 2.330345450465223e-07;
    t24.slope_process_var = 7.648711482143456e-07;
    t24.initial_level = 642.37361;
    t24.initial_level_var = 0.06339676555555539;
    t24.initial_slope_var = 2.3303454504652222e-11;
    trend_filter_params extreme = t24;
    extreme.measurement_var = 1e-8;
    extreme.slope_process_var = 1e-14;
    extreme.level_process_var = 0.0;
    extreme.initial_level_var = 1e8;
    for (const auto& p : {t24, extreme}) {
        trend_filter f(p);
        update_info info;
        double truth = p.initial_level;
        for (int k = 0; k < 10000; ++k) {
            const int dt = k == 0 ? 0 : gap(rng);
            truth += 0.001 * dt;
            const double z = drop(rng) ? nan : truth + std::sqrt(p.measurement_var) * gauss(rng);
            ASSERT_TRUE(f.step(dt, z, info)) << "step " << k;
            const state_matrix& c = f.covariance();
            ASSERT_TRUE(c.allFinite()) << "step " << k;
            ASSERT_NEAR(c(0, 1), c(1, 0), 1e-12 * (std::abs(c(0, 1)) + c(0, 0) + c(1, 1))) << "step " << k;
            // A symmetric 2x2 matrix is positive definite iff P00 > 0 and det P > 0.
            ASSERT_GT(c(0, 0), 0.0) << "step " << k;
            ASSERT_GT(c(1, 1), 0.0) << "step " << k;
            ASSERT_GT(c(0, 0) * c(1, 1) - c(0, 1) * c(1, 0), 0.0) << "step " << k << "\n" << c;
        }
        // It also tracked: the level estimate ends near the truth.
        EXPECT_NEAR(f.level(), truth, 10.0 * f.level_std() + 1e-3);
    }
}

// (g) On data drawn from the model itself, normalised innovations are white N(0, 1).
TEST(trend_filter, NormalisedInnovationsAreStandardNormalOnModelData) {
    trend_filter_params p;
    p.measurement_var = 0.25;
    p.level_process_var = 0.01;
    p.slope_process_var = 1e-4;
    p.initial_level = 550.0;
    p.initial_level_var = 4.0;
    p.initial_slope_var = 1e-2;
    std::mt19937_64 rng(123456789);
    std::normal_distribution<double> gauss(0.0, 1.0);
    const Eigen::LLT<state_matrix> q_chol(process_noise(p, 1.0));
    ASSERT_EQ(q_chol.info(), Eigen::Success);
    const state_matrix lq = q_chol.matrixL();

    // x0 ~ N([initial_level, 0], diag(P0)) exactly as the filter's prior says.
    state_vector x;
    x << p.initial_level + std::sqrt(p.initial_level_var) * gauss(rng), std::sqrt(p.initial_slope_var) * gauss(rng);
    trend_filter f(p);
    update_info info;
    const int n = 20000;
    double sum = 0, sum_sq = 0, sum_lag = 0, prev = 0;
    for (int k = 0; k < n; ++k) {
        if (k > 0) {
            // x = F(1) x + L w with L the Cholesky factor of Q(1) (scalar form: this loop runs
            // 20,000 times and Eigen is slow in Debug builds).
            const double w0 = gauss(rng), w1 = gauss(rng);
            const double level = x(0) + x(1) + lq(0, 0) * w0;
            const double slope = x(1) + lq(1, 0) * w0 + lq(1, 1) * w1;
            x << level, slope;
        }
        const double z = x(0) + std::sqrt(p.measurement_var) * gauss(rng);
        ASSERT_TRUE(f.step(k == 0 ? 0.0 : 1.0, z, info));
        ASSERT_TRUE(info.applied);
        const double e = info.innovation / std::sqrt(info.innovation_var);
        sum += e;
        sum_sq += e * e;
        if (k > 0) sum_lag += e * prev;
        prev = e;
    }
    const double mean = sum / n;
    const double var = sum_sq / n - mean * mean;
    const double lag1 = sum_lag / (n - 1);
    // Standard errors: mean 1/sqrt(n) = 0.0071, variance sqrt(2/n) = 0.010, lag-1 corr 0.0071.
    // Tolerances are ~4 standard errors; a wrong Q, R or gain shifts these far more.
    EXPECT_NEAR(mean, 0.0, 0.03);
    EXPECT_NEAR(var, 1.0, 0.04);
    EXPECT_NEAR(lag1, 0.0, 0.03);
}

TEST(trend_filter, MismatchedNoiseIsDetectedByTheSameStatistic) {
    // Control for the test above: the same check must fail when the filter's R is 4x too small.
    trend_filter_params truth;
    truth.measurement_var = 1.0;
    truth.level_process_var = 0.0;
    truth.slope_process_var = 1e-6;
    truth.initial_level = 0.0;
    truth.initial_level_var = 1.0;
    truth.initial_slope_var = 1e-4;
    trend_filter_params wrong = truth;
    wrong.measurement_var = 0.25;
    std::mt19937_64 rng(99);
    std::normal_distribution<double> gauss(0.0, 1.0);
    trend_filter f(wrong);
    update_info info;
    double sum_sq = 0;
    const int n = 5000;
    for (int k = 0; k < n; ++k) {
        ASSERT_TRUE(f.step(k == 0 ? 0.0 : 1.0, gauss(rng), info));
        sum_sq += info.innovation * info.innovation / info.innovation_var;
    }
    EXPECT_GT(sum_sq / n, 2.0);
}

// (h) Numerical trouble: false, and the state is left exactly as it was.
TEST(trend_filter, NonFiniteMeasurementIsRejectedWithoutSideEffects) {
    trend_filter_params p;
    p.initial_level = 9060.0;
    trend_filter f(p);
    update_info info;
    ASSERT_TRUE(f.step(0.0, 9061.0, info));
    ASSERT_TRUE(f.step(1.0, 9062.0, info));
    const state_vector x = f.state();
    const state_matrix cov = f.covariance();
    for (double z : {inf, -inf}) {
        for (double dt : {0.0, 1.0, 3.0}) {
            EXPECT_FALSE(f.step(dt, z, info)) << z << " dt " << dt;
            EXPECT_TRUE(same_bits(f.state(), x));
            EXPECT_TRUE(same_bits(f.covariance(), cov));
            EXPECT_FALSE(info.applied);
        }
    }
    // The filter still works afterwards.
    EXPECT_TRUE(f.step(1.0, 9063.0, info));
    EXPECT_TRUE(info.applied);
}

TEST(trend_filter, InfiniteDtIsRejectedWithoutSideEffects) {
    const trend_filter_params defaults;
    trend_filter f(defaults);
    update_info info;
    ASSERT_TRUE(f.step(0.0, 0.5, info));
    const state_vector x = f.state();
    const state_matrix cov = f.covariance();
    EXPECT_FALSE(f.step(inf, 0.5, info));
    EXPECT_FALSE(f.step(inf, nan, info));
    EXPECT_TRUE(same_bits(f.state(), x));
    EXPECT_TRUE(same_bits(f.covariance(), cov));
}

TEST(trend_filter, ZeroInnovationVarianceIsRejected) {
    // R = 0 and an exactly known level: S = 0, the gain is undefined.
    trend_filter_params p;
    p.measurement_var = 0.0;
    p.initial_level_var = 0.0;
    p.initial_level = 1.0;
    trend_filter f(p);
    const state_vector x = f.state();
    const state_matrix cov = f.covariance();
    update_info info;
    EXPECT_FALSE(f.step(0.0, 2.0, info));
    EXPECT_TRUE(same_bits(f.state(), x));
    EXPECT_TRUE(same_bits(f.covariance(), cov));
}

TEST(trend_filter, OverflowingStateIsRejected) {
    trend_filter_params p;
    p.initial_level = 0.0;
    p.initial_level_var = 1e308;
    p.measurement_var = 1e308;
    trend_filter f(p);
    const state_vector x = f.state();
    const state_matrix cov = f.covariance();
    update_info info;
    // S = P00 + R overflows to +inf.
    EXPECT_FALSE(f.step(0.0, 1.0, info));
    EXPECT_TRUE(same_bits(f.state(), x));
    EXPECT_TRUE(same_bits(f.covariance(), cov));
}

TEST(trend_filter, ExpectGivesWhatStepJudgesTheReadingAgainst) {
    trend_filter_params params;
    params.measurement_var = 0.25;
    params.level_process_var = 1e-3;
    params.slope_process_var = 1e-4;
    params.initial_level = 10.0;
    trend_filter f(params);
    update_info info;
    for (int k = 1; k <= 5; ++k) ASSERT_TRUE(f.step(1.0, 10.0 + 0.1 * k, info));
    for (double dt : {0.0, 1.0, 3.0}) {
        const auto expected = f.core().expect(params, dt);
        trend_filter copy = f;
        ASSERT_TRUE(copy.step(dt, 12.0, info));
        EXPECT_NEAR(expected.innovation_var, info.innovation_var, 1e-12 * info.innovation_var) << dt;
        EXPECT_NEAR(12.0 - expected.level, info.innovation, 1e-12) << dt;
    }
}

}  // namespace
}  // namespace turbotwin::estimation
