#pragma once
/// The shadow report: how a candidate model, run beside the active one on the live stream, would
/// have done. Computed from the store, so `serve` (REST) and `turbotwin shadow-report` agree.
#include <nlohmann/json.hpp>
#include <string>

#include "turbotwin/core/result.hpp"
#include "turbotwin/store/database.hpp"

namespace turbotwin::app {

/// Compares the candidate `shadow_hash` with `active_hash` over every reading both estimated
/// while those were the roles: RUL disagreement (overall and per engine), when each would have
/// first raised a warning and a critical alert (earlier, later, the same, or only one of them),
/// and, on engines with a recorded failure or removal, both models' RMSE against the true RUL
/// (event cycle - cycle, capped at `rul_cap` as the models are trained).
Result<nlohmann::json> shadow_report(store::database& db, const std::string& active_hash, const std::string& shadow_hash, double rul_cap);

}  // namespace turbotwin::app
