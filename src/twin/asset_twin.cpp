#include "turbotwin/twin/asset_twin.hpp"

#include <algorithm>
#include <array>
#include <vector>
#include <cmath>
#include <cstdio>
#include <memory>
#include <new>
#include <type_traits>

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

const asset_twin::rare_state& asset_twin::no_rare_state() noexcept {
    static const rare_state none;
    return none;
}

const char* to_string(confidence c) noexcept { return c == confidence::high ? "high" : "low"; }

asset_twin::channel_block::channel_block(const prognostics::rul_model& model) : n_(model.channels.size()) {
    static_assert(std::is_trivially_destructible_v<estimation::trend_state> && std::is_trivially_destructible_v<sensor_health>);
    static_assert(alignof(estimation::trend_state) <= alignof(std::max_align_t) && sizeof(estimation::trend_state) % alignof(double) == 0 &&
                  alignof(sensor_health) <= alignof(double));
    bytes_ = std::make_unique<std::byte[]>(health_at() + n_ * sizeof(sensor_health));
    for (std::size_t i = 0; i < n_; ++i) {
        new (bytes_.get() + i * sizeof(estimation::trend_state)) estimation::trend_state(model.channels[i].filter);
        new (bytes_.get() + baselines_at() + i * sizeof(double)) double(missing);
        new (bytes_.get() + health_at() + i * sizeof(sensor_health)) sensor_health();
    }
}

asset_twin::asset_twin(std::string asset_id, const twin_config& config)
    : id_(std::move(asset_id)), config_(&config), block_(*config.model) {}

Result<alerting::asset_alerts::change> asset_twin::record_event(std::string_view type, std::int64_t cycle) {
    const bool maintenance = type == "maintenance";
    if (!maintenance && type != "failure" && type != "removal")
        return {errc::invalid_argument, "event type must be maintenance, failure or removal"};
    if (cycle < last_cycle_)
        return {errc::conflict, "cycle " + std::to_string(cycle) + " is before the last reading (" + std::to_string(last_cycle_) + ")"};
    if (maintenance && !closed() && applied_ == 0 && life_start_ == cycle && cycle > 0)
        return {errc::conflict, "a new life already started at cycle " + std::to_string(cycle)};
    if (!maintenance && closed()) return {errc::conflict, "the engine was already recorded as " + closed()->type + " at cycle " + std::to_string(closed()->cycle)};
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
        rare().closed = closure{std::string(type), cycle};
        last_cycle_ = cycle;
        if (last_) last_->level = alerting::severity::normal;
    }
    return change;
}

/// Per-reading working space, on the stack for the usual model width (C-MAPSS has 21 sensors):
/// a fleet of twins does not carry per-reading buffers, and a reading allocates nothing.
struct asset_twin::channel_scratch {
    explicit channel_scratch(std::size_t n) {
        double* d = doubles_inline_.data();
        bool* b = flags_inline_.data();
        if (n > max_inline_channels) {
            doubles_heap_.resize(4 * n);
            flags_heap_ = std::make_unique<bool[]>(3 * n);
            d = doubles_heap_.data();
            b = flags_heap_.get();
        }
        z = {d, n};
        deviations = {d + n, n};
        residuals = {d + 2 * n, n};
        slopes = {d + 3 * n, n};
        gated = {b, n};
        observed = {b + n, n};
        was_failed = {b + 2 * n, n};
    }
    std::span<double> z;           ///< the reading per channel (NaN: missing or implausible)
    std::span<double> deviations;  ///< level minus baseline; a failed probe's imputed
    std::span<double> residuals;   ///< off the fleet's degradation subspace (drift)
    std::span<double> slopes;      ///< trends, a failed probe's imputed
    std::span<bool> gated;         ///< outlier this reading: not applied
    std::span<bool> observed;      ///< the probe's own numbers are used (not failed, or isolation off)
    std::span<bool> was_failed;    ///< failed before this reading (the recovery rule applies)

private:
    std::array<double, 4 * max_inline_channels> doubles_inline_;
    std::array<bool, 3 * max_inline_channels> flags_inline_;
    std::vector<double> doubles_heap_;
    std::unique_ptr<bool[]> flags_heap_;
};

