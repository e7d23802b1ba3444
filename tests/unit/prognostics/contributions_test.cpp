// Per-feature contributions (TreeSHAP): hand-computed cases, a brute-force Shapley reference on
// random trees, the sum property on the shipped model, and covers through the model file.
// Agreement with XGBoost's own pred_contribs is tested in tests/unit/training (it needs XGBoost).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>
#include "turbotwin/prognostics/model.hpp"

#include "floating_point.hpp"
#include "temp_dir.hpp"

namespace turbotwin::prognostics {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing_support::fnan;

// One split on feature 0 at 0.5 (a missing value goes left), covers 30 | 10, leaves 2 | 6.
tree_ensemble one_split(double base_score = 100.0) {
    regression_tree t;
    t.left = {1, -1, -1};
    t.right = {2, -1, -1};
    t.feature = {0, 0, 0};
    t.value = {0.5f, 2.0f, 6.0f};
    t.default_left = {1, 0, 0};
    t.cover = {40.0f, 30.0f, 10.0f};
    tree_ensemble e;
    e.base_score = base_score;
    e.trees = {t};
    e.compile();
    return e;
}

std::vector<double> contributions_of(const tree_ensemble& e, std::span<const float> x) {
    std::vector<double> out(x.size() + 1, 0.0);
    EXPECT_TRUE(feature_contributions(e, x, out));
    return out;
}

TEST(feature_contributions, OneSplitGivesTheLeafMinusTheCoverWeightedMean) {
    // GIVEN one split with 30 training rows left (leaf 2) and 10 right (leaf 6), base score 100
    const auto e = one_split();
    // THEN the bias is base + the cover-weighted mean (2*30 + 6*10) / 40 = 3, and the split
    // feature takes the rest: leaf - 3; the other feature nothing
    const float left[] = {0.25f, 7.0f}, right[] = {0.75f, 7.0f}, missing[] = {fnan, 7.0f}, at_threshold[] = {0.5f, 7.0f};
    EXPECT_EQ(contributions_of(e, left), (std::vector<double>{-1.0, 0.0, 103.0}));
    EXPECT_EQ(contributions_of(e, right), (std::vector<double>{3.0, 0.0, 103.0}));
    EXPECT_EQ(contributions_of(e, missing), (std::vector<double>{-1.0, 0.0, 103.0}));       // default left
    EXPECT_EQ(contributions_of(e, at_threshold), (std::vector<double>{3.0, 0.0, 103.0}));  // not < 0.5: right
}

TEST(feature_contributions, TwoFeaturesSplitTheInteractionEqually) {
    // GIVEN a depth-2 tree: f0 < 0.5 ? (f1 < 0.5 ? 0 : 8) : 4, covers 40 = (20 = 10 + 10) + 20
    regression_tree t;
    t.left = {1, 3, -1, -1, -1};
    t.right = {2, 4, -1, -1, -1};
    t.feature = {0, 1, 0, 0, 0};
    t.value = {0.5f, 0.5f, 4.0f, 0.0f, 8.0f};
    t.default_left = {0, 0, 0, 0, 0};
    t.cover = {40, 20, 20, 10, 10};
    tree_ensemble e;
    e.trees = {t};
    // WHEN x goes left then right (prediction 8)
    const float x[] = {0.0f, 1.0f};
    const auto phi = contributions_of(e, x);
    // THEN by hand: v({}) = 4, v({0}) = E[f | f0 left] = 4, v({1}) = 0.5*8 + 0.5*4 = 6, v({0,1}) = 8;
    // phi0 = ((4 - 4) + (8 - 6)) / 2 = 1, phi1 = ((6 - 4) + (8 - 4)) / 2 = 3
    EXPECT_DOUBLE_EQ(phi[0], 1.0);
    EXPECT_DOUBLE_EQ(phi[1], 3.0);
    EXPECT_DOUBLE_EQ(phi[2], 4.0);
}

// ---------------------------------------------------------------- brute-force reference

// Path-dependent conditional expectation (Lundberg et al. 2018, Algorithm 1): a split on a known
// feature follows x, on an unknown one averages both children by their covers.
double expected_given(const regression_tree& t, std::size_t node, std::span<const float> x, unsigned known) {
    if (t.left[node] < 0) return t.value[node];
    const auto l = std::size_t(t.left[node]), r = std::size_t(t.right[node]);
    const auto f = std::size_t(t.feature[node]);
    if (known & (1u << f)) {
        const bool left = std::isnan(x[f]) ? t.default_left[node] != 0 : x[f] < t.value[node];
        return expected_given(t, left ? l : r, x, known);
    }
    return (expected_given(t, l, x, known) * t.cover[l] + expected_given(t, r, x, known) * t.cover[r]) / t.cover[node];
}

// Shapley values by their definition: every subset of the other features, weighted
// |S|! (M - |S| - 1)! / M!.
std::vector<double> brute_force_shapley(const tree_ensemble& e, std::span<const float> x) {
    const std::size_t m = x.size();
    std::vector<double> phi(m + 1, 0.0);
    auto value = [&](unsigned known) {
        double v = e.base_score;
        for (const auto& t : e.trees) v += expected_given(t, 0, x, known);
        return v;
    };
    auto factorial = [](std::size_t n) { return std::tgamma(double(n) + 1.0); };
    for (std::size_t i = 0; i < m; ++i)
        for (unsigned s = 0; s < (1u << m); ++s) {
            if (s & (1u << i)) continue;
            const auto size = std::size_t(__builtin_popcount(s));
            const double weight = factorial(size) * factorial(m - size - 1) / factorial(m);
            phi[i] += weight * (value(s | (1u << i)) - value(s));
        }
    phi[m] = value(0);
    return phi;
}

// A random tree over `features` features (repeats along a path allowed), covers that add up
// (integer row counts, as squared error gives), children numbered after their parent.
regression_tree random_tree(std::mt19937& rng, std::size_t features) {
    regression_tree t;
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    auto add = [&](float cover) {
        t.left.push_back(-1);
        t.right.push_back(-1);
        t.feature.push_back(0);
        t.value.push_back(unit(rng) * 10.0f - 5.0f);
        t.default_left.push_back(0);
        t.cover.push_back(cover);
        return std::size_t(t.left.size() - 1);
    };
    struct pending {
        std::size_t node;
        int depth;
    };
    std::vector<pending> open = {{add(float(50 + rng() % 150)), 0}};
    while (!open.empty()) {
        const auto [node, depth] = open.back();
        open.pop_back();
        const auto cover = unsigned(t.cover[node]);
        if (depth >= 5 || cover < 2 || (depth > 0 && rng() % 4 == 0)) continue;  // stays a leaf
        const unsigned left_cover = 1 + unsigned(rng() % (cover - 1));
        const auto l = add(float(left_cover)), r = add(float(cover - left_cover));
        t.left[node] = std::int32_t(l);
        t.right[node] = std::int32_t(r);
        t.feature[node] = std::int32_t(rng() % features);
        t.value[node] = unit(rng);
        t.default_left[node] = std::uint8_t(rng() % 2);
        open.push_back({l, depth + 1});
        open.push_back({r, depth + 1});
    }
    return t;
}

TEST(feature_contributions, EqualBruteForceShapleyValuesOnRandomTrees) {
    // GIVEN random ensembles of up to depth 5 over 4 features (features repeat along paths)
    std::mt19937 rng(2018);
    std::uniform_real_distribution<float> unit(0.0f, 1.0f);
    constexpr std::size_t features = 4;
    double largest_phi = 0.0;
    for (int k = 0; k < 60; ++k) {
        tree_ensemble e;
        e.base_score = double(unit(rng)) * 20.0;
        for (int t = 0; t < 3; ++t) e.trees.push_back(random_tree(rng, features));
        e.compile();
        for (int r = 0; r < 5; ++r) {
            // WHEN explaining a random point, some features missing
            float x[features];
            for (auto& v : x) v = rng() % 5 == 0 ? fnan : unit(rng);
            std::vector<double> phi(features + 1, -999.0);
            ASSERT_TRUE(feature_contributions(e, x, phi));
            // THEN the values are the Shapley values of the path-dependent expectation
            const auto reference = brute_force_shapley(e, x);
            for (std::size_t i = 0; i <= features; ++i) {
                EXPECT_NEAR(phi[i], reference[i], 1e-9) << "ensemble " << k << " point " << r << " entry " << i;
                if (i < features) largest_phi = std::max(largest_phi, std::abs(phi[i]));
            }
            // AND they add up to the prediction
            double sum = 0;
            for (double v : phi) sum += v;
            EXPECT_NEAR(sum, e.predict(x), 1e-9);
        }
    }
    EXPECT_GT(largest_phi, 1.0);  // the cases were not trivial
}

// ---------------------------------------------------------------- refusals

TEST(feature_contributions, RefusesATreeWithoutCoversAndLeavesOutUntouched) {
    // GIVEN a model with covers and one tree without (a model trained before covers were saved)
    auto e = one_split();
    e.trees.push_back(e.trees[0]);
    e.trees[1].cover.clear();
    const float x[] = {0.25f, 1.0f};
    std::vector<double> out = {42.0, 42.0, 42.0};
    // THEN no contributions, and out is as it was
    EXPECT_FALSE(feature_contributions(e, x, out));
    EXPECT_EQ(out, (std::vector<double>{42.0, 42.0, 42.0}));
    // AND with the covers back it explains the prediction
    e.trees[1].cover = e.trees[0].cover;
    ASSERT_TRUE(feature_contributions(e, x, out));
    EXPECT_EQ(out, (std::vector<double>{-2.0, 0.0, 106.0}));
}

TEST(feature_contributions, RefusesWrongSizesZeroCoverAndFeaturesOutOfRange) {
    const float x[] = {0.25f, 1.0f};
    std::vector<double> out(3, 42.0), short_out(2, 42.0);
    EXPECT_FALSE(feature_contributions(one_split(), x, short_out));
    auto short_cover = one_split();
    short_cover.trees[0].cover.pop_back();
    EXPECT_FALSE(feature_contributions(short_cover, x, out));
    auto zero_cover = one_split();
    zero_cover.trees[0].cover[0] = 0.0f;
    EXPECT_FALSE(feature_contributions(zero_cover, x, out));
    auto far_feature = one_split();
    far_feature.trees[0].feature[0] = 2;  // x has features 0 and 1
    EXPECT_FALSE(feature_contributions(far_feature, x, out));
    EXPECT_EQ(out, (std::vector<double>(3, 42.0)));
}

TEST(feature_contributions, EmptyEnsembleIsAllBias) {
    tree_ensemble e;
    e.base_score = 12.5;
    const float x[] = {1.0f};
    std::vector<double> out(2, 42.0);
    ASSERT_TRUE(feature_contributions(e, x, out));
    EXPECT_EQ(out, (std::vector<double>{0.0, 12.5}));
}

TEST(top_contributions, LargestMagnitudeFirstWithoutTheBias) {
    const std::vector<double> phi = {0.5, -3.0, 2.0, 3.0, 0.0, 1000.0 /* bias */};
    const auto top = top_contributions(phi, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].feature, 1u);  // |-3| ties with 3: lower index first
    EXPECT_EQ(top[0].value, -3.0);
    EXPECT_EQ(top[1].feature, 3u);
    EXPECT_EQ(top[2].feature, 2u);
    EXPECT_EQ(top_contributions(phi, 99).size(), 5u);
    EXPECT_TRUE(top_contributions(std::vector<double>{}, 3).empty());
}

