#include "turbotwin/training/fault_evaluation.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <string>

namespace turbotwin::training {

namespace {

using simulation::fault_kind;

/// What one run of one engine produced, per reading (by position in the engine's record).
struct run_trace {
    std::vector<double> rul;                     ///< NaN where the reading was refused
    std::vector<double> risk_rul;                ///< the alerting quantile; NaN where refused
    std::vector<alerting::severity> level;
    /// Per channel, the status changes in order, with the cycle of the reading that made them.
    std::vector<std::vector<std::pair<std::int64_t, twin::sensor_report>>> changes;
};

run_trace run_engine(const std::vector<reading>& cycles, const twin::twin_config& config) {
    run_trace t;
    t.rul.assign(cycles.size(), std::nan(""));
    t.risk_rul.assign(cycles.size(), std::nan(""));
    t.level.assign(cycles.size(), alerting::severity::normal);
    t.changes.resize(config.model->channels.size());
    twin::asset_twin tw("evaluate", config);
    for (std::size_t k = 0; k < cycles.size(); ++k) {
        auto u = tw.process(cycles[k]);
        if (!u) {
            if (k > 0) t.level[k] = t.level[k - 1];
            continue;
        }
        t.rul[k] = u->estimate.rul;
        t.risk_rul[k] = u->risk_rul;
        t.level[k] = u->level;
        for (const auto& c : u->sensor_changes) {
            for (std::size_t i = 0; i < config.model->channels.size(); ++i)
                if (config.model->channels[i].name == c.sensor) t.changes[i].emplace_back(u->cycle, c);
        }
    }
    return t;
}

std::optional<std::size_t> channel_of(const prognostics::rul_model& m, std::size_t sensor) {
    for (std::size_t i = 0; i < m.channels.size(); ++i)
        if (m.channels[i].sensor == sensor) return i;
    return std::nullopt;
}

bool right_reason(fault_kind injected, twin::sensor_fault judged) {
    switch (injected) {
        case fault_kind::spike: return judged == twin::sensor_fault::spike || judged == twin::sensor_fault::jump;
        case fault_kind::stuck: return judged == twin::sensor_fault::stuck;
        case fault_kind::dropout: return judged == twin::sensor_fault::dropout;
        case fault_kind::drift: return judged == twin::sensor_fault::drift || judged == twin::sensor_fault::jump;
    }
    return false;
}

/// Where a fault raised an alert: the faulted run's severity above the clean run's at a reading
/// and for the 10 readings after it. Returns the first such reading's position.
std::optional<std::size_t> fault_raised_alert(const std::vector<alerting::severity>& faulted, const std::vector<alerting::severity>& clean) {
    constexpr std::size_t sustained = 11;
    std::size_t run = 0;
    for (std::size_t k = 0; k < faulted.size(); ++k) {
        run = faulted[k] > clean[k] ? run + 1 : 0;
        if (run >= sustained) return k + 1 - sustained;
    }
    return std::nullopt;
}

/// The alert at `at` was warranted when the engine's true RUL was within its severity's threshold.
bool warranted(alerting::severity level, double true_rul, const alerting::thresholds& t) {
    return true_rul <= (level == alerting::severity::critical ? t.critical_rul : t.warning_rul);
}

}  // namespace

Result<fault_evaluation> evaluate_faults(const std::vector<dataset::engine_trajectory>& engines, const simulation::fault_spec& spec,
                                         const simulation::simulator_params& params, const twin::twin_config& config,
                                         std::uint64_t seed, const detection_targets& targets) {
    if (engines.empty()) return {errc::invalid_argument, "no engines to evaluate"};
    const auto& model = *config.model;
    std::vector<simulation::simulated_engine> faulty;
    faulty.reserve(engines.size());
    for (const auto& e : engines) {
        if (e.cycles.empty()) continue;
        simulation::simulated_engine s;
        s.unit = e.unit;
        s.life_cycles = int(e.cycles.back().cycle);
        s.run_to_failure = true;
        s.cycles = e.cycles;
        faulty.push_back(std::move(s));
    }
    auto injected = simulation::inject_faults(faulty, spec, params, seed, config.catalogue.get());
    if (!injected) return {injected.error(), injected.detail()};

    twin::twin_config isolated = config, raw = config;
    isolated.isolate_sensor_faults = true;
    raw.isolate_sensor_faults = false;

    fault_evaluation ev;
    ev.faults = *injected;
    for (std::size_t k = 0; k < ev.kinds.size(); ++k) ev.kinds[k].kind = fault_kind(k);
    std::array<std::vector<double>, 4> delays;
    double sq_clean = 0, sq_iso = 0, sq_raw = 0, move_iso = 0, move_raw = 0;

    std::map<long, std::vector<const simulation::injected_fault*>> by_unit;
    for (const auto& f : ev.faults) by_unit[f.unit].push_back(&f);

    for (std::size_t e = 0; e < faulty.size(); ++e) {
        const auto& clean_cycles = engines[e].cycles;
        const auto clean = run_engine(clean_cycles, isolated);
        ++ev.engines;
        ev.engine_cycles += clean_cycles.size();
        for (const auto& per_channel : clean.changes)
            for (const auto& [at, c] : per_channel) {
                if (c.status == twin::sensor_status::failed) {
                    ++ev.clean_failed;
                    ++ev.clean_failed_by_reason[std::size_t(c.reason)];
                }
                if (c.status == twin::sensor_status::suspect) ++ev.clean_suspect;
            }
        const auto it = by_unit.find(faulty[e].unit);
        if (it == by_unit.end()) continue;
        const auto& faults = it->second;
        const auto iso = run_engine(faulty[e].cycles, isolated);
        const auto unisolated = run_engine(faulty[e].cycles, raw);

        std::vector<bool> faulty_channel(model.channels.size(), false);
        std::int64_t first_start = INT64_MAX;
        for (const auto* f : faults) {
            first_start = std::min(first_start, f->start_cycle);
            auto& result = ev.kinds[std::size_t(f->kind)];
            const auto ch = channel_of(model, f->sensor);
            if (!ch) {
                ++result.unwatched;
                continue;
            }
            faulty_channel[*ch] = true;
            // A drift that never reached 3 sigma is not expected to be seen.
            if (f->kind == fault_kind::drift && !f->detectable_cycle) continue;
            ++result.injected;
            const std::int64_t from = f->kind == fault_kind::drift ? *f->detectable_cycle : f->start_cycle;
            const auto found_before = result.in_target;
            for (const auto& [at, c] : iso.changes[*ch]) {
                const bool noticed = f->kind == fault_kind::spike ? c.status != twin::sensor_status::ok : c.status == twin::sensor_status::failed;
                // Reported during the fault; the delay counts to the reading that reported it.
                if (!noticed || at < f->start_cycle || at > f->end_cycle) continue;
                const double delay = double(at - from);
                ++result.detected;
                delays[std::size_t(f->kind)].push_back(delay);
                if (delay <= double(targets.cycles_for(f->kind))) ++result.in_target;
                if (right_reason(f->kind, c.reason)) ++result.right_reason;
                break;
            }
            if (result.in_target == found_before) {
                fault_evaluation::missed_fault miss{f, {}};
                for (std::size_t other = 0; other < model.channels.size(); ++other)
                    for (const auto& [at, c] : iso.changes[other])
                        if (other != *ch && c.status == twin::sensor_status::failed) miss.failed_instead.emplace_back(model.channels[other].name, at);
                ev.missed.push_back(std::move(miss));
            }
        }
        // Blamed probes: failures of healthy channels beyond those the clean run had too.
        auto failures = [](const std::vector<std::pair<std::int64_t, twin::sensor_report>>& changes) {
            return std::size_t(std::count_if(changes.begin(), changes.end(),
                                             [](const auto& c) { return c.second.status == twin::sensor_status::failed; }));
        };
        for (std::size_t ch = 0; ch < model.channels.size(); ++ch)
            if (!faulty_channel[ch]) ev.wrong_probe += failures(iso.changes[ch]) - std::min(failures(iso.changes[ch]), failures(clean.changes[ch]));

        const auto& cycles = faulty[e].cycles;
        const std::int64_t last = cycles.back().cycle;
        for (std::size_t k = 0; k < cycles.size(); ++k) {
            if (cycles[k].cycle < first_start) continue;
            if (std::isnan(clean.rul[k]) || std::isnan(iso.rul[k]) || std::isnan(unisolated.rul[k])) continue;
            const double truth = std::min(double(last - cycles[k].cycle), model.rul_cap);
            sq_clean += (clean.rul[k] - truth) * (clean.rul[k] - truth);
            sq_iso += (iso.rul[k] - truth) * (iso.rul[k] - truth);
            sq_raw += (unisolated.rul[k] - truth) * (unisolated.rul[k] - truth);
            move_iso += std::abs(iso.rul[k] - clean.rul[k]);
            move_raw += std::abs(unisolated.rul[k] - clean.rul[k]);
            ++ev.rul.points;
        }
        const auto true_rul = [&](std::size_t k) { return double(last - cycles[k].cycle); };
        if (const auto at = fault_raised_alert(iso.level, clean.level)) {
            ++ev.rul.alert_engines_isolated;
            const bool justified = warranted(iso.level[*at], true_rul(*at), config.alert_thresholds);
            if (!justified) ++ev.rul.unwarranted_alert_engines_isolated;
            std::string what;
            for (const auto* f : faults)
                what += (what.empty() ? "" : ", ") + std::string(simulation::fault_kind_name(f->kind)) + " " + std::string(sensor_names[f->sensor]);
            ev.rul.early_alerts_isolated.push_back({faulty[e].unit, cycles[*at].cycle, iso.level[*at], true_rul(*at), justified,
                                                    clean.risk_rul[*at], iso.risk_rul[*at], std::move(what)});
        }
        if (const auto at = fault_raised_alert(unisolated.level, clean.level)) {
            ++ev.rul.alert_engines_raw;
            if (!warranted(unisolated.level[*at], true_rul(*at), config.alert_thresholds)) ++ev.rul.unwarranted_alert_engines_raw;
        }
    }
    ev.false_alerts_per_1000 = ev.engine_cycles ? 1000.0 * double(ev.clean_failed) / double(ev.engine_cycles) : 0.0;
    if (ev.rul.points) {
        const double n = double(ev.rul.points);
        ev.rul.rmse_clean = std::sqrt(sq_clean / n);
        ev.rul.rmse_isolated = std::sqrt(sq_iso / n);
        ev.rul.rmse_raw = std::sqrt(sq_raw / n);
        ev.rul.mean_abs_move_isolated = move_iso / n;
        ev.rul.mean_abs_move_raw = move_raw / n;
    }
    for (std::size_t k = 0; k < ev.kinds.size(); ++k) {
        auto& d = delays[k];
        if (d.empty()) continue;
        std::sort(d.begin(), d.end());
        ev.kinds[k].delay_mean = std::accumulate(d.begin(), d.end(), 0.0) / double(d.size());
        ev.kinds[k].delay_median = d[d.size() / 2];
        ev.kinds[k].delay_max = d.back();
    }
    return ev;
}

}  // namespace turbotwin::training