void asset_twin::set_health(std::size_t i, sensor_status status, sensor_fault reason, std::int64_t since, twin_update& u) {
    auto& h = block_.health()[i];
    if (h.status == status && h.reason == reason) return;
    const auto ended_failure = h.status == sensor_status::failed ? std::optional<std::int64_t>(h.since) : std::nullopt;
    const auto ended_reason = h.status == sensor_status::failed ? h.reason : sensor_fault::none;
    h.status = status;
    h.reason = reason;
    h.since = std::int32_t(std::clamp<std::int64_t>(since, 0, INT32_MAX));
    h.gated = 0;
    h.dominant = 0;
    u.sensor_changes.push_back({config_->model->channels[i].name, status, reason, h.since, ended_failure, ended_reason});
}

void asset_twin::compute_inputs(std::int64_t cycle, channel_scratch& sc, std::span<float> features) const {
    const auto& model = *config_->model;
    const std::size_t n = block_.filters().size();
    bool any_failed = false;
    for (std::size_t i = 0; i < n; ++i) {
        sc.observed[i] = !(config_->isolate_sensor_faults && block_.health()[i].status == sensor_status::failed);
        any_failed = any_failed || !sc.observed[i];
        sc.deviations[i] = block_.filters()[i].level() - block_.baselines()[i];
        sc.slopes[i] = block_.filters()[i].slope();
    }
    if (!any_failed) {
        prognostics::compute_features(model, cycle, block_.filters(), block_.baselines(), features);
        return;
    }
    // A failed probe's filter only coasts; the predictor sees instead the level and trend the
    // other channels imply (the fleet's degradation subspace). Before the engine has a
    // baseline there is nothing to impute from, and the coasting filter stands in.
    std::vector<estimation::trend_state> inputs(block_.filters().begin(), block_.filters().end());  // only for an engine with a failed probe
    if (!std::isnan(block_.baselines()[0]) && prognostics::impute_deviations(model, sc.deviations, sc.observed, true) &&
        prognostics::impute_deviations(model, sc.slopes, sc.observed, false)) {
        for (std::size_t i = 0; i < n; ++i) {
            if (sc.observed[i]) continue;
            estimation::state_vector x;
            x << block_.baselines()[i] + sc.deviations[i], sc.slopes[i];
            inputs[i].set_state(x, block_.filters()[i].covariance());
        }
    }
    prognostics::compute_features(model, cycle, inputs, block_.baselines(), features);
}

void asset_twin::judge_sensors(std::int64_t cycle, channel_scratch& sc, twin_update& u) {
    const auto& rules = config_->sensor_rules;
    const std::size_t n = block_.filters().size();
    std::size_t varying = 0;  // probes whose value changed with this reading
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isnan(sc.z[i]) && block_.health()[i].repeats == 0) ++varying;
    for (std::size_t i = 0; i < n; ++i) {
        auto& h = block_.health()[i];
        if (h.status == sensor_status::failed) continue;  // judged by the recovery rule
        // The common case, settled at once: a healthy probe read a fresh, plausible value.
        if (h.status == sensor_status::ok && h.missing == 0 && h.repeats < rules.stuck_repeats && !sc.gated[i]) {
            h.gated = 0;
            continue;
        }
        if (h.missing >= rules.dropout_readings) {
            set_health(i, sensor_status::failed, sensor_fault::dropout, h.reason == sensor_fault::dropout ? h.since : cycle, u);
        } else if (h.missing > 0) {
            set_health(i, sensor_status::suspect, sensor_fault::dropout, cycle, u);
        } else if (h.repeats >= rules.stuck_repeats && varying > 0 &&
                   h.repeats >= stuck_repeats_needed(h.decimals, std::sqrt(config_->model->channels[i].filter.measurement_var), rules)) {
            // Others vary, this one repeats bit for bit: a stuck probe (a resent frame repeats all).
            set_health(i, sensor_status::failed, sensor_fault::stuck, cycle - h.repeats + 1, u);
        } else if (sc.gated[i]) {
            h.gated = up_to(h.gated, sensor_health::max_run) & 7u;
            const unsigned run = h.gated;
            if (run >= rules.jump_readings) set_health(i, sensor_status::failed, sensor_fault::jump, cycle - run + 1, u);
            else set_health(i, sensor_status::suspect, sensor_fault::spike, cycle, u);
            block_.health()[i].gated = run & 7u;  // set_health resets the run when the status changes
            ++u.gated_sensors;
        } else if (!std::isnan(sc.z[i])) {
            h.gated = 0;
            set_health(i, sensor_status::ok, sensor_fault::none, cycle, u);
        }
    }
}