// ---------------------------------------------------------------- the shipped model

TEST(feature_contributions, ShippedModelContributionsSumToItsPrediction) {
    // GIVEN the shipped model, trained with covers
    auto m = load_model(std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json");
    ASSERT_TRUE(m) << m.message();
    for (const auto& t : m->trees.trees) ASSERT_EQ(t.cover.size(), t.left.size()) << "models/fd001.json has no covers";
    // AND feature vectors near its split thresholds (both sides of them, some missing), so the
    // trees' paths vary
    const std::size_t n = feature_count(*m);
    std::vector<std::vector<float>> thresholds(n);
    for (const auto& t : m->trees.trees)
        for (std::size_t i = 0; i < t.left.size(); ++i)
            if (t.left[i] >= 0) thresholds[std::size_t(t.feature[i])].push_back(t.value[i]);
    std::mt19937 rng(11);
    std::vector<float> x(n);
    std::vector<double> phi(n + 1);
    std::size_t nonzero = 0;
    for (int k = 0; k < 200; ++k) {
        for (std::size_t j = 0; j < n; ++j) {
            const auto& th = thresholds[j];
            if (th.empty() || rng() % 10 == 0) {
                x[j] = fnan;
                continue;
            }
            const float v = th[rng() % th.size()];
            x[j] = rng() % 2 ? v : std::nextafter(v, -std::numeric_limits<float>::infinity());
        }
        // WHEN explained
        ASSERT_TRUE(feature_contributions(m->trees, x, phi));
        // THEN contributions plus bias are the prediction
        double sum = 0;
        for (double v : phi) sum += v;
        EXPECT_NEAR(sum, m->trees.predict(x), 1e-4) << k;
        // AND a feature no tree splits on gets exactly nothing (Shapley's dummy axiom)
        for (std::size_t j = 0; j < n; ++j) {
            if (thresholds[j].empty()) {
                EXPECT_EQ(phi[j], 0.0) << j;
            }
            nonzero += phi[j] != 0.0;
        }
    }
    EXPECT_GT(nonzero, 200u);  // the points did exercise the trees
}

// ---------------------------------------------------------------- covers in the model file

// No channels: four features (cycle, hi, hi_slope, hi_dev), enough for the hand-built tree.
rul_model model_with(const tree_ensemble& trees) {
    rul_model m;
    m.name = "covers";
    m.trees = trees;
    return m;
}

TEST(model_io, CoversSurviveSaveAndLoad) {
    testing_support::temp_dir dir("turbotwin-contributions-test");
    std::mt19937 rng(5);
    tree_ensemble e;
    e.base_score = 3.5;
    for (int t = 0; t < 4; ++t) e.trees.push_back(random_tree(rng, 4));
    for (auto& t : e.trees)
        for (auto& c : t.cover) c *= 0.37f;  // not integers: the bits must survive the text
    const auto path = dir.file("model.json");
    ASSERT_TRUE(save_model(model_with(e), path));
    auto back = load_model(path);
    ASSERT_TRUE(back) << back.message();
    ASSERT_EQ(back->trees.trees.size(), e.trees.size());
    for (std::size_t t = 0; t < e.trees.size(); ++t) {
        const auto &a = back->trees.trees[t].cover, &b = e.trees[t].cover;
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << t;
    }
    const float x[] = {0.2f, fnan, 0.7f, 0.4f};
    EXPECT_EQ(contributions_of(back->trees, x), contributions_of(e, x));
}

TEST(model_io, ModelWithoutCoversLoadsAndExplainsNothing) {
    // GIVEN a model file written before covers existed (no "cover" key)
    testing_support::temp_dir dir("turbotwin-contributions-test");
    auto e = one_split();
    e.trees[0].cover.clear();
    const auto path = dir.file("old.json");
    ASSERT_TRUE(save_model(model_with(e), path));
    {
        std::ifstream in(path);
        ASSERT_FALSE(json::parse(in)["trees"]["trees"][0].contains("cover"));
    }
    // WHEN loaded
    auto back = load_model(path);
    ASSERT_TRUE(back) << back.message();
    // THEN it predicts as before and offers no contributions
    EXPECT_TRUE(back->trees.trees[0].cover.empty());
    const float x[] = {0.75f, 0.0f, 0.0f, 0.0f};
    EXPECT_EQ(back->trees.predict(x), 106.0);
    std::vector<double> out(5);
    EXPECT_FALSE(feature_contributions(back->trees, x, out));
}

TEST(model_io, RejectsCoversOfTheWrongSizeOrSign) {
    testing_support::temp_dir dir("turbotwin-contributions-test");
    const auto good = dir.file("good.json");
    ASSERT_TRUE(save_model(model_with(one_split()), good));
    ASSERT_TRUE(load_model(good));
    json j;
    {
        std::ifstream in(good);
        j = json::parse(in);
    }
    for (const auto& [name, cover] : {std::pair{"short", json::array({40.0, 30.0})}, std::pair{"long", json::array({40.0, 30.0, 10.0, 1.0})},
                                      std::pair{"negative", json::array({40.0, -30.0, 10.0})},
                                      std::pair{"not_numbers", json::array({"40", "30", "10"})}}) {
        j["trees"]["trees"][0]["cover"] = cover;
        const auto bad = dir.file(std::string("bad_") + name + ".json");
        std::ofstream(bad) << j.dump();
        auto r = load_model(bad);
        ASSERT_FALSE(r) << name;
        EXPECT_EQ(r.error(), errc::parse_error) << name;
    }
}

}  // namespace
}  // namespace turbotwin::prognostics
