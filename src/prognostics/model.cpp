#include "turbotwin/prognostics/model.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <cmath>
#include <optional>
#include <fstream>
#include <limits>
#include <new>
#include <vector>
#include <Eigen/Dense>
#include <nlohmann/json.hpp>

#include "turbotwin/core/reading.hpp"

namespace turbotwin::prognostics {

void tree_ensemble::compile() {
    compiled_trees_ = 0;
    split_feature_.clear();
    split_value_.clear();
    leaf_.clear();
    // Depth of the deepest leaf over the ensemble (splits on the way to it).
    int depth = 0;
    for (const auto& t : trees) {
        std::vector<std::pair<std::int32_t, int>> stack = {{0, 0}};
        while (!stack.empty()) {
            const auto [node, d] = stack.back();
            stack.pop_back();
            if (t.left[std::size_t(node)] < 0) {
                depth = std::max(depth, d);
                continue;
            }
            if (d >= max_compiled_depth) return;  // too deep to pad: predict uses the plain trees
            stack.push_back({t.left[std::size_t(node)], d + 1});
            stack.push_back({t.right[std::size_t(node)], d + 1});
        }
    }
    depth_ = depth;
    // Trees in groups of `group_width`, interleaved node by node: slot s of the group's tree l is
    // at (group * inner + s) * group_width + l, so one walk of a group steps every tree from one
    // base. The last group is padded with trees of zero leaves (adding +0.0 keeps the sum's bits).
    const std::size_t inner = (std::size_t(1) << depth) - 1, leaves = std::size_t(1) << depth;
    const std::size_t groups = (trees.size() + group_width - 1) / group_width;
    split_feature_.assign(groups * inner * group_width, 0);
    split_value_.assign(groups * inner * group_width, 0.0f);
    leaf_.assign(groups * leaves * group_width, 0.0f);
    for (std::size_t k = 0; k < trees.size(); ++k) {
        const auto& t = trees[k];
        const std::size_t group = k / group_width, lane = k % group_width;
        // (node in t, slot in the complete tree); a leaf reached above the bottom fills every
        // bottom slot under it.
        std::vector<std::pair<std::int32_t, std::size_t>> stack = {{0, 0}};
        while (!stack.empty()) {
            const auto [node, slot] = stack.back();
            stack.pop_back();
            const auto n = std::size_t(node);
            if (t.left[n] < 0) {
                std::size_t first = slot, count = 1;
                while (first < inner) {
                    first = 2 * first + 1;
                    count *= 2;
                }
                for (std::size_t i = 0; i < count; ++i)
                    leaf_[(group * leaves + first - inner + i) * group_width + lane] = t.value[n];
                continue;
            }
            const std::size_t at = (group * inner + slot) * group_width + lane;
            split_feature_[at] = std::uint32_t(t.feature[n]) | (t.default_left[n] ? 0x8000'0000u : 0u);
            split_value_[at] = t.value[n];
            stack.push_back({t.left[n], 2 * slot + 1});
            stack.push_back({t.right[n], 2 * slot + 2});
        }
    }
    compiled_trees_ = trees.size();
}

namespace {

// Sum of the compiled trees' leaves: each group's trees walked side by side (their walks are
// independent, so their loads overlap), leaves added in tree order. Without missing features
// (NaN deviations before an engine has its baseline) a step needs no NaN test.
template <bool maybe_missing>
double sum_compiled(const std::uint32_t* feature, const float* value, const float* leaf, std::size_t groups, int depth,
                    const float* x, double sum) noexcept {
    constexpr std::size_t width = tree_ensemble::group_width;
    const std::size_t inner = (std::size_t(1) << depth) - 1, leaves = std::size_t(1) << depth;
    for (std::size_t g = 0; g < groups; ++g) {
        const std::uint32_t* gf = feature + g * inner * width;
        const float* gv = value + g * inner * width;
        std::uint32_t slot[width] = {};
        for (int d = 0; d < depth; ++d)
            for (std::size_t l = 0; l < width; ++l) {
                const std::size_t at = slot[l] * width + l;
                const std::uint32_t fk = gf[at];
                const float f = x[fk & 0x7fff'ffffu];
                bool right;
                if constexpr (maybe_missing) right = std::isnan(f) ? (fk >> 31) == 0 : !(f < gv[at]);
                else right = f >= gv[at];
                slot[l] = 2 * slot[l] + 1 + std::uint32_t(right);
            }
        const float* gl = leaf + g * leaves * width;
        for (std::size_t l = 0; l < width; ++l) sum += gl[(slot[l] - inner) * width + l];
    }
    return sum;
}

}  // namespace

double tree_ensemble::predict(std::span<const float> features) const noexcept {
    double sum = base_score;
    if (compiled_trees_ == trees.size() && compiled_trees_ > 0) {
        const std::size_t groups = (compiled_trees_ + group_width - 1) / group_width;
        bool any_missing = false;
        for (const float f : features) any_missing |= std::isnan(f);
        if (any_missing)
            return sum_compiled<true>(split_feature_.data(), split_value_.data(), leaf_.data(), groups, depth_, features.data(), sum);
        return sum_compiled<false>(split_feature_.data(), split_value_.data(), leaf_.data(), groups, depth_, features.data(), sum);
    }
    for (const auto& t : trees) {
        std::int32_t node = 0;
        while (t.left[node] >= 0) {
            const float f = features[t.feature[node]];
            if (std::isnan(f)) node = t.default_left[node] ? t.left[node] : t.right[node];
            else node = f < t.value[node] ? t.left[node] : t.right[node];
        }
        sum += t.value[node];
    }
    return sum;
}

namespace {

// TreeSHAP (Lundberg, Erion & Lee 2018, Algorithm 2), following XGBoost's RegTree::TreeShap
// (src/tree/tree_model.cc) without its interaction conditioning, in double rather than float.
// The path holds the distinct features split on from the root to the current node; for each,
// the fraction of training cover that passes its splits (zero_fraction: the feature is not
// known) and whether x passes them (one_fraction, 0 or 1). `weight` is the permutation weight
// of the subsets of path features of each size (element i: subsets of size i).
struct shap_path_element {
    std::int32_t feature = -1;  ///< -1: the root's placeholder
    double zero_fraction = 0.0;
    double one_fraction = 0.0;
    double weight = 0.0;
};

// EXTEND: appends a feature to the path of length depth (elements 0..depth-1 in use).
void extend_path(shap_path_element* path, std::size_t depth, double zero_fraction, double one_fraction,
                 std::int32_t feature) noexcept {
    path[depth] = {feature, zero_fraction, one_fraction, depth == 0 ? 1.0 : 0.0};
    const auto n = double(depth + 1);
    for (std::size_t i = depth; i-- > 0;) {
        path[i + 1].weight += one_fraction * path[i].weight * double(i + 1) / n;
        path[i].weight = zero_fraction * path[i].weight * double(depth - i) / n;
    }
}

// UNWIND: removes element `index` from the path (elements 0..depth in use), undoing EXTEND.
void unwind_path(shap_path_element* path, std::size_t depth, std::size_t index) noexcept {
    const double one_fraction = path[index].one_fraction, zero_fraction = path[index].zero_fraction;
    const auto n = double(depth + 1);
    double next_one_portion = path[depth].weight;
    for (std::size_t i = depth; i-- > 0;) {
        if (one_fraction != 0) {
            const double kept = path[i].weight;
            path[i].weight = next_one_portion * n / (double(i + 1) * one_fraction);
            next_one_portion = kept - path[i].weight * zero_fraction * double(depth - i) / n;
        } else {
            path[i].weight = path[i].weight * n / (zero_fraction * double(depth - i));
        }
    }
    for (std::size_t i = index; i < depth; ++i) {
        path[i].feature = path[i + 1].feature;
        path[i].zero_fraction = path[i + 1].zero_fraction;
        path[i].one_fraction = path[i + 1].one_fraction;
    }
}

// The total permutation weight the path would have with element `index` unwound, without
// changing the path (the weight of that feature's marginal contribution at a leaf).
double unwound_path_sum(const shap_path_element* path, std::size_t depth, std::size_t index) noexcept {
    const double one_fraction = path[index].one_fraction, zero_fraction = path[index].zero_fraction;
    const auto n = double(depth + 1);
    double next_one_portion = path[depth].weight, total = 0.0;
    for (std::size_t i = depth; i-- > 0;) {
        if (one_fraction != 0) {
            const double w = next_one_portion * n / (double(i + 1) * one_fraction);
            total += w;
            next_one_portion = path[i].weight - w * zero_fraction * double(depth - i) / n;
        } else if (zero_fraction != 0) {
            total += path[i].weight / zero_fraction / (double(depth - i) / n);
        }  // both zero: the element carries no weight (such subtrees are not entered)
    }
    return total;
}

// Whether TreeSHAP can run on the subtree under `node` (covers present and positive at
// splits, indices in range, no cycles), with its depth in edges and its cover-weighted mean
// leaf value (the expected value of the subtree's output over the training rows).
bool summarise_subtree(const regression_tree& t, std::size_t node, std::size_t feature_count, std::size_t level,
                       std::size_t& depth, double& mean) noexcept {
    const std::size_t n = t.left.size();
    if (level >= n) return false;  // deeper than the node count: a cycle
    if (t.left[node] < 0) {
        depth = 0;
        mean = t.value[node];
        return true;
    }
    const auto l = std::size_t(t.left[node]), r = std::size_t(t.right[node]);
    if (t.left[node] >= std::int32_t(n) || t.right[node] < 0 || t.right[node] >= std::int32_t(n) || t.feature[node] < 0 ||
        std::size_t(t.feature[node]) >= feature_count || !(t.cover[node] > 0) || !(t.cover[l] >= 0) || !(t.cover[r] >= 0))
        return false;
    std::size_t depth_l = 0, depth_r = 0;
    double mean_l = 0, mean_r = 0;
    if (!summarise_subtree(t, l, feature_count, level + 1, depth_l, mean_l) ||
        !summarise_subtree(t, r, feature_count, level + 1, depth_r, mean_r))
        return false;
    depth = 1 + std::max(depth_l, depth_r);
    // XGBoost's RegTree::FillNodeMeanValue: weighted by the children's covers over the node's.
    mean = (mean_l * t.cover[l] + mean_r * t.cover[r]) / t.cover[node];
    return true;
}

struct tree_shap {
    const regression_tree& tree;
    std::span<const float> x;
    std::span<double> phi;

    // Visits `node` with the parent's path (elements 0..depth-1 in use at parent_path), first
    // extending it by the split that led here. Each frame's path starts past its parent's, so
    // the scratch holds (D+2)(D+3)/2 elements for a tree of depth D.
    void visit(std::size_t node, std::size_t depth, shap_path_element* parent_path, double zero_fraction,
               double one_fraction, std::int32_t parent_feature) const noexcept {
        shap_path_element* path = parent_path + depth + 1;
        std::copy(parent_path, parent_path + depth + 1, path);
        extend_path(path, depth, zero_fraction, one_fraction, parent_feature);
        if (tree.left[node] < 0) {
            const double leaf = tree.value[node];
            for (std::size_t i = 1; i <= depth; ++i) {
                const double w = unwound_path_sum(path, depth, i);
                phi[std::size_t(path[i].feature)] += w * (path[i].one_fraction - path[i].zero_fraction) * leaf;
            }
            return;
        }
        const std::int32_t feature = tree.feature[node];
        const float f = x[std::size_t(feature)];
        const bool left = std::isnan(f) ? tree.default_left[node] != 0 : f < tree.value[node];
        const auto hot = std::size_t(left ? tree.left[node] : tree.right[node]);
        const auto cold = std::size_t(left ? tree.right[node] : tree.left[node]);
        const double cover = tree.cover[node];
        double incoming_zero = 1.0, incoming_one = 1.0;
        // A feature split on again: undo its earlier extension and fold its fractions into this one.
        std::size_t seen = 1;
        while (seen <= depth && path[seen].feature != feature) ++seen;
        if (seen <= depth) {
            incoming_zero = path[seen].zero_fraction;
            incoming_one = path[seen].one_fraction;
            unwind_path(path, depth, seen);
            --depth;
        }
        const double hot_zero = tree.cover[hot] / cover * incoming_zero, cold_zero = tree.cover[cold] / cover * incoming_zero;
        // A branch no training row and not x reaches adds nothing (and would divide 0 by 0).
        if (hot_zero != 0 || incoming_one != 0) visit(hot, depth + 1, path, hot_zero, incoming_one, feature);
        if (cold_zero != 0) visit(cold, depth + 1, path, cold_zero, 0.0, feature);
    }
};

}  // namespace

bool feature_contributions(const tree_ensemble& e, std::span<const float> features, std::span<double> out) noexcept {
    if (out.size() != features.size() + 1) return false;
    double bias = e.base_score;
    std::size_t max_depth = 0;
    for (const auto& t : e.trees) {
        const std::size_t n = t.left.size();
        if (n == 0 || t.cover.size() != n || t.right.size() != n || t.feature.size() != n || t.value.size() != n ||
            t.default_left.size() != n)
            return false;
        std::size_t depth = 0;
        double mean = 0;
        if (!summarise_subtree(t, 0, features.size(), 0, depth, mean)) return false;
        max_depth = std::max(max_depth, depth);
        bias += mean;
    }
    std::vector<shap_path_element> scratch;
    try {
        scratch.resize((max_depth + 2) * (max_depth + 3) / 2);
    } catch (const std::bad_alloc&) {
        return false;
    }
    std::fill(out.begin(), out.end(), 0.0);
    for (const auto& t : e.trees) {
        const tree_shap shap{t, features, out.first(features.size())};
        shap.visit(0, 0, scratch.data(), 1.0, 1.0, -1);
    }
    out.back() = bias;
    return true;
}

std::vector<feature_contribution> top_contributions(std::span<const double> contributions, std::size_t k) {
    std::vector<feature_contribution> all;
    if (contributions.empty()) return all;
    all.reserve(contributions.size() - 1);
    for (std::size_t i = 0; i + 1 < contributions.size(); ++i) all.push_back({i, contributions[i]});
    k = std::min(k, all.size());
    std::partial_sort(all.begin(), all.begin() + std::ptrdiff_t(k), all.end(), [](const auto& a, const auto& b) {
        const double ma = std::abs(a.value), mb = std::abs(b.value);
        return ma != mb ? ma > mb : a.feature < b.feature;
    });
    all.resize(k);
    return all;
}

std::size_t feature_count(const rul_model& m) noexcept { return 4 + 3 * m.channels.size(); }

std::vector<std::string> feature_names(const rul_model& m) {
    std::vector<std::string> names = {"cycle", "hi", "hi_slope", "hi_dev"};
    for (const auto& c : m.channels) names.push_back(c.name + "_level");
    for (const auto& c : m.channels) names.push_back(c.name + "_slope");
    for (const auto& c : m.channels) names.push_back(c.name + "_dev");
    return names;
}

void compute_features(const rul_model& m, std::int64_t cycle, std::span<const estimation::trend_state> filters,
                      std::span<const double> baselines, std::span<float> out) noexcept {
    const std::size_t n = m.channels.size();
    double hi = m.hi_bias, hi_slope = 0.0, hi_dev = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double dev = filters[i].level() - baselines[i];  // NaN until the baseline exists
        hi += m.hi_weights[i] * filters[i].level();
        hi_slope += m.hi_weights[i] * filters[i].slope();
        hi_dev += m.hi_weights[i] * dev;
        out[4 + i] = float(filters[i].level());
        out[4 + n + i] = float(filters[i].slope());
        out[4 + 2 * n + i] = float(dev);
    }
    out[0] = float(cycle);
    out[1] = float(hi);
    out[2] = float(hi_slope);
    out[3] = float(hi_dev);
}

namespace {
std::size_t bin_of(const interval_calibration& c, double raw) noexcept {
    std::size_t bin = 0;
    while (bin + 1 < c.bin_upper.size() && raw > c.bin_upper[bin]) ++bin;
    return bin;
}
}  // namespace

rul_estimate calibrate(const interval_calibration& c, double raw, double widening) noexcept {
    rul_estimate e;
    e.raw = raw;
    e.widening = widening;
    e.rul = std::max(0.0, raw);
    if (c.bin_upper.empty()) {
        e.rul_lo = e.rul_hi = e.rul;
        return e;
    }
    const std::size_t bin = bin_of(c, raw);
    e.rul_lo = std::max(0.0, raw + widening * c.lo_offset[bin]);
    e.rul_hi = std::max(e.rul, raw + widening * c.hi_offset[bin]);
    e.rul_lo = std::min(e.rul_lo, e.rul);
    return e;
}

namespace {
// The predictive distribution's quantile points for one raw prediction: levels[k] and the
// offset of its quantile, from the full table or, in old models, the interval's two ends.
struct quantile_points {
    std::span<const double> levels;
    std::span<const double> offsets;
    std::array<double, 2> two_levels{}, two_offsets{};  ///< storage for the fallback (no allocation)
};

void quantiles_for(const interval_calibration& c, double raw, quantile_points& q) {
    const std::size_t bin = bin_of(c, raw);
    if (!c.levels.empty() && bin < c.offsets.size() && c.offsets[bin].size() == c.levels.size()) {
        q.levels = c.levels;
        q.offsets = c.offsets[bin];
        return;
    }
    q.two_levels = {0.5 - c.coverage / 2, 0.5 + c.coverage / 2};
    q.two_offsets = {c.lo_offset[bin], c.hi_offset[bin]};
    q.levels = q.two_levels;
    q.offsets = q.two_offsets;
}
}  // namespace

double rul_quantile(const interval_calibration& c, double raw, double p, double widening) noexcept {
    if (c.bin_upper.empty()) return std::max(0.0, raw);
    quantile_points points;
    quantiles_for(c, raw, points);
    const auto levels = points.levels;
    auto offset_at = [&](std::size_t k) { return points.offsets[k]; };
    double offset;
    if (p <= levels.front()) {
        offset = offset_at(0);
    } else if (p >= levels.back()) {
        offset = offset_at(levels.size() - 1);
    } else {
        std::size_t k = 1;
        while (levels[k] < p) ++k;
        const double w = (p - levels[k - 1]) / (levels[k] - levels[k - 1]);
        offset = offset_at(k - 1) * (1 - w) + offset_at(k) * w;
    }
    return std::max(0.0, raw + widening * offset);
}

double failure_probability(const interval_calibration& c, double raw, double horizon, double widening) noexcept {
    if (c.bin_upper.empty()) return std::max(0.0, raw) <= horizon ? 1.0 : 0.0;
    quantile_points points;
    quantiles_for(c, raw, points);
    const auto levels = points.levels;
    auto q = [&](std::size_t k) { return raw + widening * points.offsets[k]; };
    const std::size_t n = levels.size();
    // RUL is clamped at 0, so RUL <= horizon is certain once horizon >= 0 passes every quantile.
    auto segment = [&](std::size_t k) {  // linear through (q(k), levels[k]) and (q(k+1), levels[k+1])
        const double dq = q(k + 1) - q(k);
        if (!(dq > 0)) return horizon >= q(k + 1) ? levels[k + 1] : levels[k];
        return levels[k] + (horizon - q(k)) * (levels[k + 1] - levels[k]) / dq;
    };
    double p;
    if (horizon <= q(0)) p = segment(0);
    else if (horizon >= q(n - 1)) p = segment(n - 2);
    else {
        std::size_t k = 0;
        while (k + 2 < n && q(k + 1) < horizon) ++k;
        p = segment(k);
    }
    return std::clamp(p, 0.0, 1.0);
}

double rul_at_probability(const interval_calibration& c, double raw, double p, double widening) noexcept {
    if (c.bin_upper.empty()) return std::max(0.0, raw);
    quantile_points points;
    quantiles_for(c, raw, points);
    const auto levels = points.levels;
    const std::size_t n = levels.size();
    auto q = [&](std::size_t k) { return raw + widening * points.offsets[k]; };
    // The segment failure_probability uses at p: the outer ones extended beyond their levels.
    std::size_t k = 0;
    if (p >= levels[n - 1]) k = n - 2;
    else
        while (k + 2 < n && levels[k + 1] < p) ++k;
    const double dl = levels[k + 1] - levels[k];
    const double x = dl > 0 ? q(k) + (p - levels[k]) * (q(k + 1) - q(k)) / dl : q(k);
    return std::max(0.0, x);
}

rul_estimate predict(const rul_model& m, std::span<const float> features, double widening) noexcept {
    return calibrate(m.calibration, m.trees.predict(features), widening);
}

double novelty_score(const rul_model& m, std::span<const double> deviations) noexcept {
    // On the stack for the usual width: this runs once per reading.
    std::array<double, 32> inline_residuals;
    std::vector<double> heap_residuals;
    std::span<double> residuals(inline_residuals.data(), deviations.size());
    if (deviations.size() > inline_residuals.size()) {
        heap_residuals.resize(deviations.size());
        residuals = heap_residuals;
    }
    return novelty_residuals(m, deviations, residuals);
}

double novelty_residuals(const rul_model& m, std::span<const double> deviations, std::span<double> r) noexcept {
    const auto& nv = m.novelty;
    const std::size_t n = nv.mean.size();
    if (!(nv.threshold > 0) || n != deviations.size() || nv.scale.size() != n || r.size() != n) return std::nan("");
    // r = z - mean, minus its projection on each (orthonormal) principal direction.
    for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(deviations[i])) return std::nan("");
        r[i] = deviations[i] * nv.scale[i] - nv.mean[i];
    }
    for (const auto& d : nv.directions) {
        double dot = 0;
        for (std::size_t i = 0; i < n; ++i) dot += d[i] * r[i];
        for (std::size_t i = 0; i < n; ++i) r[i] -= dot * d[i];
    }
    double sq = 0;
    for (std::size_t i = 0; i < n; ++i) sq += r[i] * r[i];
    return sq / nv.threshold;
}