Result<twin_update> asset_twin::process(reading r) {
    if (closed())
        return {errc::asset_closed, "engine recorded as " + closed()->type + " at cycle " + std::to_string(closed()->cycle) +
                                        "; a maintenance event starts a new life"};
    if (r.cycle == last_cycle_) return {errc::duplicate_cycle, "cycle " + std::to_string(r.cycle) + " already applied"};
    if (r.cycle < last_cycle_)
        return {errc::out_of_order_cycle, "cycle " + std::to_string(r.cycle) + " after " + std::to_string(last_cycle_)};
    const auto report = sanitize(r, *config_->catalogue);
    if (report.present_sensors == 0) return {errc::no_valid_sensors, "no plausible sensor value"};

    const double dt = applied_ == 0 ? 0.0 : double(r.cycle - last_cycle_);
    const auto& model = *config_->model;
    const auto& rules = config_->sensor_rules;
    const bool isolate = config_->isolate_sensor_faults;
    const std::size_t n_channels = block_.filters().size();
    channel_scratch sc(n_channels);

    // What each probe reads, judged against what its filter expects before anything is applied.
    std::size_t outliers = 0;
    for (std::size_t i = 0; i < n_channels; ++i) {
        const double z = r.sensors[model.channels[i].sensor];
        sc.z[i] = z;
        sc.gated[i] = false;
        if (std::isnan(z)) continue;
        if (block_.health()[i].status == sensor_status::failed || applied_ == 0) continue;
        const auto expected = block_.filters()[i].expect(model.channels[i].filter, dt);
        if (std::abs(z - expected.level) > rules.gate_sigmas * std::sqrt(expected.innovation_var)) {
            sc.gated[i] = true;
            ++outliers;
        }
    }
    // Many probes jumping at once is the engine itself, not its probes: nothing is gated.
    if (outliers > rules.max_isolated) std::fill(sc.gated.begin(), sc.gated.end(), false);

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
    if (n_channels > saved_inline.size()) {
        saved_heap.resize(n_channels);
        saved = saved_heap.data();
    }
    for (std::size_t i = 0; i < n_channels; ++i) {
        saved[i] = {block_.filters()[i].state(), block_.filters()[i].covariance()};
        const bool excluded = isolate && (sc.gated[i] || block_.health()[i].status == sensor_status::failed);
        estimation::update_info info;
        if (!block_.filters()[i].step(model.channels[i].filter, dt, excluded ? missing : sc.z[i], info)) {
            for (std::size_t k = 0; k < i; ++k) block_.filters()[k].set_state(saved[k].x, saved[k].p);
            rare().fault = "numerical fault in " + model.channels[i].name + " filter at cycle " + std::to_string(r.cycle);
            return {errc::numerical_fault, *rare_->fault};
        }
        if (info.applied) {
            nis_sum += info.innovation * info.innovation / info.innovation_var;
            ++nis_count;
        }
    }
    // The probes' records: missing runs and exact repeats (stuck detection).
    for (std::size_t i = 0; i < n_channels; ++i) {
        auto& h = block_.health()[i];
        const double z = sc.z[i];
        if (std::isnan(z)) {
            h.missing = up_to(h.missing, sensor_health::max_missing) & 3u;
            continue;
        }
        h.missing = 0;
        const float value = float(z);
        h.repeats = value == h.last_value ? up_to(h.repeats, sensor_health::max_repeats) & 31u : 0u;
        h.last_value = value;
        h.decimals = printed_decimals(z, std::uint8_t(h.decimals)) & 7u;
    }
    last_cycle_ = r.cycle;
    ++applied_;

    twin_update u;
    u.cycle = r.cycle;
    for (std::size_t i = 0; i < n_channels; ++i) sc.was_failed[i] = block_.health()[i].status == sensor_status::failed;
    judge_sensors(r.cycle, sc, u);

    if (std::int64_t(applied_) == model.baseline_cycles)
        for (std::size_t i = 0; i < n_channels; ++i) block_.baselines()[i] = block_.filters()[i].level();
    // Innovation consistency: readings the filter cannot explain (EWMA over about 10 cycles).
    if (nis_count > 0) innovation_ratio_ += innovation_smoothing * (nis_sum / nis_count - innovation_ratio_);
    const std::size_t n_features = prognostics::feature_count(model);
    std::array<float, 4 + 3 * max_inline_channels> features_inline;
    std::vector<float> features_heap;
    std::span<float> features(features_inline.data(), n_features);
    if (n_features > features_inline.size()) {
        features_heap.resize(n_features);
        features = features_heap;
    }
    compute_inputs(r.cycle - life_start_, sc, features);
    u.novelty = prognostics::novelty_residuals(model, sc.deviations, sc.residuals);

    // Drift: one probe alone carrying most of a deviation pattern the training fleet never showed.
    // Each channel's reconstruction-based contribution (how much of the residual reconstructing
    // that channel alone from the others removes: r_i^2 / (1 - sum_k d_ki^2)), so that a channel
    // the fleet's wear moves strongly is judged as fairly as one it hardly moves. A drift is the
    // channel that explains most of it and leaves the rest of the pattern ordinary.
    if (u.novelty > 1.0) {
        const auto& nv = model.novelty;
        double total = 0, top = -1, runner_up = -1;
        std::size_t top_channel = 0, runner_up_channel = 0;
        for (std::size_t i = 0; i < n_channels; ++i) {
            const double sq = sc.residuals[i] * sc.residuals[i];
            total += sq;
            if (!sc.observed[i]) continue;
            double off_subspace = 1.0;
            for (const auto& d : nv.directions) off_subspace -= d[i] * d[i];
            const double contribution = sq / std::max(off_subspace, 1e-3);
            if (contribution > top) {
                runner_up = top, runner_up_channel = top_channel;
                top = contribution, top_channel = i;
            } else if (contribution > runner_up) {
                runner_up = contribution, runner_up_channel = i;
            }
        }
        // Two probes that share a degradation direction almost alone (Nc and NRc in FD001) each
        // explain the other's drift equally well. Blame the one whose exclusion leaves the engine
        // less far along the fleet's directions: a drift read as wear makes that wear larger.
        const auto explains_alone = [&](double c) { return c >= rules.drift_share * total && (total - std::min(c, total)) <= nv.threshold; };
        if (runner_up > 0 && explains_alone(top) && explains_alone(runner_up) &&
            prognostics::subspace_extent_without(model, sc.deviations, sc.observed, runner_up_channel) <
                prognostics::subspace_extent_without(model, sc.deviations, sc.observed, top_channel)) {
            std::swap(top, runner_up);
            std::swap(top_channel, runner_up_channel);
        }
        for (std::size_t i = 0; i < n_channels; ++i)
            if (i != top_channel) block_.health()[i].dominant = 0;
        auto& h = block_.health()[top_channel];
        // Near the end of life wear itself leaves the fleet's path (the false drifts measured in
        // docs/trust.md came from there): once an engine is at warning, a drift must explain
        // more of the pattern, for longer.
        const bool late_in_life = last_ && last_->level != alerting::severity::normal;
        const double share = late_in_life ? rules.late_drift_share : rules.drift_share;
        const bool explains = top >= share * total && (total - std::min(top, total)) <= nv.threshold;
        const unsigned needed = late_in_life ? rules.late_drift_cycles : rules.drift_cycles;
        if (explains && h.status != sensor_status::failed) {
            h.dominant = up_to(h.dominant, sensor_health::max_run) & 7u;
            if (h.dominant >= needed) {
                set_health(top_channel, sensor_status::failed, sensor_fault::drift, r.cycle - needed + 1, u);
                if (isolate) {
                    compute_inputs(r.cycle - life_start_, sc, features);
                    u.novelty = prognostics::novelty_residuals(model, sc.deviations, sc.residuals);
                }
            }
        } else {
            h.dominant = 0;
        }
    } else {
        for (auto& h : block_.health()) h.dominant = 0;
    }

    // A failed probe comes back after reading plausibly (varying, and near the level the other
    // channels imply) several times in a row; its filter restarts from its reading.
    for (std::size_t i = 0; i < n_channels; ++i) {
        if (!sc.was_failed[i]) continue;
        auto& h = block_.health()[i];
        const auto& params = model.channels[i].filter;
        const bool imputed = !std::isnan(block_.baselines()[i]) && !std::isnan(sc.deviations[i]) && !sc.observed[i];
        const double reference = imputed ? block_.baselines()[i] + sc.deviations[i] : block_.filters()[i].level();
        const double reference_var = imputed ? params.measurement_var : block_.filters()[i].level_std() * block_.filters()[i].level_std();
        const double z = sc.z[i];
        const double sigmas = h.reason == sensor_fault::drift ? rules.drift_recovery_sigmas : rules.recovery_sigmas;
        const bool plausible = !std::isnan(z) && h.repeats == 0 && std::abs(z - reference) <= sigmas * std::sqrt(params.measurement_var + reference_var);
        h.gated = plausible ? up_to(h.gated, sensor_health::max_run) & 7u : 0u;
        if (h.gated >= rules.recovery_readings) {
            estimation::state_vector x;
            x << z, imputed ? sc.slopes[i] : block_.filters()[i].slope();
            estimation::state_matrix p;
            p << params.measurement_var, 0.0, 0.0, params.initial_slope_var;
            block_.filters()[i].set_state(x, p);
            set_health(i, sensor_status::ok, sensor_fault::none, r.cycle, u);
        }
    }
    u.sensor_faults = sensor_faults();

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
    u.origin = &config_->origin;
    u.alerts = alerts_.evaluate(config_->alert_thresholds, id_, r.cycle, u.estimate.rul, u.estimate.rul_lo, u.estimate.rul_hi,
                                u.risk_rul);
    u.level = alerts_.current();
    last_ = latest_estimate{u.cycle, u.estimate, u.risk_rul, u.risk, u.trust, u.trust_reason, u.novelty, u.innovation_ratio, u.level};
    return u;
}

