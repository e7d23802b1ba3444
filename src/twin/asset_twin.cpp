#include "turbotwin/twin/asset_twin.hpp"

#include <cmath>

namespace turbotwin::twin {

asset_twin::asset_twin(std::string asset_id, const twin_config& config) : id_(std::move(asset_id)), config_(config) {
    filters_.reserve(config.model->channels.size());
    for (const auto& ch : config.model->channels) filters_.emplace_back(ch.filter);
    features_.resize(prognostics::feature_count(*config.model));
}

Result<twin_update> asset_twin::process(reading r) {
    if (r.cycle == last_cycle_) return {errc::duplicate_cycle, "cycle " + std::to_string(r.cycle) + " already applied"};
    if (r.cycle < last_cycle_)
        return {errc::out_of_order_cycle, "cycle " + std::to_string(r.cycle) + " after " + std::to_string(last_cycle_)};
    const auto report = sanitize(r, *config_.catalogue);
    if (report.present_sensors == 0) return {errc::no_valid_sensors, "no plausible sensor value"};

    const double dt = last_cycle_ == 0 ? 0.0 : double(r.cycle - last_cycle_);
    // Step copies first: a numerical fault in one channel must not leave the others advanced.
    std::vector<estimation::trend_filter> next = filters_;
    const auto& model = *config_.model;
    for (std::size_t i = 0; i < next.size(); ++i) {
        estimation::update_info info;
        if (!next[i].step(dt, r.sensors[model.channels[i].sensor], info)) {
            fault_ = "numerical fault in " + model.channels[i].name + " filter at cycle " + std::to_string(r.cycle);
            return {errc::numerical_fault, *fault_};
        }
    }
    filters_ = std::move(next);
    last_cycle_ = r.cycle;
    ++applied_;

    prognostics::compute_features(model, r.cycle, filters_, features_);
    twin_update u;
    u.cycle = r.cycle;
    u.estimate = prognostics::predict(model, features_);
    u.dropped_sensors = report.dropped_sensors;
    u.ts_ms = r.ts_ms;
    u.alerts = alerts_.evaluate(config_.alert_thresholds, id_, r.cycle, u.estimate.rul, u.estimate.rul_lo, u.estimate.rul_hi);
    u.level = alerts_.current();
    last_ = u;
    return u;
}

std::vector<channel_state> asset_twin::channels() const {
    std::vector<channel_state> out;
    out.reserve(filters_.size());
    for (std::size_t i = 0; i < filters_.size(); ++i)
        out.push_back({config_.model->channels[i].name, filters_[i].level(), filters_[i].level_std(), filters_[i].slope(),
                       filters_[i].slope_std()});
    return out;
}

}  // namespace turbotwin::twin