namespace {
/// Least squares for the subspace coordinates c over the channels `use` accepts:
/// (D_o' D_o) c = D_o' (y_o - mean_o), y in normalised units. Empty without a fit.
template <class Use>
std::optional<Eigen::VectorXd> fit_coordinates(const novelty_model& nv, std::span<const double> deviations, bool centred, Use use) {
    const std::size_t n = nv.mean.size(), k = nv.directions.size();
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(Eigen::Index(k), Eigen::Index(k));
    Eigen::VectorXd b = Eigen::VectorXd::Zero(Eigen::Index(k));
    for (std::size_t i = 0; i < n; ++i) {
        if (!use(i)) continue;
        if (std::isnan(deviations[i])) return std::nullopt;
        const double y = deviations[i] * nv.scale[i] - (centred ? nv.mean[i] : 0.0);
        for (std::size_t p = 0; p < k; ++p) {
            b(Eigen::Index(p)) += nv.directions[p][i] * y;
            for (std::size_t q = 0; q < k; ++q) a(Eigen::Index(p), Eigen::Index(q)) += nv.directions[p][i] * nv.directions[q][i];
        }
    }
    const Eigen::LDLT<Eigen::MatrixXd> ldlt(a);
    if (ldlt.info() != Eigen::Success || !(ldlt.rcond() > 1e-9)) return std::nullopt;
    return ldlt.solve(b);
}
}  // namespace