alerting::asset_alerts::change asset_twin::take_over_alerts(const asset_twin& live) {
    alerts_ = live.alerts_;
    if (!last_) return {};
    auto change = alerts_.evaluate(config_->alert_thresholds, id_, last_->cycle, last_->estimate.rul, last_->estimate.rul_lo,
                                   last_->estimate.rul_hi, last_->risk_rul);
    last_->level = alerts_.current();
    return change;
}

std::vector<sensor_report> asset_twin::sensor_faults() const {
    std::vector<sensor_report> out;
    for (std::size_t i = 0; i < block_.health().size(); ++i)
        if (block_.health()[i].status != sensor_status::ok)
            out.push_back({config_->model->channels[i].name, block_.health()[i].status, block_.health()[i].reason, block_.health()[i].since, std::nullopt, sensor_fault::none});
    return out;
}

std::vector<channel_state> asset_twin::channels() const {
    std::vector<channel_state> out;
    out.reserve(block_.filters().size());
    for (std::size_t i = 0; i < block_.filters().size(); ++i)
        out.push_back({config_->model->channels[i].name, block_.filters()[i].level(), block_.filters()[i].level_std(), block_.filters()[i].slope(),
                       block_.filters()[i].slope_std()});
    return out;
}

}  // namespace turbotwin::twin

namespace turbotwin::twin {

std::vector<float> asset_twin::features() const {
    std::vector<float> out(prognostics::feature_count(*config_->model));
    channel_scratch scratch(block_.filters().size());
    compute_inputs(last_cycle_ - life_start_, scratch, out);
    return out;
}

}  // namespace turbotwin::twin
