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
    /// Training cover per node: the sum of hessians of the rows that reached it (XGBoost's
    /// `sum_hessian`; the row count for squared error). Only feature_contributions reads it;
    /// empty in models trained before it was exported.
    std::vector<float> cover;
};

struct tree_ensemble {
    double base_score = 0.0;
    std::vector<regression_tree> trees;
    /// Sum of leaf values plus base_score (leaves added in tree order, so the compiled and the
    /// plain form give the same bits).
    double predict(std::span<const float> features) const noexcept;
    /// Lays `trees` out for fast evaluation: each tree padded to a complete tree of the
    /// ensemble's depth (a leaf above the bottom is copied into every leaf below it, so every
    /// path gives the same value) and stored implicitly (children of node i at 2i+1 and 2i+2),
    /// so a step needs no child pointer and several trees are walked side by side. load_model
    /// and training call it; call it again after changing `trees` (predict falls back to the
    /// plain form while the compiled one does not match `trees` in count, or for trees deeper
    /// than max_compiled_depth).
    void compile();
    static constexpr int max_compiled_depth = 8;
    /// Trees walked side by side in the compiled form.
    static constexpr std::size_t group_width = 8;

private:
    int depth_ = 0;                       ///< levels of splits in every compiled tree
    std::size_t compiled_trees_ = 0;      ///< 0: not compiled
    /// Per group of group_width trees, 2^depth - 1 slots, each holding that slot of every tree
    /// in the group; top bit: a missing feature goes left.
    std::vector<std::uint32_t> split_feature_;
    std::vector<float> split_value_;            ///< thresholds, same layout
    std::vector<float> leaf_;                   ///< per group 2^depth leaf slots, interleaved the same way
};

/// Per-feature contributions to `e.predict(features)`: exact path-dependent TreeSHAP
/// (Lundberg, Erion & Lee 2018, "Consistent individualized feature attribution for tree
/// ensembles", Algorithm 2) over the trees weighted by their training covers, laid out as
/// XGBoost's `pred_contribs`. `out` (size features.size() + 1) gets each feature's SHAP value
/// and, last, the bias: base_score plus each tree's cover-weighted mean leaf value. The entries
/// sum to predict(features) up to rounding. A missing (NaN) feature follows default_left, as in
/// predict. False, with `out` untouched, when a tree has no covers (a model trained before they
/// were exported), a split node's cover is not positive, a split feature is out of range, or
/// `out` has the wrong size. Allocates one scratch buffer sized by the deepest tree.
bool feature_contributions(const tree_ensemble& e, std::span<const float> features, std::span<double> out) noexcept;

struct feature_contribution {
    std::size_t feature = 0;  ///< index into the feature layout (feature_names)
    double value = 0.0;       ///< SHAP value, RUL cycles
};

/// The `k` largest contributions by magnitude, largest first (ties by feature index), from
/// feature_contributions' output (its last entry, the bias, is not a feature and is skipped).
std::vector<feature_contribution> top_contributions(std::span<const double> contributions, std::size_t k);

/// Split-conformal offsets by bin of the raw prediction: the interval is
/// [p + lo_offset, p + hi_offset] with offsets the 5% and 95% quantiles of held-out residuals
/// (true - predicted) among predictions in that bin, so the width grows with the horizon.
struct interval_calibration {
    std::vector<double> bin_upper;  ///< upper edge of each bin on the raw prediction; last is +inf
    std::vector<double> lo_offset;  ///< 5% residual quantile per bin
    std::vector<double> hi_offset;  ///< 95% residual quantile per bin
    double coverage = 0.9;          ///< nominal coverage
    /// The predictive distribution: residual quantiles at `levels` (increasing, e.g. 0.05..0.95)
    /// per bin; offsets[bin][k] is the levels[k] quantile. Empty in old models: then the
    /// distribution is the two interval ends.
    std::vector<double> levels;
    std::vector<std::vector<double>> offsets;
};

/// Novelty: how far an engine's deviation pattern lies from the training fleet's degradation
/// path. Deviations (per channel, in units of the channel's measurement noise) are projected on
/// the fleet's principal degradation directions; the squared residual off that subspace,
/// relative to its training distribution, is the novelty score (1 = the training fleet's
/// `threshold_quantile`). Beyond `threshold` the twin reports low confidence and widens the
/// interval by sqrt(score / threshold), at most `max_widening`.
struct novelty_model {
    std::vector<double> mean;                    ///< per channel, normalised deviation
    std::vector<std::vector<double>> directions; ///< principal directions (unit vectors, per channel)
    std::vector<double> scale;                   ///< per channel: 1 / sqrt(measurement_var)
    double threshold = 0.0;                      ///< residual^2 above this is novel; 0 disables
    double max_widening = 4.0;
    double threshold_quantile = 0.995;           ///< quantile of training scores used as threshold
};

