#pragma once
/// Prognostic metrics over whole run-to-failure traces: alpha-lambda accuracy and the
/// prognostic horizon, after Saxena, Celaya, Balaban, Goebel, Saha, Saha and Schwabacher,
/// "Metrics for evaluating performance of prognostic techniques", PHM 2008, and its
/// follow-up, Saxena, Celaya, Saha, Saha and Goebel, "Metrics for offline evaluation of
/// prognostic performance", IJPHM 2010 (where the horizon's bounds are a fixed share of the
/// end of life). We could not check the papers' equation numbers, so the definitions are
/// spelled out here in full instead of cited by number.
///
/// Notation, per engine (an engine_trace):
///   EOL        end of life: the failure cycle, cycle[i] + truth[i] (the same for every i)
///   t_P        first prediction cycle: cycle[0]
///   r*(t)      true RUL at cycle t (truth), r(t) the point estimate (rul)
///
/// Alpha-lambda accuracy (alpha = 0.2; lambda = 0.5, plus 0.25 and 0.75):
///   t_lambda = t_P + lambda * (EOL - t_P); the prediction used is the one at the first cycle
///   t >= t_lambda (the nearest prediction at or after it). It holds when
///       (1 - alpha) * r*(t) <= r(t) <= (1 + alpha) * r*(t),
///   a cone that narrows towards failure. Reported as the share of engines where it holds.
///   Only the point estimate is judged; the 90% interval is scored by coverage elsewhere.
///
/// Prognostic horizon (alpha_ph = 0.1):
///   bounds r*(t) +- alpha_ph * EOL, a band of constant width around the truth. With i the first
///   trace index from which every prediction (i, i+1, ..., last) stays inside the band,
///       PH = EOL - cycle[i];
///   PH = 0 when the last prediction is outside. This is the strict reading (the estimate must
///   stay in the band once it enters), so a predictor that wanders in and out early gets the
///   horizon of its last entry. A perfect predictor gets PH = EOL - t_P, the whole predicted life.
///   Reported as median and 5th percentile over engines, in cycles.
#include <array>
#include <cstddef>
#include <optional>
#include <vector>

namespace turbotwin::training {

struct engine_trace;  // evaluate.hpp

/// Parameters of the horizon metrics (the defaults are the ones evaluate reports).
struct horizon_settings {
    double alpha = 0.2;                                 ///< alpha-lambda cone: +-20% of true RUL
    std::array<double, 3> lambdas = {0.25, 0.5, 0.75};  ///< fractions of the predicted life
    double ph_alpha = 0.1;                              ///< horizon band: +-10% of EOL, cycles
};

/// The lambda the target is about (0.5): index into horizon_settings::lambdas.
inline constexpr std::size_t headline_lambda = 1;

/// End of life of a trace, cycle + true RUL at its last point; nullopt when the trace is empty
/// or its columns differ in length (nothing to judge).
std::optional<double> end_of_life(const engine_trace& trace);

/// Whether the alpha-lambda criterion holds for one engine; nullopt when end_of_life is, or
/// when the trace stops before t_lambda (a record that ends short of failure).
std::optional<bool> alpha_lambda_holds(const engine_trace& trace, double alpha, double lambda);

/// Prognostic horizon of one engine in cycles; nullopt when end_of_life is.
std::optional<double> prognostic_horizon(const engine_trace& trace, double ph_alpha);

/// The metrics over a set of engines.
struct horizon_summary {
    std::size_t engines = 0;                   ///< traces considered (non-empty)
    std::array<double, 3> alpha_lambda{};      ///< share of judged engines that hold, per lambda
    std::array<std::size_t, 3> judged{};       ///< engines for which each criterion was defined
    double ph_median = 0, ph_p05 = 0;          ///< prognostic horizon over engines, cycles
};

/// Summarises traces; fold > 0 keeps only that fold's engines (engine_trace::fold), 0 all.
horizon_summary summarise_horizon(const std::vector<engine_trace>& traces, const horizon_settings& settings = {},
                                  int fold = 0);

}  // namespace turbotwin::training