double subspace_extent_without(const rul_model& m, std::span<const double> deviations, std::span<const bool> observed,
                               std::size_t left_out) {
    const auto& nv = m.novelty;
    const std::size_t n = nv.mean.size();
    if (nv.directions.empty() || n != deviations.size() || observed.size() != n || nv.scale.size() != n) return std::nan("");
    const auto c = fit_coordinates(nv, deviations, false, [&](std::size_t i) { return observed[i] && i != left_out; });
    return c ? c->squaredNorm() : std::nan("");
}

bool impute_deviations(const rul_model& m, std::span<double> deviations, std::span<const bool> observed, bool centred) {
    const auto& nv = m.novelty;
    const std::size_t n = nv.mean.size(), k = nv.directions.size();
    if (k == 0 || n != deviations.size() || observed.size() != n || nv.scale.size() != n) return false;
    const auto seen = std::size_t(std::count(observed.begin(), observed.end(), true));
    if (seen < k || seen == n) return seen == n;
    const auto fit = fit_coordinates(nv, deviations, centred, [&](std::size_t i) { return bool(observed[i]); });
    if (!fit) return false;
    const Eigen::VectorXd& c = *fit;
    for (std::size_t i = 0; i < n; ++i) {
        if (observed[i]) continue;
        double y = centred ? nv.mean[i] : 0.0;
        for (std::size_t p = 0; p < k; ++p) y += c(Eigen::Index(p)) * nv.directions[p][i];
        deviations[i] = y / nv.scale[i];
    }
    return true;
}

