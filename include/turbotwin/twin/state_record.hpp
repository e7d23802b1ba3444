#pragma once
/// The twin's state at one moment, as an alert keeps it from the moment it fired and
/// `turbotwin explain` recomputes it: the estimate and why it is trusted, every filtered channel
/// with its uncertainty, baseline and probe health, and the features that moved the prediction.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::twin {

struct channel_record {
    std::string sensor;
    double level = 0, level_std = 0, slope = 0, slope_std = 0;
    double baseline = 0;  ///< NaN before the engine's baseline exists
    sensor_health health;
};

/// One feature's share of the prediction (TreeSHAP: the shares plus the bias are the trees' output).
struct feature_contribution {
    std::string feature;
    float value = 0;  ///< the feature's value (NaN: missing)
    double contribution = 0;
};

struct state_record {
    std::int64_t cycle = 0;       ///< the engine's cycle count
    std::int64_t life_start = 0;  ///< cycle its current life began
    latest_estimate estimate;
    std::vector<channel_record> channels;
    /// Empty when the model has no node covers (trained before contributions existed).
    bool has_contributions = false;
    double contribution_bias = 0;                 ///< expected output of the trees over the training fleet
    std::vector<feature_contribution> top_features;  ///< the largest |contribution| first
    std::vector<std::pair<std::string, double>> by_sensor;  ///< per channel: its level, trend and deviation features summed, largest |.| first
};

/// The state of `t` after its last processed reading (`t` must have one). Keeps the
/// `top_features` largest contributions.
state_record record_state(const asset_twin& t, std::size_t top_features = 8);

/// record_state in two steps, for a caller that must not wait for TreeSHAP: the twin's numbers
/// now (cheap copies, `features` the model's input), the contributions later, from those copies
/// and the model alone. Together they give what record_state gives.
state_record record_state_without_contributions(const asset_twin& t);
void add_contributions(state_record& r, const prognostics::rul_model& model, std::span<const float> features, std::size_t top_features = 8);

}  // namespace turbotwin::twin
