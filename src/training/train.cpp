#include "turbotwin/training/train.hpp"

#include <xgboost/c_api.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "turbotwin/core/sensor_catalogue.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::training {

prognostics::tree_ensemble trees_from_xgboost_json(std::string_view saved_model, double base_score) {
    const auto j = nlohmann::json::parse(saved_model);
    prognostics::tree_ensemble ens;
    ens.base_score = base_score;
    for (const auto& t : j.at("learner").at("gradient_booster").at("model").at("trees")) {
        prognostics::regression_tree tree;
        tree.left = t.at("left_children").get<std::vector<std::int32_t>>();
        tree.right = t.at("right_children").get<std::vector<std::int32_t>>();
        tree.feature = t.at("split_indices").get<std::vector<std::int32_t>>();
        tree.value = t.at("split_conditions").get<std::vector<float>>();
        tree.default_left = t.at("default_left").get<std::vector<std::uint8_t>>();
        tree.cover = t.at("sum_hessian").get<std::vector<float>>();  // per-node row count: what TreeSHAP weighs paths by
        ens.trees.push_back(std::move(tree));
    }
    ens.compile();
    return ens;
}

namespace {

double remaining_life(const dataset::engine_trajectory& e, std::size_t row) {
    return double(e.cycles.back().cycle + e.rul_after_last - e.cycles[row].cycle);
}

double mean_of(const std::vector<double>& v) { return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

double variance_of(const std::vector<double>& v) {
    if (v.size() < 2) return 0.0;
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / double(v.size() - 1);
}

// Negative log-likelihood of the innovations of one channel over all engines.
double negative_log_likelihood(const std::vector<dataset::engine_trajectory>& engines, std::size_t sensor,
                               const estimation::trend_filter_params& p) {
    double nll = 0;
    for (const auto& e : engines) {
        estimation::trend_filter f(p);
        std::int64_t last = 0;
        for (const auto& r : e.cycles) {
            estimation::update_info info;
            const double dt = last == 0 ? 0.0 : double(r.cycle - last);
            last = r.cycle;
            if (!f.step(dt, r.sensors[sensor], info)) return std::numeric_limits<double>::infinity();
            if (info.applied) nll += 0.5 * (std::log(info.innovation_var) + info.innovation * info.innovation / info.innovation_var);
        }
    }
    return nll;
}

// Any xgboost call that fails aborts training with its message.
struct xgb_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
void check(int rc) {
    if (rc != 0) throw xgb_error(XGBGetLastError());
}

struct dmatrix {
    DMatrixHandle h = nullptr;
    dmatrix(const float* x, std::size_t rows, std::size_t cols) {
        check(XGDMatrixCreateFromMat(x, rows, cols, std::numeric_limits<float>::quiet_NaN(), &h));
    }
    ~dmatrix() { if (h) XGDMatrixFree(h); }
    dmatrix(const dmatrix&) = delete;
    dmatrix& operator=(const dmatrix&) = delete;
};

struct booster {
    BoosterHandle h = nullptr;
    explicit booster(DMatrixHandle train) { check(XGBoosterCreate(&train, 1, &h)); }
    ~booster() { if (h) XGBoosterFree(h); }
    booster(const booster&) = delete;
    booster& operator=(const booster&) = delete;
    void set(const char* k, const std::string& v) { check(XGBoosterSetParam(h, k, v.c_str())); }
};

// Converts XGBoost's JSON model to our native trees.
prognostics::tree_ensemble to_ensemble(BoosterHandle h, double base_score) {
    bst_ulong len = 0;
    const char* buf = nullptr;
    check(XGBoosterSaveModelToBuffer(h, R"({"format": "json"})", &len, &buf));
    return trees_from_xgboost_json(std::string_view(buf, len), base_score);
}

prognostics::tree_ensemble fit_trees(const feature_table& table, const std::vector<std::size_t>& rows, const train_options& o) {
    std::vector<float> x;
    std::vector<float> y;
    x.reserve(rows.size() * table.cols);
    y.reserve(rows.size());
    for (std::size_t r : rows) {
        x.insert(x.end(), table.x.begin() + std::ptrdiff_t(r * table.cols), table.x.begin() + std::ptrdiff_t((r + 1) * table.cols));
        y.push_back(std::min(table.rul[r], float(o.rul_cap)));
    }
    double base = 0;
    for (float v : y) base += v;
    base /= double(std::max<std::size_t>(1, y.size()));
    dmatrix d(x.data(), rows.size(), table.cols);
    check(XGDMatrixSetFloatInfo(d.h, "label", y.data(), y.size()));
    booster b(d.h);
    b.set("objective", "reg:squarederror");
    b.set("tree_method", "hist");
    b.set("max_depth", std::to_string(o.max_depth));
    b.set("eta", std::to_string(o.eta));
    b.set("subsample", std::to_string(o.subsample));
    b.set("colsample_bytree", std::to_string(o.colsample));
    b.set("min_child_weight", std::to_string(o.min_child_weight));
    b.set("seed", std::to_string(o.seed));
    b.set("nthread", std::to_string(o.threads));
    b.set("base_score", std::to_string(base));
    b.set("verbosity", "0");
    for (int i = 0; i < o.rounds; ++i) check(XGBoosterUpdateOneIter(b.h, i, d.h));
    // Read back the base score XGBoost actually stored (text round trip of the parameter).
    bst_ulong len = 0;
    const char* cfg = nullptr;
    check(XGBoosterSaveJsonConfig(b.h, &len, &cfg));
    const auto jc = nlohmann::json::parse(cfg, cfg + len);
    const double stored_base = std::stod(jc.at("learner").at("learner_model_param").at("base_score").get<std::string>());
    return to_ensemble(b.h, stored_base);
}

// Split-conformal offsets per bin of the raw prediction.
prognostics::interval_calibration fit_calibration(const std::vector<double>& predicted, const std::vector<double>& truth,
                                                  double coverage) {
    prognostics::interval_calibration c;
    c.coverage = coverage;
    const std::vector<double> edges = {10, 20, 35, 50, 70, 90, 110, std::numeric_limits<double>::infinity()};
    const double tail = (1.0 - coverage) / 2.0;
    double lower = -std::numeric_limits<double>::infinity();
    c.levels = {0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
    for (double upper : edges) {
        std::vector<double> res;
        for (std::size_t i = 0; i < predicted.size(); ++i)
            if (predicted[i] > lower && predicted[i] <= upper) res.push_back(truth[i] - predicted[i]);
        lower = upper;
        if (res.size() < 30) continue;  // too few residuals: merge into the next bin
        std::sort(res.begin(), res.end());
        // Conformal quantile indices with the finite-sample correction (n+1): the lower end
        // rounds down and the upper end up, so the interval never undercovers by rounding.
        const auto n = double(res.size());
        auto lower_index = [&](double q) { return std::size_t(std::clamp(std::floor(q * (n + 1)) - 1, 0.0, n - 1)); };
        auto upper_index = [&](double q) { return std::size_t(std::clamp(std::ceil(q * (n + 1)) - 1, 0.0, n - 1)); };
        c.bin_upper.push_back(upper);
        c.lo_offset.push_back(res[lower_index(tail)]);
        c.hi_offset.push_back(res[upper_index(1.0 - tail)]);
        std::vector<double> row;
        for (double q : c.levels) row.push_back(res[q < 0.5 ? lower_index(q) : upper_index(q)]);
        c.offsets.push_back(std::move(row));
    }
    if (!c.bin_upper.empty()) c.bin_upper.back() = std::numeric_limits<double>::infinity();
    return c;
}

// Principal degradation directions of the training fleet and the threshold of the residual
// off them (see prognostics::novelty_model).
prognostics::novelty_model fit_novelty(const prognostics::rul_model& m, const feature_table& t) {
    prognostics::novelty_model nv;
    const std::size_t n = m.channels.size();
    for (const auto& ch : m.channels) nv.scale.push_back(1.0 / std::sqrt(ch.filter.measurement_var));
    const std::size_t dev0 = 4 + 2 * n;  // first deviation column (see feature_names)
    std::vector<Eigen::VectorXd> rows;
    for (std::size_t r = 0; r < t.rows(); ++r) {
        Eigen::VectorXd z(static_cast<Eigen::Index>(n));
        bool known = true;
        for (std::size_t i = 0; i < n && known; ++i) {
            const float d = t.x[r * t.cols + dev0 + i];
            known = !std::isnan(d);
            z(Eigen::Index(i)) = double(d) * nv.scale[i];
        }
        if (known) rows.push_back(z);
    }
    if (rows.size() < 10 * n) return nv;  // too little data: novelty stays disabled
    Eigen::VectorXd mean = Eigen::VectorXd::Zero(Eigen::Index(n));
    for (const auto& z : rows) mean += z;
    mean /= double(rows.size());
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(Eigen::Index(n), Eigen::Index(n));
    for (const auto& z : rows) cov += (z - mean) * (z - mean).transpose();
    cov /= double(rows.size() - 1);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(cov);
    // Directions in decreasing variance until 90% of it is explained (at most 3): the fleet's
    // wear moves the sensors together along a low-dimensional path; noise spreads the rest.
    const Eigen::VectorXd values = eig.eigenvalues();
    const double total = values.sum();
    double explained = 0;
    for (Eigen::Index k = values.size() - 1; k >= 0 && nv.directions.size() < 3 && explained < 0.9 * total; --k) {
        explained += values(k);
        const Eigen::VectorXd d = eig.eigenvectors().col(k);
        nv.directions.emplace_back(d.data(), d.data() + d.size());
    }
    nv.mean.assign(mean.data(), mean.data() + mean.size());
    std::vector<double> scores;
    scores.reserve(rows.size());
    for (const auto& z : rows) {
        Eigen::VectorXd r = z - mean;
        for (const auto& d : nv.directions) {
            const Eigen::Map<const Eigen::VectorXd> dv(d.data(), Eigen::Index(n));
            r -= dv.dot(r) * dv;
        }
        scores.push_back(r.squaredNorm());
    }
    std::sort(scores.begin(), scores.end());
    nv.threshold = scores[std::size_t(nv.threshold_quantile * double(scores.size() - 1))];
    return nv;
}

}  // namespace

prognostics::interval_calibration conformal_calibration(const std::vector<double>& predicted, const std::vector<double>& truth,
                                                        double coverage) {
    return fit_calibration(predicted, truth, coverage);
}

std::vector<prognostics::sensor_channel> select_channels(const std::vector<dataset::engine_trajectory>& engines) {
    std::vector<prognostics::sensor_channel> out;
    for (std::size_t s = 0; s < sensor_count; ++s) {
        std::vector<double> v, life;
        for (const auto& e : engines)
            for (std::size_t i = 0; i < e.cycles.size(); ++i) {
                const double x = e.cycles[i].sensors[s];
                if (std::isnan(x)) continue;
                v.push_back(x);
                life.push_back(std::min(remaining_life(e, i), 125.0));
            }
        if (v.size() < 10) continue;
        const double sd = std::sqrt(variance_of(v)), sl = std::sqrt(variance_of(life));
        if (!(sd > 1e-9) || !(sl > 0)) continue;
        const double mv = mean_of(v), ml = mean_of(life);
        double cov = 0;
        for (std::size_t i = 0; i < v.size(); ++i) cov += (v[i] - mv) * (life[i] - ml);
        const double corr = cov / double(v.size() - 1) / (sd * sl);
        // Below this the sensor is noise for prognostics (FD001's settings-like sensors).
        if (std::abs(corr) < 0.3) continue;
        out.push_back({s, std::string(sensor_names[s]), {}});
    }
    return out;
}

estimation::trend_filter_params fit_filter(const std::vector<dataset::engine_trajectory>& engines, std::size_t sensor) {
    // Prior: the fleet's spread of early-life levels; noise: from first differences early in life.
    std::vector<double> starts, diffs;
    for (const auto& e : engines) {
        std::vector<double> first;
        for (std::size_t i = 0; i < e.cycles.size() && first.size() < 10; ++i)
            if (!std::isnan(e.cycles[i].sensors[sensor])) first.push_back(e.cycles[i].sensors[sensor]);
        if (!first.empty()) starts.push_back(mean_of(first));
        for (std::size_t i = 1; i < e.cycles.size() && i < 50; ++i) {
            const double d = e.cycles[i].sensors[sensor] - e.cycles[i - 1].sensors[sensor];
            if (!std::isnan(d)) diffs.push_back(d);
        }
    }
    estimation::trend_filter_params p;
    p.initial_level = mean_of(starts);
    const double noise_var = std::max(1e-12, variance_of(diffs) / 2.0);
    p.measurement_var = noise_var;
    p.initial_level_var = std::max(variance_of(starts), noise_var / 10.0);
    p.level_process_var = noise_var * 1e-4;
    p.slope_process_var = noise_var * 1e-7;
    p.initial_slope_var = noise_var * 1e-5;

    // Coordinate search on log scale over the four noise terms, shrinking the step.
    double* knobs[] = {&p.measurement_var, &p.level_process_var, &p.slope_process_var, &p.initial_slope_var};
    double best = negative_log_likelihood(engines, sensor, p);
    for (double step : {10.0, 3.0, 1.7, 1.3, 1.1}) {
        for (int sweep = 0; sweep < 3; ++sweep) {
            bool improved = false;
            for (double* k : knobs) {
                for (double factor : {step, 1.0 / step}) {
                    const double saved = *k;
                    *k = saved * factor;
                    const double nll = negative_log_likelihood(engines, sensor, p);
                    if (nll < best - 1e-9) {
                        best = nll;
                        improved = true;
                        break;
                    }
                    *k = saved;
                }
            }
            if (!improved) break;
        }
    }
    return p;
}

feature_table build_features(const prognostics::rul_model& m, const std::vector<dataset::engine_trajectory>& engines) {
    feature_table t;
    t.cols = prognostics::feature_count(m);
    // A permissive catalogue: training data is taken as it is.
    auto catalogue = std::make_shared<sensor_catalogue>();
    twin::twin_config config;
    config.model = std::make_shared<prognostics::rul_model>(m);
    config.catalogue = catalogue;
    for (std::size_t e = 0; e < engines.size(); ++e) {
        twin::asset_twin tw("train", config);
        const auto& eng = engines[e];
        for (std::size_t i = 0; i < eng.cycles.size(); ++i) {
            if (!tw.process(eng.cycles[i])) continue;
            auto f = tw.features();
            t.x.insert(t.x.end(), f.begin(), f.end());
            t.rul.push_back(float(remaining_life(eng, i)));
            t.engine.push_back(e);
        }
    }
    return t;
}

Result<prognostics::rul_model> train_model(const std::vector<dataset::engine_trajectory>& engines, const train_options& o,
                                           const log_fn& log) {
    auto say = [&](const std::string& s) { if (log) log(s); };
    if (engines.size() < std::size_t(std::max(2, o.calibration_folds))) return {errc::invalid_argument, "too few engines to train"};
    if (o.calibrate_from_engine >= engines.size()) return {errc::invalid_argument, "no engine left to calibrate the intervals on"};
    prognostics::rul_model m;
    m.name = o.name;
    m.seed = o.seed;
    m.rul_cap = o.rul_cap;
    m.baseline_cycles = o.baseline_cycles;
    m.channels = select_channels(engines);
    if (m.channels.empty()) return {errc::invalid_argument, "no informative sensor found"};
    std::string names;
    for (const auto& c : m.channels) names += c.name + " ";
    say("channels: " + names);
    for (auto& c : m.channels) c.filter = fit_filter(engines, c.sensor);
    say("filters fitted by maximum likelihood");
    m.hi_weights.assign(m.channels.size(), 0.0);
    m.trees.base_score = 0;

    // Health index: least squares of capped RUL on the filtered levels.
    {
        const auto t = build_features(m, engines);
        const std::size_t n = m.channels.size();
        Eigen::MatrixXd a(t.rows(), n + 1);
        Eigen::VectorXd b(t.rows());
        for (std::size_t r = 0; r < t.rows(); ++r) {
            a(Eigen::Index(r), 0) = 1.0;
            for (std::size_t i = 0; i < n; ++i) a(Eigen::Index(r), Eigen::Index(i + 1)) = t.x[r * t.cols + 4 + i];
            b(Eigen::Index(r)) = std::min(double(t.rul[r]), o.rul_cap);
        }
        // Standardise columns for a well-conditioned solve.
        Eigen::VectorXd mu = a.colwise().mean(), sd = ((a.rowwise() - mu.transpose()).array().square().colwise().sum() / double(t.rows())).sqrt();
        mu(0) = 0; sd(0) = 1;
        for (Eigen::Index c = 1; c < a.cols(); ++c) a.col(c) = (a.col(c).array() - mu(c)) / (sd(c) > 0 ? sd(c) : 1.0);
        const Eigen::VectorXd w = a.colPivHouseholderQr().solve(b);
        m.hi_bias = w(0);
        for (std::size_t i = 0; i < n; ++i) {
            const double s = sd(Eigen::Index(i + 1)) > 0 ? sd(Eigen::Index(i + 1)) : 1.0;
            m.hi_weights[i] = w(Eigen::Index(i + 1)) / s;
            m.hi_bias -= m.hi_weights[i] * mu(Eigen::Index(i + 1));
        }
    }
    const auto table = build_features(m, engines);
    say("features: " + std::to_string(table.rows()) + " rows x " + std::to_string(table.cols));
    m.novelty = fit_novelty(m, table);
    say("novelty: " + std::to_string(m.novelty.directions.size()) + " degradation directions, threshold " +
        std::to_string(m.novelty.threshold));

    try {
        // Out-of-fold predictions (folds by engine) for calibration.
        std::vector<double> oof_pred, oof_truth;
        for (int fold = 0; fold < o.calibration_folds; ++fold) {
            std::vector<std::size_t> train_rows, test_rows;
            for (std::size_t r = 0; r < table.rows(); ++r)
                (int(table.engine[r] % std::size_t(o.calibration_folds)) == fold ? test_rows : train_rows).push_back(r);
            const auto ens = fit_trees(table, train_rows, o);
            for (std::size_t r : test_rows) {
                // Calibrate where the official test sets score: true RUL 1..150.
                if (table.rul[r] < 1 || table.rul[r] > 150 || table.engine[r] < o.calibrate_from_engine) continue;
                std::span<const float> f(table.x.data() + r * table.cols, table.cols);
                oof_pred.push_back(ens.predict(f));
                oof_truth.push_back(table.rul[r]);
            }
            say("calibration fold " + std::to_string(fold + 1) + "/" + std::to_string(o.calibration_folds) + " done");
        }
        m.calibration = fit_calibration(oof_pred, oof_truth, 0.9);
        std::vector<std::size_t> all(table.rows());
        std::iota(all.begin(), all.end(), 0);
        m.trees = fit_trees(table, all, o);
    } catch (const xgb_error& e) {
        return {errc::invalid_argument, std::string("xgboost: ") + e.what()};
    }
    say("trained " + std::to_string(m.trees.trees.size()) + " trees");
    return m;
}

}  // namespace turbotwin::training
