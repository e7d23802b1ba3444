#include "turbotwin/twin/state_record.hpp"

#include <algorithm>
#include <cmath>

namespace turbotwin::twin {

state_record record_state(const asset_twin& t, std::size_t top_features) {
    auto r = record_state_without_contributions(t);
    add_contributions(r, t.model(), t.features(), top_features);
    return r;
}

state_record record_state_without_contributions(const asset_twin& t) {
    const auto& model = t.model();
    state_record r;
    r.cycle = t.last_cycle();
    r.life_start = t.life_start();
    if (t.last_update()) r.estimate = *t.last_update();
    const auto filters = t.filters();
    const auto baselines = t.baselines();
    const auto health = t.sensors();
    r.channels.reserve(filters.size());
    for (std::size_t i = 0; i < filters.size(); ++i)
        r.channels.push_back({model.channels[i].name, filters[i].level(), filters[i].level_std(), filters[i].slope(), filters[i].slope_std(),
                              baselines[i], health[i]});
    return r;
}

void add_contributions(state_record& r, const prognostics::rul_model& model, std::span<const float> features, std::size_t top_features) {
    std::vector<double> shares(features.size() + 1);
    if (!prognostics::feature_contributions(model.trees, features, shares)) return;
    r.has_contributions = true;
    r.contribution_bias = shares.back();
    const auto names = prognostics::feature_names(model);
    std::vector<std::size_t> order(features.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    // Ties broken by feature order, so the record is the same on every run.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return std::abs(shares[a]) > std::abs(shares[b]); });
    for (std::size_t k = 0; k < std::min(top_features, order.size()); ++k)
        r.top_features.push_back({names[order[k]], features[order[k]], shares[order[k]]});

    // Feature layout (prognostics/model.hpp): 4 engine-wide features, then per channel its
    // levels, its slopes and its deviations.
    const std::size_t n = model.channels.size();
    for (std::size_t i = 0; i < n; ++i)
        r.by_sensor.emplace_back(model.channels[i].name, shares[4 + i] + shares[4 + n + i] + shares[4 + 2 * n + i]);
    std::stable_sort(r.by_sensor.begin(), r.by_sensor.end(),
                     [](const auto& a, const auto& b) { return std::abs(a.second) > std::abs(b.second); });
}

}  // namespace turbotwin::twin
