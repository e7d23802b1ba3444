#pragma once
/// Planning on copies of the twins' predictive RUL distributions: fleet forecasts, what-if
/// scenarios and shop-visit schedules. Nothing here touches a live twin: callers hand in
/// `engine_outlook` copies taken from the read model, a store or an offline run, and every
/// answer is computed from those copies alone.
///
/// Time: the twins count cycles (flights); plans count days. An engine's utilisation
/// (cycles per day) converts one to the other, so flying an engine harder brings its
/// failure closer in calendar time, not in cycles.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/prognostics/model.hpp"

namespace turbotwin::planning {

/// One engine as the planner sees it: its twin's predictive RUL distribution at its last reading.
struct engine_outlook {
    std::string asset;
    std::int64_t cycle = 0;  ///< last applied cycle
    double rul = 0;          ///< point estimate, cycles
    double raw = 0;          ///< the trees' output: where the calibrated distribution sits
    double widening = 1;     ///< the interval's widening at that estimate (novelty)
};

/// P(RUL <= cycles) for one engine, and draws from the same distribution.
double failure_within(const prognostics::interval_calibration& c, const engine_outlook& e, double cycles) noexcept;

/// Cycles per day: a fleet-wide default and per-engine overrides.
struct utilisation {
    double default_cycles_per_day = 4;
    std::map<std::string, double, std::less<>> per_engine;
    double of(std::string_view asset) const noexcept;
};

// ---------------------------------------------------------------------------------------------
// Fleet forecast

struct forecast_options {
    double days = 90;           ///< horizon
    utilisation use;
    double critical_rul = 20;   ///< the alerts' critical threshold: an engine is removed on reaching it
    int samples = 2000;         ///< Monte Carlo draws of the whole fleet
    std::uint64_t seed = 1;
};

struct engine_forecast {
    std::string asset;
    double cycles_per_day = 0;
    double rul = 0;                 ///< point estimate now
    double p_critical = 0;          ///< P(RUL reaches critical_rul within the horizon), exact
    double median_days_to_critical = 0;  ///< 0: already critical
};

/// Removals (engines reaching critical) in one week of the horizon, over the Monte Carlo draws.
struct week_removals {
    int week = 0;                ///< 0 = the week starting now
    double from_day = 0, to_day = 0;
    double mean = 0, lo = 0, hi = 0;  ///< expected count and its 90% interval (5% and 95% of the draws)
};

struct fleet_forecast {
    forecast_options options;
    std::vector<engine_forecast> engines;  ///< most at risk first
    std::vector<week_removals> weeks;
    double total_mean = 0, total_lo = 0, total_hi = 0;  ///< removals over the whole horizon
};

/// Forecast of the fleet: per engine exactly from its distribution; per week by Monte Carlo
/// (each draw gives every engine a RUL from its own distribution; an engine already critical
/// counts in week 0). invalid_argument: a non-positive horizon, utilisation or sample count.
Result<fleet_forecast> forecast(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                const forecast_options& o);

// ---------------------------------------------------------------------------------------------
// What-if scenarios

/// An engine's plan: how hard it flies and when its next shop visit is (days from now).
struct engine_plan {
    double cycles_per_day = 0;
    std::optional<double> visit_in_days;  ///< none: no visit planned within the horizon
};

/// The baseline plan of a fleet: defaults and per-engine entries.
struct fleet_plan {
    double cycles_per_day = 4;
    std::optional<double> visit_in_days;  ///< default visit for engines without their own
    std::map<std::string, engine_plan, std::less<>> engines;
    engine_plan of(std::string_view asset) const;
};

/// One change a scenario applies to the baseline plan.
struct plan_change {
    enum class kind { utilisation, defer_visit, swap, fleet_plan };
    kind type = kind::utilisation;
    std::vector<std::string> assets;       ///< utilisation, defer_visit: one; swap: two; fleet_plan: none (all)
    std::optional<double> cycles_per_day;  ///< utilisation, fleet_plan
    std::optional<double> visit_in_days;   ///< fleet_plan: every engine's visit
    double defer_cycles = 0;               ///< defer_visit: postpone by this many cycles...
    double defer_days = 0;                 ///< ... and/or days
};
const char* to_string(plan_change::kind k) noexcept;
std::optional<plan_change::kind> parse_plan_change_kind(std::string_view s) noexcept;

struct scenario {
    fleet_plan baseline;
    std::vector<plan_change> changes;
    double horizon_days = 180;  ///< an engine with no visit is judged over this horizon
};

struct engine_risk {
    double cycles_per_day = 0;
    std::optional<double> visit_in_days;
    double cycles_to_visit = 0;  ///< to the visit, or to the end of the horizon
    double risk = 0;             ///< P(in-service failure before the visit): P(RUL < cycles_to_visit)
};

struct engine_outcome {
    std::string asset;
    double rul = 0;
    engine_risk baseline, scenario;
    bool changed = false;  ///< a change touched this engine's plan
};

struct scenario_result {
    std::vector<engine_outcome> engines;  ///< highest scenario risk first
    double expected_failures_baseline = 0, expected_failures_scenario = 0;
};

/// Runs the scenario on the outlooks (copies); not_found: a change names an engine not in the
/// fleet; invalid_argument: a change without what it needs, or a non-positive utilisation.
Result<scenario_result> run_scenario(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                     const scenario& s);

// ---------------------------------------------------------------------------------------------
// Shop-visit schedules

struct schedule_options {
    int weeks = 26;              ///< horizon
    int capacity_per_week = 2;   ///< engine removals the shop takes per week
    utilisation use;
    /// A removal must lower the engine's failure risk by at least this much to take a slot:
    /// the optimum otherwise fills every slot, pulling healthy engines for nothing.
    double min_risk_reduction = 0.01;
    double threshold_rul = 20;   ///< the naive plan: remove when the point RUL reaches this
};

struct planned_removal {
    std::string asset;
    int week = 0;             ///< removed at the start of this week (0 = now)
    double risk = 0;          ///< P(failure before the removal)
    double risk_if_kept = 0;  ///< P(failure within the horizon) without it
};

struct schedule {
    std::string method;
    std::vector<planned_removal> removals;  ///< by week, then asset
    std::vector<std::string> kept;          ///< engines not removed within the horizon
    double expected_failures = 0;           ///< sum over the fleet of P(in-service failure in the horizon or before removal)
};

/// The schedule that minimises expected in-service failures within the capacity: an exact
/// min-cost assignment of engines to week slots (or to no removal), solved as a min-cost flow;
/// each removal costs min_risk_reduction.
Result<schedule> optimal_schedule(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                  const schedule_options& o);

/// The naive plan: each engine is due when its point RUL reaches threshold_rul; due engines
/// take the week's slots in order of due date, the rest wait for the next week.
Result<schedule> threshold_schedule(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                    const schedule_options& o);

/// A schedule judged against what happened: the engines' true RUL (cycles) at their outlook.
struct schedule_outcome {
    int failures = 0;          ///< engines that failed in service before their removal (or within the horizon)
    int removals = 0;
    double mean_life_left = 0; ///< true cycles left at removal, averaged over removals (life given up)
};
schedule_outcome judge(const schedule& s, std::span<const engine_outlook> fleet, const std::map<std::string, double, std::less<>>& true_rul,
                       const schedule_options& o);

}  // namespace turbotwin::planning
