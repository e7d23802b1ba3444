// Training is deterministic: the same fleet and seed give the same model file, byte for byte,
// and the seed really reaches the fit. The fleet comes from the committed simulator, so the
// test needs no NASA data.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "turbotwin/prognostics/model.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"
#include "turbotwin/training/train.hpp"

namespace {

using namespace turbotwin;

std::vector<dataset::engine_trajectory> simulated_run_to_failure_fleet(int engines) {
    auto params = simulation::load_simulator_params(std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json");
    EXPECT_TRUE(params.ok()) << params.message();
    if (!params) return {};
    simulation::fleet_options options;
    options.engines = engines;
    options.seed = 11;
    options.cut_short_fraction = 0.0;  // run to failure: training needs the true RUL of every cycle
    std::vector<dataset::engine_trajectory> fleet;
    for (auto& e : simulation::simulate_fleet(*params, options)) fleet.push_back({e.unit, std::move(e.cycles)});
    return fleet;
}

std::string read_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Trains on fleet with a small, fast configuration and returns the saved model file's bytes.
std::string train_and_save(const std::vector<dataset::engine_trajectory>& fleet, std::uint64_t seed, const std::string& name) {
    training::train_options o;
    o.rounds = 30;
    o.calibration_folds = 3;
    o.seed = seed;
    auto model = training::train_model(fleet, o);
    EXPECT_TRUE(model.ok()) << model.message();
    if (!model) return {};
    const auto path = std::filesystem::path(::testing::TempDir()) / ("turbotwin_determinism_" + name + ".json");
    const auto saved = prognostics::save_model(*model, path.string());
    EXPECT_TRUE(saved.ok()) << saved.message();
    auto bytes = read_bytes(path);
    std::filesystem::remove(path);
    return bytes;
}

TEST(TrainingDeterminism, SameSeedSameBytesDifferentSeedDifferentModel) {
    // GIVEN a small simulated run-to-failure fleet
    const auto fleet = simulated_run_to_failure_fleet(16);
    ASSERT_EQ(fleet.size(), 16u);

    // WHEN trained twice with seed 5 and once with seed 6
    const auto first = train_and_save(fleet, 5, "a");
    const auto second = train_and_save(fleet, 5, "b");
    const auto other = train_and_save(fleet, 6, "c");
    ASSERT_FALSE(first.empty());

    // THEN the same seed gives the same bytes
    EXPECT_TRUE(first == second) << "model files differ for the same seed (" << first.size() << " vs " << second.size()
                                 << " bytes)";
    // AND another seed gives another model, beyond the recorded seed itself: the seed must reach
    // the boosting's row and column subsampling.
    auto without_seed = [](const std::string& bytes) {
        auto j = nlohmann::json::parse(bytes);
        j.erase("seed");
        return j.dump();
    };
    EXPECT_NE(without_seed(first), without_seed(other));
}

}  // namespace
