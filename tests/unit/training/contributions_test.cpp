// The native TreeSHAP (prognostics::feature_contributions) against XGBoost's own pred_contribs on
// a booster trained here, and the covers train_model exports.
#include <gtest/gtest.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "turbotwin/prognostics/model.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"
#include "turbotwin/training/train.hpp"

namespace {

using namespace turbotwin;

constexpr float fnan = std::numeric_limits<float>::quiet_NaN();

// Owning handles, so an early ASSERT return frees them.
struct dmatrix {
    DMatrixHandle h = nullptr;
    ~dmatrix() { if (h) XGDMatrixFree(h); }
};
struct booster {
    BoosterHandle h = nullptr;
    ~booster() { if (h) XGBoosterFree(h); }
};

// The booster as native trees, through the converter training uses.
prognostics::tree_ensemble native_trees(BoosterHandle h) {
    bst_ulong len = 0;
    const char* buf = nullptr;
    EXPECT_EQ(XGBoosterSaveModelToBuffer(h, R"({"format": "json"})", &len, &buf), 0) << XGBGetLastError();
    const auto j = nlohmann::json::parse(buf, buf + len);
    const double base_score = std::stod(j.at("learner").at("learner_model_param").at("base_score").get<std::string>());
    return training::trees_from_xgboost_json(std::string_view(buf, len), base_score);
}

TEST(feature_contributions, EqualXGBoostPredContribsOnABoosterTrainedHere) {
    // GIVEN synthetic rows with interactions, a step and missing values (NaN) in four columns
    constexpr std::size_t rows = 600, cols = 6;
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    std::vector<float> x(rows * cols), y(rows);
    for (std::size_t r = 0; r < rows; ++r) {
        float* row = x.data() + r * cols;
        for (std::size_t c = 0; c < cols; ++c) row[c] = (c < 4 && rng() % 6 == 0) ? fnan : unit(rng);
        auto known = [](float v, float fallback) { return std::isnan(v) ? fallback : v; };
        y[r] = 10.0f * known(row[0], 0.3f) + (known(row[1], 0.0f) > 0.5f ? 5.0f : 0.0f) +
               6.0f * known(row[2], 0.5f) * known(row[3], 0.5f) + 2.0f * row[4] + noise(rng);
    }
    dmatrix d;
    ASSERT_EQ(XGDMatrixCreateFromMat(x.data(), rows, cols, fnan, &d.h), 0) << XGBGetLastError();
    ASSERT_EQ(XGDMatrixSetFloatInfo(d.h, "label", y.data(), rows), 0) << XGBGetLastError();
    // AND a booster trained the way train.cpp trains (hist, row and column subsampling)
    booster b;
    ASSERT_EQ(XGBoosterCreate(&d.h, 1, &b.h), 0) << XGBGetLastError();
    for (const auto& [k, v] : {std::pair{"objective", "reg:squarederror"}, std::pair{"tree_method", "hist"},
                               std::pair{"max_depth", "5"}, std::pair{"eta", "0.3"}, std::pair{"subsample", "0.8"},
                               std::pair{"colsample_bytree", "0.8"}, std::pair{"min_child_weight", "3"},
                               std::pair{"base_score", "7.25"}, std::pair{"seed", "3"}, std::pair{"nthread", "1"},
                               std::pair{"verbosity", "0"}})
        ASSERT_EQ(XGBoosterSetParam(b.h, k, v), 0) << XGBGetLastError();
    for (int i = 0; i < 30; ++i) ASSERT_EQ(XGBoosterUpdateOneIter(b.h, i, d.h), 0) << XGBGetLastError();
    const auto e = native_trees(b.h);
    ASSERT_EQ(e.trees.size(), 30u);

    // WHEN XGBoost computes its contributions (type 2: exact TreeSHAP) and its predictions
    const char* contribs_config = R"({"type": 2, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
    const bst_ulong* shape = nullptr;
    bst_ulong dim = 0;
    const float* out = nullptr;
    ASSERT_EQ(XGBoosterPredictFromDMatrix(b.h, d.h, contribs_config, &shape, &dim, &out), 0) << XGBGetLastError();
    ASSERT_EQ(dim, 2u);
    ASSERT_EQ(shape[0], rows);
    ASSERT_EQ(shape[1], cols + 1);
    const std::vector<float> xgb_contribs(out, out + rows * (cols + 1));
    const char* predict_config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
    ASSERT_EQ(XGBoosterPredictFromDMatrix(b.h, d.h, predict_config, &shape, &dim, &out), 0) << XGBGetLastError();
    const std::vector<float> xgb_predictions(out, out + rows);

    // THEN the native contributions equal XGBoost's for every row, bias included (XGBoost
    // accumulates in float, hence the tolerance)
    std::vector<double> phi(cols + 1);
    double largest_gap = 0.0, largest_contribution = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        const std::span<const float> row(x.data() + r * cols, cols);
        ASSERT_TRUE(prognostics::feature_contributions(e, row, phi));
        double sum = 0.0;
        for (std::size_t c = 0; c <= cols; ++c) {
            const double theirs = xgb_contribs[r * (cols + 1) + c];
            EXPECT_NEAR(phi[c], theirs, 1e-4) << "row " << r << " column " << c;
            largest_gap = std::max(largest_gap, std::abs(phi[c] - theirs));
            if (c < cols) largest_contribution = std::max(largest_contribution, std::abs(phi[c]));
            sum += phi[c];
        }
        // AND they sum to the native prediction, which is XGBoost's
        EXPECT_NEAR(sum, e.predict(row), 1e-4) << "row " << r;
        EXPECT_NEAR(e.predict(row), xgb_predictions[r], 1e-4) << "row " << r;
    }
    EXPECT_GT(largest_contribution, 1.0);  // a real comparison, not zeros against zeros
    RecordProperty("largest_gap_to_xgboost", std::to_string(largest_gap));
}