namespace {
using nlohmann::json;

json filter_to_json(const estimation::trend_filter_params& p) {
    return {{"measurement_var", p.measurement_var}, {"level_process_var", p.level_process_var},
            {"slope_process_var", p.slope_process_var}, {"initial_level", p.initial_level},
            {"initial_level_var", p.initial_level_var}, {"initial_slope_var", p.initial_slope_var}};
}

estimation::trend_filter_params filter_from_json(const json& j) {
    estimation::trend_filter_params p;
    p.measurement_var = j.at("measurement_var").get<double>();
    p.level_process_var = j.at("level_process_var").get<double>();
    p.slope_process_var = j.at("slope_process_var").get<double>();
    p.initial_level = j.at("initial_level").get<double>();
    p.initial_level_var = j.at("initial_level_var").get<double>();
    p.initial_slope_var = j.at("initial_slope_var").get<double>();
    return p;
}

// +inf is not JSON: the last calibration edge is written as null.
json edges_to_json(const std::vector<double>& edges) {
    json a = json::array();
    for (double e : edges) a.push_back(std::isinf(e) ? json(nullptr) : json(e));
    return a;
}
}  // namespace

Result<bool> save_model(const rul_model& m, const std::string& path) {
    json j;
    j["format"] = "turbotwin-rul-model/1";
    j["name"] = m.name;
    j["trained_on"] = m.trained_on;
    j["seed"] = m.seed;
    j["rul_cap"] = m.rul_cap;
    j["baseline_cycles"] = m.baseline_cycles;
    j["hi_bias"] = m.hi_bias;
    j["hi_weights"] = m.hi_weights;
    j["feature_names"] = feature_names(m);
    json channels = json::array();
    for (const auto& c : m.channels)
        channels.push_back({{"sensor", c.sensor}, {"name", c.name}, {"filter", filter_to_json(c.filter)}});
    j["channels"] = channels;
    j["calibration"] = {{"coverage", m.calibration.coverage}, {"bin_upper", edges_to_json(m.calibration.bin_upper)},
                        {"lo_offset", m.calibration.lo_offset}, {"hi_offset", m.calibration.hi_offset},
                        {"levels", m.calibration.levels}, {"offsets", m.calibration.offsets}};
    j["novelty"] = {{"mean", m.novelty.mean}, {"directions", m.novelty.directions}, {"scale", m.novelty.scale},
                    {"threshold", m.novelty.threshold}, {"max_widening", m.novelty.max_widening},
                    {"threshold_quantile", m.novelty.threshold_quantile}};
    json trees = json::array();
    for (const auto& t : m.trees.trees) {
        json tree = {{"left", t.left}, {"right", t.right}, {"feature", t.feature}, {"value", t.value},
                     {"default_left", t.default_left}};
        if (!t.cover.empty()) tree["cover"] = t.cover;  // absent in models trained without covers
        trees.push_back(std::move(tree));
    }
    j["trees"] = {{"base_score", m.trees.base_score}, {"trees", trees}};
    std::ofstream out(path);
    if (!out) return {errc::io_error, "cannot write " + path};
    out << j.dump() << '\n';
    if (!out) return {errc::io_error, "write failed: " + path};
    return true;
}