struct rul_model {
    std::string name;                       ///< e.g. "fd001"
    std::string trained_on;                 ///< description of the training data
    std::uint64_t seed = 0;
    std::vector<sensor_channel> channels;
    std::vector<double> hi_weights;         ///< health index = hi_bias + sum(w_i * level_i), per channel
    double hi_bias = 0.0;
    double rul_cap = 125.0;                 ///< training target is min(true RUL, cap)
    std::int64_t baseline_cycles = 20;      ///< readings after which each channel's level is frozen as the engine's own baseline
    tree_ensemble trees;
    interval_calibration calibration;
    novelty_model novelty;
};

/// Feature layout: [cycle, hi, hi_slope, hi_dev, level_0.., slope_0.., dev_0..] with, per channel,
/// the filtered level, its trend, and its deviation from the engine's own baseline (NaN until
/// the baseline exists). Deviations remove the engine-to-engine spread of initial wear.
std::size_t feature_count(const rul_model& m) noexcept;
std::vector<std::string> feature_names(const rul_model& m);

/// Fills `out` (size feature_count) from the filters' current states and the engine's
/// baselines (one each per channel; NaN baselines give missing deviation features).
void compute_features(const rul_model& m, std::int64_t cycle, std::span<const estimation::trend_state> filters,
                      std::span<const double> baselines, std::span<float> out) noexcept;

struct rul_estimate {
    double rul = 0.0;     ///< cycles to failure, >= 0
    double rul_lo = 0.0;  ///< lower end of the 90% interval
    double rul_hi = 0.0;  ///< upper end of the 90% interval
    double raw = 0.0;     ///< the trees' output before clipping at 0
    double widening = 1.0;///< factor applied to the calibrated offsets (novelty)
};

/// Point prediction and calibrated interval from a raw tree output; `widening` >= 1 scales the
/// calibrated offsets (a less familiar engine gets a wider interval).
rul_estimate calibrate(const interval_calibration& c, double raw_prediction, double widening = 1.0) noexcept;

/// The p-quantile of RUL (p in 0..1, clamped to the calibrated levels), >= 0.
double rul_quantile(const interval_calibration& c, double raw_prediction, double p, double widening = 1.0) noexcept;

/// P(RUL <= horizon) under the same predictive distribution: rul_quantile inverted (piecewise
/// linear between the calibrated levels, linear beyond the outer ones, clamped to 0..1).
double failure_probability(const interval_calibration& c, double raw_prediction, double horizon, double widening = 1.0) noexcept;

/// The inverse of failure_probability: the RUL x with P(RUL <= x) = p (p in 0..1), linear
/// beyond the outer calibrated levels as failure_probability is, >= 0. Unlike rul_quantile it
/// does not clamp p to the calibrated levels, so Monte Carlo draws (p uniform) keep the tails.
double rul_at_probability(const interval_calibration& c, double raw_prediction, double p, double widening = 1.0) noexcept;

rul_estimate predict(const rul_model& m, std::span<const float> features, double widening = 1.0) noexcept;

/// Novelty score of an engine whose filtered levels deviate by `deviations` (sensor units,
/// per channel) from its own baseline; NaN when a deviation is unknown or novelty is disabled.
double novelty_score(const rul_model& m, std::span<const double> deviations) noexcept;

/// novelty_score, also writing each channel's residual off the fleet's degradation subspace
/// (normalised: units of the channel's measurement noise) into `residuals` (size = channels).
/// One probe drifting puts its residual in its own channel; wear moves along the subspace.
double novelty_residuals(const rul_model& m, std::span<const double> deviations, std::span<double> residuals) noexcept;

/// Fills in the deviations (sensor units) of the channels not `observed` from the observed ones:
/// the point of the fleet's degradation subspace nearest (least squares, in normalised units)
/// to them. `centred` false for rates of change (the subspace's mean is a level, not a rate).
/// False, nothing changed, without a subspace or with fewer observed channels than directions.
bool impute_deviations(const rul_model& m, std::span<double> deviations, std::span<const bool> observed, bool centred = true);

/// The squared norm of the subspace coordinates (normalised units) that best fit the observed
/// deviations, leaving out channel `left_out`: how far along the fleet's degradation directions
/// the engine would be if that probe were ignored. NaN when there is no fit.
double subspace_extent_without(const rul_model& m, std::span<const double> deviations, std::span<const bool> observed,
                               std::size_t left_out);

/// Model file (JSON) I/O. Numbers are written with round-trip precision.
Result<rul_model> load_model(const std::string& path);
Result<bool> save_model(const rul_model& m, const std::string& path);

}  // namespace turbotwin::prognostics
