#include "turbotwin/twin/asset_twin.hpp"

#include <algorithm>
#include <array>
#include <vector>
#include <cmath>
#include <cstdio>

namespace turbotwin::twin {

namespace {
// Channels whose pre-step state process() keeps on the stack (C-MAPSS has 21 sensors).
constexpr std::size_t max_inline_channels = 32;
// EWMA weight of the innovation ratio (about a 10-cycle memory) and the level beyond which the
// readings are not what the filter expects: the mean of ~14 chi-square(1) terms smoothed this way
// has a standard deviation near 0.09, so 2.0 is far outside normal operation.
constexpr double innovation_smoothing = 0.1;
constexpr double innovation_limit = 2.0;
}  // namespace

const char* to_string(confidence c) noexcept { return c == confidence::high ? "high" : "low"; }

asset_twin::asset_twin(std::string asset_id, const twin_config& config) : id_(std::move(asset_id)), config_(&config) {
    filters_.reserve(config.model->channels.size());
    for (const auto& ch : config.model->channels) filters_.emplace_back(ch.filter);
    baselines_.assign(config.model->channels.size(), missing);
}

Result<alerting::asset_alerts::change> asset_twin::record_event(std::string_view type, std::int64_t cycle) {
    const bool maintenance = type == "maintenance";
    if (!maintenance && type != "failure" && type != "removal")
        return {errc::invalid_argument, "event type must be maintenance, failure or removal"};
    if (cycle < last_cycle_)
        return {errc::conflict, "cycle " + std::to_string(cycle) + " is before the last reading (" + std::to_string(last_cycle_) + ")"};
    if (maintenance && !closed_ && applied_ == 0 && life_start_ == cycle && cycle > 0)
        return {errc::conflict, "a new life already started at cycle " + std::to_string(cycle)};
    if (!maintenance && closed_) return {errc::conflict, "the engine was already recorded as " + closed_->type + " at cycle " + std::to_string(closed_->cycle)};
    auto change = alerts_.clear(cycle);
    if (maintenance) {
        // A fresh life: everything learnt about the old one goes, except identity, alert
        // numbering and the cycle count.
        asset_twin fresh(id_, *config_);
        fresh.alerts_ = std::move(alerts_);
        fresh.last_cycle_ = cycle;
        fresh.life_start_ = cycle;
        *this = std::move(fresh);
    } else {
        closed_ = closure{std::string(type), cycle};
        last_cycle_ = cycle;
        if (last_) last_->level = alerting::severity::normal;
    }
    return change;
}

Result<twin_update> asset_twin::process(reading r) {
    if (closed_)
        return {errc::asset_closed, "engine recorded as " + closed_->type + " at cycle " + std::to_string(closed_->cycle) +
                                        "; a maintenance event starts a new life"};
    if (r.cycle == last_cycle_) return {errc::duplicate_cycle, "cycle " + std::to_string(r.cycle) + " already applied"};
    if (r.cycle < last_cycle_)
        return {errc::out_of_order_cycle, "cycle " + std::to_string(r.cycle) + " after " + std::to_string(last_cycle_)};
    const auto report = sanitize(r, *config_->catalogue);
    if (report.present_sensors == 0) return {errc::no_valid_sensors, "no plausible sensor value"};

    const double dt = applied_ == 0 ? 0.0 : double(r.cycle - last_cycle_);
    const auto& model = *config_->model;
    double nis_sum = 0;
    int nis_count = 0;
    // Stepped in place; a numerical fault in one channel must not leave the others advanced, so
    // each state is kept (on the stack: no allocation per reading) until every step succeeded.
    struct saved_state {
        estimation::state_vector x;
        estimation::state_matrix p;
    };
    std::array<saved_state, max_inline_channels> saved_inline;
    std::vector<saved_state> saved_heap;  // only for a model with more channels than that
    saved_state* saved = saved_inline.data();
    if (filters_.size() > saved_inline.size()) {
        saved_heap.resize(filters_.size());
        saved = saved_heap.data();
    }
    for (std::size_t i = 0; i < filters_.size(); ++i) {
        saved[i] = {filters_[i].state(), filters_[i].covariance()};
        estimation::update_info info;
        if (!filters_[i].step(model.channels[i].filter, dt, r.sensors[model.channels[i].sensor], info)) {
            for (std::size_t k = 0; k < i; ++k) filters_[k].set_state(saved[k].x, saved[k].p);
            fault_ = "numerical fault in " + model.channels[i].name + " filter at cycle " + std::to_string(r.cycle);
            return {errc::numerical_fault, *fault_};
        }
        if (info.applied) {
            nis_sum += info.innovation * info.innovation / info.innovation_var;
            ++nis_count;
        }
    }
    last_cycle_ = r.cycle;
    ++applied_;

    if (std::int64_t(applied_) == model.baseline_cycles)
        for (std::size_t i = 0; i < filters_.size(); ++i) baselines_[i] = filters_[i].level();
    // Innovation consistency: readings the filter cannot explain (EWMA over about 10 cycles).
    if (nis_count > 0) innovation_ratio_ += innovation_smoothing * (nis_sum / nis_count - innovation_ratio_);
    // Scratch on the stack (heap only for an unusually wide model): a fleet of twins does not
    // carry per-reading buffers.
    const std::size_t n_features = prognostics::feature_count(model), n_channels = filters_.size();
    std::array<float, 4 + 3 * max_inline_channels> features_inline;
    std::array<double, max_inline_channels> deviations_inline;
    std::vector<float> features_heap;
    std::vector<double> deviations_heap;
    std::span<float> features(features_inline.data(), n_features);
    std::span<double> deviations(deviations_inline.data(), n_channels);
    if (n_features > features_inline.size() || n_channels > deviations_inline.size()) {
        features_heap.resize(n_features);
        deviations_heap.resize(n_channels);
        features = features_heap;
        deviations = deviations_heap;
    }
    prognostics::compute_features(model, r.cycle - life_start_, filters_, baselines_, features);
    for (std::size_t i = 0; i < n_channels; ++i) deviations[i] = filters_[i].level() - baselines_[i];

    twin_update u;
    u.cycle = r.cycle;
    u.novelty = prognostics::novelty_score(model, deviations);
    u.innovation_ratio = innovation_ratio_;
    double widening = 1.0;
    if (u.novelty > 1.0) {
        widening = std::min(model.novelty.max_widening, std::sqrt(u.novelty));
        u.trust = confidence::low;
        char why[160];
        std::snprintf(why, sizeof why, "sensor deviation pattern unlike the training fleet (novelty %.1f > 1)", u.novelty);
        u.trust_reason = why;
    }
    if (innovation_ratio_ > innovation_limit) {
        widening = std::min(model.novelty.max_widening, std::max(widening, std::sqrt(innovation_ratio_)));
        u.trust = confidence::low;
        char why[160];
        std::snprintf(why, sizeof why, "%sreadings inconsistent with the filter (innovation ratio %.1f > %.1f)",
                      u.trust_reason.empty() ? "" : "; ", innovation_ratio_, innovation_limit);
        u.trust_reason += why;
    }
    u.estimate = prognostics::predict(model, features, widening);
    const double p = config_->alert_thresholds.probability;
    u.risk_rul = p > 0 && p < 1 ? prognostics::rul_quantile(model.calibration, u.estimate.raw, p, widening) : u.estimate.rul;
    u.risk = prognostics::failure_probability(model.calibration, u.estimate.raw, config_->alert_thresholds.critical_rul, widening);
    u.dropped_sensors = report.dropped_sensors;
    u.ts_ms = r.ts_ms;
    u.alerts = alerts_.evaluate(config_->alert_thresholds, id_, r.cycle, u.estimate.rul, u.estimate.rul_lo, u.estimate.rul_hi,
                                u.risk_rul);
    u.level = alerts_.current();
    last_ = latest_estimate{u.cycle, u.estimate, u.risk_rul, u.risk, u.trust, u.trust_reason, u.novelty, u.innovation_ratio, u.level};
    return u;
}

std::vector<channel_state> asset_twin::channels() const {
    std::vector<channel_state> out;
    out.reserve(filters_.size());
    for (std::size_t i = 0; i < filters_.size(); ++i)
        out.push_back({config_->model->channels[i].name, filters_[i].level(), filters_[i].level_std(), filters_[i].slope(),
                       filters_[i].slope_std()});
    return out;
}

}  // namespace turbotwin::twin

namespace turbotwin::twin {

std::vector<float> asset_twin::features() const {
    std::vector<float> out(prognostics::feature_count(*config_->model));
    prognostics::compute_features(*config_->model, last_cycle_ - life_start_, filters_, baselines_, out);
    return out;
}

}  // namespace turbotwin::twin
