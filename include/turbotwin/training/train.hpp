#pragma once
/// Fitting a RUL model from run-to-failure trajectories: sensor selection, maximum-likelihood
/// filter tuning, a health index, boosted trees (XGBoost) and conformal interval calibration.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/prognostics/model.hpp"

namespace turbotwin::training {

struct train_options {
    std::string name = "model";
    std::uint64_t seed = 7;
    int rounds = 400;            ///< boosting rounds
    int max_depth = 4;
    double eta = 0.05;
    double subsample = 0.8;
    double colsample = 0.8;
    double min_child_weight = 5;
    int calibration_folds = 5;   ///< folds (by engine) for out-of-fold residuals
    double rul_cap = 130.0;      ///< training target min(RUL, cap); 130 chosen by cross-validation (docs/prognostics.md)
    std::int64_t baseline_cycles = 20;  ///< readings that define each engine's own baseline
    int threads = 2;
    /// Only engines from this index on give calibration residuals (their out-of-fold errors; the
    /// trees still learn from every engine). A refit on a base file plus a fleet's own failures
    /// sets it to the base's size, so that the intervals are the fleet's, not the base's.
    std::size_t calibrate_from_engine = 0;
};

using log_fn = std::function<void(const std::string&)>;

/// Sensors worth filtering: non-constant and correlated with remaining life.
std::vector<prognostics::sensor_channel> select_channels(const std::vector<dataset::engine_trajectory>& engines);

/// Maximum-likelihood noise and prior of one channel's trend filter (innovation likelihood
/// summed over all engines, coordinate search on a log scale).
estimation::trend_filter_params fit_filter(const std::vector<dataset::engine_trajectory>& engines, std::size_t sensor);

/// XGBoost's saved model (XGBoosterSaveModelToBuffer, format "json") as native trees, with each
/// node's training cover (sum_hessian) for feature_contributions; `base_score` as XGBoost stored it.
prognostics::tree_ensemble trees_from_xgboost_json(std::string_view saved_model, double base_score);

/// Split-conformal interval calibration from held-out raw predictions and their true RUL
/// (docs/prognostics.md section 3): residual quantiles per bin of the prediction, a bin with
/// fewer than 30 residuals merged into the next. `coverage` is the nominal one (0.9).
prognostics::interval_calibration conformal_calibration(const std::vector<double>& predicted, const std::vector<double>& truth,
                                                        double coverage);

/// The whole fit. Deterministic for the same input and options.
Result<prognostics::rul_model> train_model(const std::vector<dataset::engine_trajectory>& engines, const train_options& o,
                                           const log_fn& log = {});

/// Per-cycle features of every engine computed through the twin (the serving code path).
struct feature_table {
    std::vector<float> x;           ///< row-major, rows x cols
    std::size_t cols = 0;
    std::vector<float> rul;         ///< true remaining life at each row
    std::vector<std::size_t> engine;///< index into the engines vector
    std::size_t rows() const { return rul.size(); }
};
feature_table build_features(const prognostics::rul_model& m, const std::vector<dataset::engine_trajectory>& engines);

}  // namespace turbotwin::training
