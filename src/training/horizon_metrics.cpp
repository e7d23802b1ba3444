#include "turbotwin/training/horizon_metrics.hpp"

#include <cmath>

#include "turbotwin/training/evaluate.hpp"

namespace turbotwin::training {

std::optional<double> end_of_life(const engine_trace& trace) {
    const std::size_t n = trace.cycle.size();
    if (n == 0 || trace.truth.size() != n || trace.rul.size() != n) return std::nullopt;
    return double(trace.cycle.back()) + trace.truth.back();
}

std::optional<bool> alpha_lambda_holds(const engine_trace& trace, double alpha, double lambda) {
    const auto eol = end_of_life(trace);
    if (!eol) return std::nullopt;
    const double first_prediction = double(trace.cycle.front());
    const double t_lambda = first_prediction + lambda * (*eol - first_prediction);
    for (std::size_t i = 0; i < trace.cycle.size(); ++i) {
        if (double(trace.cycle[i]) < t_lambda) continue;
        const double truth = trace.truth[i];
        return (1.0 - alpha) * truth <= trace.rul[i] && trace.rul[i] <= (1.0 + alpha) * truth;
    }
    return std::nullopt;
}

std::optional<double> prognostic_horizon(const engine_trace& trace, double ph_alpha) {
    const auto eol = end_of_life(trace);
    if (!eol) return std::nullopt;
    const double half_width = ph_alpha * *eol;
    // Walk back from failure while the estimate stays in the band: the last index left inside
    // is where the estimate entered it for good. A NaN estimate fails the test, as it should.
    std::size_t entered = trace.cycle.size();
    while (entered > 0 && std::abs(trace.rul[entered - 1] - trace.truth[entered - 1]) <= half_width) --entered;
    if (entered == trace.cycle.size()) return 0.0;
    return *eol - double(trace.cycle[entered]);
}

horizon_summary summarise_horizon(const std::vector<engine_trace>& traces, const horizon_settings& settings, int fold) {
    horizon_summary s;
    std::array<std::size_t, 3> holds{};
    std::vector<double> horizons;
    for (const auto& t : traces) {
        if (fold > 0 && t.fold != fold) continue;
        if (!end_of_life(t)) continue;
        ++s.engines;
        for (std::size_t k = 0; k < settings.lambdas.size(); ++k) {
            if (const auto ok = alpha_lambda_holds(t, settings.alpha, settings.lambdas[k])) {
                ++s.judged[k];
                if (*ok) ++holds[k];
            }
        }
        if (const auto ph = prognostic_horizon(t, settings.ph_alpha)) horizons.push_back(*ph);
    }
    for (std::size_t k = 0; k < holds.size(); ++k)
        s.alpha_lambda[k] = s.judged[k] ? double(holds[k]) / double(s.judged[k]) : 0.0;
    s.ph_median = percentile(horizons, 50);
    s.ph_p05 = percentile(horizons, 5);
    return s;
}

}  // namespace turbotwin::training