// The covers train_model exports are XGBoost's hessian sums, node for node: with squared error
// every row weighs 1, so a split node's cover is its children's sum, all whole numbers.
TEST(train_model, ExportsCoversThatExplainItsPredictions) {
    // GIVEN a small simulated run-to-failure fleet (no NASA data needed)
    auto params = simulation::load_simulator_params(std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json");
    ASSERT_TRUE(params.ok()) << params.message();
    simulation::fleet_options fleet_options;
    fleet_options.engines = 8;
    fleet_options.seed = 23;
    fleet_options.cut_short_fraction = 0.0;
    std::vector<dataset::engine_trajectory> fleet;
    for (auto& eng : simulation::simulate_fleet(*params, fleet_options)) fleet.push_back({eng.unit, std::move(eng.cycles)});
    // WHEN trained with a small configuration
    training::train_options o;
    o.rounds = 20;
    o.calibration_folds = 2;
    auto m = training::train_model(fleet, o);
    ASSERT_TRUE(m.ok()) << m.message();
    // THEN every tree carries a cover per node, consistent down the tree
    ASSERT_EQ(m->trees.trees.size(), 20u);
    for (const auto& t : m->trees.trees) {
        ASSERT_EQ(t.cover.size(), t.left.size());
        for (std::size_t i = 0; i < t.left.size(); ++i) {
            EXPECT_EQ(t.cover[i], std::round(t.cover[i])) << i;
            if (t.left[i] >= 0) {
                EXPECT_EQ(t.cover[i], t.cover[std::size_t(t.left[i])] + t.cover[std::size_t(t.right[i])]) << i;
            }
        }
    }
    // AND contributions explain the model's predictions on its own training features
    const auto table = training::build_features(*m, fleet);
    ASSERT_GT(table.rows(), 100u);
    std::vector<double> phi(table.cols + 1);
    for (std::size_t r = 0; r < table.rows(); r += 7) {
        const std::span<const float> row(table.x.data() + r * table.cols, table.cols);
        ASSERT_TRUE(prognostics::feature_contributions(m->trees, row, phi));
        double sum = 0.0;
        for (double v : phi) sum += v;
        EXPECT_NEAR(sum, m->trees.predict(row), 1e-6) << "row " << r;
    }
}

}  // namespace
