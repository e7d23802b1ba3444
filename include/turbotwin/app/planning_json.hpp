#pragma once
/// The planning documents (docs/scenarios.md): the same JSON from REST and from the CLI run
/// against a data dir or a file, so the two can be compared byte for byte.
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "turbotwin/core/result.hpp"
#include "turbotwin/planning/fleet_plan.hpp"

namespace turbotwin::app {

/// What the planner needs from wherever the twins live: copies of their outlooks and the
/// calibration of the model that made them.
struct planning_input {
    std::vector<planning::engine_outlook> fleet;
    prognostics::interval_calibration calibration;
    double critical_rul = 20;  ///< the alerts' critical threshold
};

/// "ENG-1:6,ENG-2:2.5" (per-engine cycles per day) into `use`; invalid_argument names the bad item.
Result<bool> parse_overrides(std::string_view text, planning::utilisation& use);

/// {"horizon_days","cycles_per_day","critical_rul","samples","seed","engines":[{"asset",
/// "cycles_per_day","rul","p_critical","median_days_to_critical"}],"weeks":[{"week","from_day",
/// "to_day","removals_mean","removals_lo","removals_hi"}],"removals":{"mean","lo","hi"},
/// "method"}.
nlohmann::json forecast_json(const planning::fleet_forecast& f);
/// CSV of a forecast_json document: `engines` (asset,cycles_per_day,rul,p_critical,
/// median_days_to_critical) or `weeks` (week,from_day,to_day,removals_mean,removals_lo,
/// removals_hi), with a header line; numbers as the JSON writes them. From the document, so the
/// CLI writes the same CSV from a server's answer as from its own.
std::string forecast_csv(const nlohmann::json& forecast, bool weeks);

/// The scenario document: {"baseline":{"cycles_per_day","visit_in_days","engines":{ID:
/// {"cycles_per_day","visit_in_days"}}},"changes":[{"type":"utilisation","asset","cycles_per_day"}
/// | {"type":"defer_visit","asset","cycles"|"days"} | {"type":"swap","assets":[A,B]} |
/// {"type":"fleet_plan","cycles_per_day"?,"visit_in_days"?}],"horizon_days"}. Unknown keys are
/// refused by name (a typo must not silently run another scenario).
Result<planning::scenario> scenario_from_json(const nlohmann::json& j);
nlohmann::json scenario_result_json(const planning::scenario_result& r);

/// Both schedules side by side: {"weeks","capacity_per_week","cycles_per_day","min_risk_reduction",
/// "optimal":{...},"threshold":{...}}, each {"method","expected_failures","removals":[{"asset",
/// "week","risk","risk_if_kept"}],"kept":[ids]}.
nlohmann::json schedules_json(const planning::schedule_options& o, const planning::schedule& optimal, const planning::schedule& threshold);

/// not_found naming the first overridden engine that `in` does not hold: a misspelt id must not
/// silently leave that engine at the default utilisation.
Result<bool> overrides_in_fleet(const planning_input& in, const planning::utilisation& use);

/// Runs a planning request against `in` and returns the document (the REST routes and the CLI
/// share these): invalid_argument / not_found name the problem.
Result<nlohmann::json> run_forecast(const planning_input& in, planning::forecast_options o);
Result<nlohmann::json> run_scenario_request(const planning_input& in, const nlohmann::json& request);
Result<nlohmann::json> run_plan(const planning_input& in, const planning::schedule_options& o);

}  // namespace turbotwin::app
