#pragma once
/// The RUL model: which sensors are filtered and how, how filtered states become features, the
/// boosted trees that map features to RUL, and the calibration that turns a point into a 90%
/// interval. Everything `turbotwin train` fits lives here and in one JSON file.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/estimation/trend_filter.hpp"

namespace turbotwin::prognostics {

/// One filtered sensor.
struct sensor_channel {
    std::size_t sensor = 0;                    ///< index into reading::sensors
    std::string name;                          ///< mnemonic, for humans and checks
    estimation::trend_filter_params filter;    ///< fitted noise and prior
};

/// Gradient-boosted regression trees, evaluated natively (XGBoost's layout and split rule:
/// go left when feature < threshold; a missing feature follows default_left).
struct regression_tree {
    std::vector<std::int32_t> left, right;  ///< child indices, -1 at leaves
    std::vector<std::int32_t> feature;      ///< split feature index
    std::vector<float> value;               ///< split threshold, or leaf value at leaves
    std::vector<std::uint8_t> default_left; ///< direction for a missing (NaN) feature
};

struct tree_ensemble {
    double base_score = 0.0;
    std::vector<regression_tree> trees;
    /// Sum of leaf values plus base_score.
    double predict(std::span<const float> features) const noexcept;
};

/// Split-conformal offsets by bin of the raw prediction: the interval is
/// [p + lo_offset, p + hi_offset] with offsets the 5% and 95% quantiles of held-out residuals
/// (true - predicted) among predictions in that bin, so the width grows with the horizon.
struct interval_calibration {
    std::vector<double> bin_upper;  ///< upper edge of each bin on the raw prediction; last is +inf
    std::vector<double> lo_offset;  ///< 5% residual quantile per bin
    std::vector<double> hi_offset;  ///< 95% residual quantile per bin
    double coverage = 0.9;          ///< nominal coverage
};

struct rul_model {
    std::string name;                       ///< e.g. "fd001"
    std::string trained_on;                 ///< description of the training data
    std::uint64_t seed = 0;
    std::vector<sensor_channel> channels;
    std::vector<double> hi_weights;         ///< health index = hi_bias + sum(w_i * level_i), per channel
    double hi_bias = 0.0;
    double rul_cap = 125.0;                 ///< training target is min(true RUL, cap)
    tree_ensemble trees;
    interval_calibration calibration;
};

/// Feature layout: [cycle, hi, hi_slope, level_0.., slope_0..] with one level and slope per channel.
std::size_t feature_count(const rul_model& m) noexcept;
std::vector<std::string> feature_names(const rul_model& m);

/// Fills `out` (size feature_count) from the filters' current states (one per channel).
void compute_features(const rul_model& m, std::int64_t cycle,
                      std::span<const estimation::trend_filter> filters, std::span<float> out) noexcept;

struct rul_estimate {
    double rul = 0.0;     ///< cycles to failure, >= 0
    double rul_lo = 0.0;  ///< lower end of the 90% interval
    double rul_hi = 0.0;  ///< upper end of the 90% interval
};

/// Point prediction and calibrated interval from a raw tree output.
rul_estimate calibrate(const interval_calibration& c, double raw_prediction) noexcept;

rul_estimate predict(const rul_model& m, std::span<const float> features) noexcept;

/// Model file (JSON) I/O. Numbers are written with round-trip precision.
Result<rul_model> load_model(const std::string& path);
Result<bool> save_model(const rul_model& m, const std::string& path);

}  // namespace turbotwin::prognostics