Result<rul_model> load_model(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {errc::io_error, "cannot open model " + path};
    try {
        json j = json::parse(in);
        if (j.value("format", "") != "turbotwin-rul-model/1") return {errc::parse_error, path + ": not a turbotwin model"};
        rul_model m;
        m.name = j.at("name").get<std::string>();
        m.trained_on = j.value("trained_on", "");
        m.seed = j.value("seed", std::uint64_t{0});
        m.rul_cap = j.at("rul_cap").get<double>();
        m.baseline_cycles = j.value("baseline_cycles", std::int64_t{20});
        if (m.baseline_cycles < 1) return {errc::parse_error, path + ": baseline_cycles must be >= 1"};
        m.hi_bias = j.at("hi_bias").get<double>();
        m.hi_weights = j.at("hi_weights").get<std::vector<double>>();
        for (const auto& c : j.at("channels")) {
            sensor_channel ch;
            ch.sensor = c.at("sensor").get<std::size_t>();
            ch.name = c.at("name").get<std::string>();
            ch.filter = filter_from_json(c.at("filter"));
            if (ch.sensor >= sensor_count) return {errc::parse_error, path + ": sensor index out of range"};
            m.channels.push_back(ch);
        }
        if (m.hi_weights.size() != m.channels.size()) return {errc::parse_error, path + ": hi_weights size mismatch"};
        const auto& cal = j.at("calibration");
        m.calibration.coverage = cal.at("coverage").get<double>();
        for (const auto& e : cal.at("bin_upper"))
            m.calibration.bin_upper.push_back(e.is_null() ? std::numeric_limits<double>::infinity() : e.get<double>());
        m.calibration.lo_offset = cal.at("lo_offset").get<std::vector<double>>();
        m.calibration.hi_offset = cal.at("hi_offset").get<std::vector<double>>();
        m.calibration.levels = cal.value("levels", std::vector<double>{});
        m.calibration.offsets = cal.value("offsets", std::vector<std::vector<double>>{});
        if (!m.calibration.levels.empty()) {
            if (m.calibration.offsets.size() != m.calibration.bin_upper.size())
                return {errc::parse_error, path + ": calibration offsets size mismatch"};
            for (std::size_t k = 0; k < m.calibration.levels.size(); ++k)
                if (!(m.calibration.levels[k] > 0 && m.calibration.levels[k] < 1) ||
                    (k > 0 && !(m.calibration.levels[k] > m.calibration.levels[k - 1])))
                    return {errc::parse_error, path + ": calibration levels must increase within (0, 1)"};
            for (const auto& row : m.calibration.offsets)
                if (row.size() != m.calibration.levels.size()) return {errc::parse_error, path + ": calibration offsets size mismatch"};
        }
        if (j.contains("novelty")) {
            const auto& nj = j.at("novelty");
            m.novelty.mean = nj.at("mean").get<std::vector<double>>();
            m.novelty.directions = nj.at("directions").get<std::vector<std::vector<double>>>();
            m.novelty.scale = nj.at("scale").get<std::vector<double>>();
            m.novelty.threshold = nj.at("threshold").get<double>();
            m.novelty.max_widening = nj.value("max_widening", 4.0);
            m.novelty.threshold_quantile = nj.value("threshold_quantile", 0.995);
            const auto n = m.channels.size();
            bool ok = m.novelty.threshold == 0 || (m.novelty.mean.size() == n && m.novelty.scale.size() == n);
            for (const auto& d : m.novelty.directions) ok = ok && d.size() == n;
            if (!ok || !(m.novelty.max_widening >= 1)) return {errc::parse_error, path + ": malformed novelty model"};
        }
        if (m.calibration.lo_offset.size() != m.calibration.bin_upper.size() ||
            m.calibration.hi_offset.size() != m.calibration.bin_upper.size())
            return {errc::parse_error, path + ": calibration size mismatch"};
        const auto& tj = j.at("trees");
        m.trees.base_score = tj.at("base_score").get<double>();
        const auto nf = std::int32_t(feature_count(m));
        for (const auto& t : tj.at("trees")) {
            regression_tree tree;
            tree.left = t.at("left").get<std::vector<std::int32_t>>();
            tree.right = t.at("right").get<std::vector<std::int32_t>>();
            tree.feature = t.at("feature").get<std::vector<std::int32_t>>();
            tree.value = t.at("value").get<std::vector<float>>();
            tree.default_left = t.at("default_left").get<std::vector<std::uint8_t>>();
            if (t.contains("cover")) tree.cover = t.at("cover").get<std::vector<float>>();
            const auto n = tree.left.size();
            if (n == 0 || tree.right.size() != n || tree.feature.size() != n || tree.value.size() != n || tree.default_left.size() != n)
                return {errc::parse_error, path + ": malformed tree"};
            if (!tree.cover.empty() && (tree.cover.size() != n || !std::all_of(tree.cover.begin(), tree.cover.end(), [](float c) { return c >= 0; })))
                return {errc::parse_error, path + ": tree cover must have one non-negative entry per node"};
            for (std::size_t i = 0; i < n; ++i) {
                const bool leaf = tree.left[i] < 0;
                if (!leaf && (tree.left[i] >= std::int32_t(n) || tree.right[i] < 0 || tree.right[i] >= std::int32_t(n) ||
                              tree.left[i] <= std::int32_t(i) || tree.right[i] <= std::int32_t(i) ||
                              tree.feature[i] < 0 || tree.feature[i] >= nf))
                    return {errc::parse_error, path + ": malformed tree node"};
            }
            m.trees.trees.push_back(std::move(tree));
        }
        m.trees.compile();
        return m;
    } catch (const std::exception& e) {
        return {errc::parse_error, path + ": " + e.what()};
    }
}

}  // namespace turbotwin::prognostics
