// Alpha-lambda accuracy and the prognostic horizon on hand-made traces (definitions in
// horizon_metrics.hpp).
#include <gtest/gtest.h>

#include <functional>

#include "turbotwin/training/evaluate.hpp"
#include "turbotwin/training/horizon_metrics.hpp"

namespace {

using namespace turbotwin::training;

// A run-to-failure trace on the given cycles (true RUL eol - cycle), the estimate given by
// `estimate(truth)`.
engine_trace trace_on(const std::vector<std::int64_t>& cycles, std::int64_t eol,
                      const std::function<double(double)>& estimate, int fold = 1) {
    engine_trace t;
    t.fold = fold;
    for (std::int64_t c : cycles) {
        const double truth = double(eol - c);
        t.cycle.push_back(c);
        t.truth.push_back(truth);
        t.rul.push_back(estimate(truth));
        t.lo.push_back(t.rul.back() - 10);
        t.hi.push_back(t.rul.back() + 10);
    }
    return t;
}

// The same on every cycle first..eol.
engine_trace make_trace(std::int64_t first, std::int64_t eol, const std::function<double(double)>& estimate, int fold = 1) {
    std::vector<std::int64_t> cycles;
    for (std::int64_t c = first; c <= eol; ++c) cycles.push_back(c);
    return trace_on(cycles, eol, estimate, fold);
}

const auto perfect = [](double truth) { return truth; };
const auto late_by_30 = [](double truth) { return truth + 30; };
// 30 cycles late until the last 60 cycles of life, then 10 late.
const auto converging = [](double truth) { return truth > 60 ? truth + 30 : truth + 10; };

TEST(AlphaLambda, PerfectPredictorHoldsAtEveryLambda) {
    const auto t = make_trace(1, 200, perfect);
    for (double lambda : {0.0, 0.25, 0.5, 0.75, 1.0}) EXPECT_EQ(alpha_lambda_holds(t, 0.2, lambda), true) << lambda;
}

TEST(AlphaLambda, ThirtyLateHandComputed) {
    // EOL 250, t_P 1, alpha 0.2: the estimate is inside the cone when 30 <= 0.2 * truth, i.e. truth >= 150.
    const auto t = make_trace(1, 250, late_by_30);
    // lambda 0.25: t = 1 + 0.25 * 249 = 63.25 -> cycle 64, truth 186, estimate 216 <= 1.2 * 186 = 223.2: holds.
    EXPECT_EQ(alpha_lambda_holds(t, 0.2, 0.25), true);
    // lambda 0.5: t = 1 + 0.5 * 249 = 125.5 -> cycle 126, truth 124, estimate 154 > 148.8: fails.
    EXPECT_EQ(alpha_lambda_holds(t, 0.2, 0.5), false);
    // lambda 0.75: t = 187.75 -> cycle 188, truth 62, estimate 92 > 74.4: fails.
    EXPECT_EQ(alpha_lambda_holds(t, 0.2, 0.75), false);
    // EOL 200: lambda 0.25 gives t = 50.75 -> cycle 51, truth 149, estimate 179 > 178.8: just fails.
    EXPECT_EQ(alpha_lambda_holds(make_trace(1, 200, late_by_30), 0.2, 0.25), false);
}

TEST(AlphaLambda, EarlyIsJudgedByTheLowerBound) {
    // 30 early at EOL 250, lambda 0.25: cycle 64, truth 186, estimate 156 >= 0.8 * 186 = 148.8: holds;
    // lambda 0.5: truth 124, estimate 94 < 99.2: fails.
    const auto t = make_trace(1, 250, [](double truth) { return truth - 30; });
    EXPECT_EQ(alpha_lambda_holds(t, 0.2, 0.25), true);
    EXPECT_EQ(alpha_lambda_holds(t, 0.2, 0.5), false);
}

TEST(AlphaLambda, StartsAtFirstPredictionAndTakesNextAvailableCycle) {
    // GIVEN predictions from cycle 31 to failure at 200, exact except a bad one at cycle 116
    auto t = make_trace(31, 200, perfect);
    // t_lambda = 31 + 0.5 * (200 - 31) = 115.5 -> cycle 116 (index 85)
    ASSERT_EQ(t.cycle[85], 116);
    t.rul[85] = t.truth[85] * 1.5;
    // THEN the criterion is judged there (a t_P of cycle 1 would have looked at cycle 101 and passed)
    EXPECT_EQ(alpha_lambda_holds(t, 0.2, 0.5), false);

    // GIVEN a gap in the predictions over cycles 111..119 (the twin rejected those readings),
    // and a bad estimate at cycle 120
    std::vector<std::int64_t> cycles;
    for (std::int64_t c = 31; c <= 200; ++c)
        if (c < 111 || c > 119) cycles.push_back(c);
    auto gap = trace_on(cycles, 200, perfect);
    const std::size_t at_120 = 110 - 31 + 1;
    ASSERT_EQ(gap.cycle[at_120], 120);
    gap.rul[at_120] = gap.truth[at_120] * 1.5;
    // THEN the next available prediction, at cycle 120, is the one judged
    EXPECT_EQ(alpha_lambda_holds(gap, 0.2, 0.5), false);
    gap.rul[at_120] = gap.truth[at_120] * 1.1;
    EXPECT_EQ(alpha_lambda_holds(gap, 0.2, 0.5), true);
}

TEST(AlphaLambda, UndefinedForEmptyOrShortTraces) {
    EXPECT_FALSE(alpha_lambda_holds(engine_trace{}, 0.2, 0.5).has_value());
    // A record that stops 50 cycles before failure has no prediction at lambda 0.75
    // (t = 1 + 0.75 * 199 = 150.25, last cycle 150).
    auto cut = make_trace(1, 200, perfect);
    cut.cycle.resize(150);
    cut.truth.resize(150);
    cut.rul.resize(150);
    ASSERT_EQ(end_of_life(cut), 200.0);
    EXPECT_FALSE(alpha_lambda_holds(cut, 0.2, 0.75).has_value());
    EXPECT_EQ(alpha_lambda_holds(cut, 0.2, 0.5), true);
    // Columns of different lengths are not judged.
    auto broken = make_trace(1, 200, perfect);
    broken.rul.pop_back();
    EXPECT_FALSE(alpha_lambda_holds(broken, 0.2, 0.5).has_value());
    EXPECT_FALSE(prognostic_horizon(broken, 0.1).has_value());
}

TEST(PrognosticHorizon, PerfectPredictorGetsTheWholePredictedLife) {
    // PH = EOL - t_P = 200 - 1
    EXPECT_EQ(prognostic_horizon(make_trace(1, 200, perfect), 0.1), 199.0);
    EXPECT_EQ(prognostic_horizon(make_trace(31, 200, perfect), 0.1), 169.0);
}

TEST(PrognosticHorizon, ThirtyLateHandComputed) {
    // EOL 250: alpha_ph 0.1 gives a band of +-25 cycles; 30 late is never inside: PH = 0.
    EXPECT_EQ(prognostic_horizon(make_trace(1, 250, late_by_30), 0.1), 0.0);
    // alpha_ph 0.15: +-37.5, always inside: PH = 250 - 1 = 249.
    EXPECT_EQ(prognostic_horizon(make_trace(1, 250, late_by_30), 0.15), 249.0);
    // Converging: inside (10 late) from truth 60, cycle 190, to failure: PH = 250 - 190 = 60.
    EXPECT_EQ(prognostic_horizon(make_trace(1, 250, converging), 0.1), 60.0);
}

TEST(PrognosticHorizon, MustStayInsideOnceEntered) {
    // Exact except a 40-cycle miss at cycle 200 (EOL 250, band +-25): the horizon starts after
    // it, at cycle 201: PH = 250 - 201 = 49.
    auto t = make_trace(1, 250, perfect);
    t.rul[199] += 40;
    ASSERT_EQ(t.cycle[199], 200);
    EXPECT_EQ(prognostic_horizon(t, 0.1), 49.0);
    // A miss at failure itself leaves no horizon.
    auto last = make_trace(1, 250, perfect);
    last.rul.back() = 30;
    EXPECT_EQ(prognostic_horizon(last, 0.1), 0.0);
}

TEST(SummariseHorizon, SharesAndPercentilesOverEngines) {
    const std::vector<engine_trace> traces = {
        make_trace(1, 250, perfect, 1),     // PH 249; alpha-lambda holds at 0.25, 0.5, 0.75
        make_trace(1, 250, late_by_30, 1),  // PH 0;   holds at 0.25 only
        make_trace(1, 250, converging, 2),  // PH 60;  30 late at cycles 64, 126 and 188 (truth 62): holds at 0.25 only
    };
    const auto all = summarise_horizon(traces);
    EXPECT_EQ(all.engines, 3u);
    EXPECT_EQ(all.judged[1], 3u);
    EXPECT_DOUBLE_EQ(all.alpha_lambda[0], 1.0);
    EXPECT_DOUBLE_EQ(all.alpha_lambda[1], 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(all.alpha_lambda[2], 1.0 / 3.0);
    // PH sorted {0, 60, 249}: median 60; p05 at position 0.1 -> 0 * 0.9 + 60 * 0.1 = 6.
    EXPECT_DOUBLE_EQ(all.ph_median, 60.0);
    EXPECT_NEAR(all.ph_p05, 6.0, 1e-12);

    const auto fold2 = summarise_horizon(traces, {}, 2);
    EXPECT_EQ(fold2.engines, 1u);
    EXPECT_DOUBLE_EQ(fold2.alpha_lambda[1], 0.0);
    EXPECT_DOUBLE_EQ(fold2.ph_median, 60.0);
}

}  // namespace
