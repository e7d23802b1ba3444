#pragma once
/// Honest accuracy: cross-validation by engine, held-out trajectories truncated at random
/// points (true RUL 1..150, at least 31 cycles kept, as the official C-MAPSS test sets are
/// made), each scored at its last cycle through the serving code path (asset_twin).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/sensor_catalogue.hpp"
#include "turbotwin/training/train.hpp"

namespace turbotwin::training {

struct evaluate_options {
    int folds = 5;
    std::uint64_t seed = 7;
    int cuts_per_engine = 5;      ///< truncation points per held-out engine
    train_options train;
    alerting::thresholds alerts;  ///< for alert lead-time metrics
    std::string plots_dir;        ///< when set, SVG charts are written there
};

/// Accuracy of a set of truncated trajectories, each scored at its last cycle.
struct accuracy {
    std::size_t n = 0;
    double rmse = 0, score = 0, score_per_100 = 0, bias = 0, coverage = 0, mean_width = 0;
};

/// Alerting on full run-to-failure trajectories.
struct alert_quality {
    std::size_t engines = 0;
    std::size_t unwarned = 0;          ///< failed with no critical alert
    std::size_t early_false = 0;       ///< first critical more than 2 * critical_rul cycles before failure
    double lead_median = 0, lead_p05 = 0;  ///< cycles from first critical alert to failure
};

/// One scored point, for reports and plots.
struct scored_point {
    std::size_t engine = 0;
    std::int64_t cycle = 0;
    double truth = 0, rul = 0, lo = 0, hi = 0;
};

/// A held-out run-to-failure engine's estimate at every cycle (for horizon metrics and plots).
struct engine_trace {
    std::size_t engine = 0;   ///< index into the evaluated engines
    int fold = 0;
    std::vector<std::int64_t> cycle;
    std::vector<double> truth, rul, lo, hi;  ///< true RUL, estimate and 90% interval per cycle
};

struct fold_report {
    int fold = 0;
    std::size_t engines = 0;
    accuracy acc;
    alert_quality alerts;
};

struct evaluation {
    std::vector<fold_report> folds;
    accuracy overall;
    alert_quality overall_alerts;
    std::vector<scored_point> points;
    std::vector<engine_trace> traces;  ///< every held-out engine, every applied cycle
};

/// Scores predictions: RMSE, PHM08 score (d = predicted - true; exp(-d/13)-1 early,
/// exp(d/10)-1 late), bias, coverage of [lo, hi] and mean width.
accuracy score_points(const std::vector<scored_point>& pts);

/// PHM08 score of one error d = predicted - true.
double phm08(double d);

/// Linear-interpolated percentile (p in 0..100) of a copy of v.
double percentile(std::vector<double> v, double p);

Result<evaluation> evaluate(const std::vector<dataset::engine_trajectory>& engines, const sensor_catalogue& catalogue,
                            const evaluate_options& o, const log_fn& log = {});

}  // namespace turbotwin::training
