#pragma once
/// JSON documents the server publishes and serves. Numbers are written with round-trip
/// precision (nlohmann/json prints the shortest text that parses back to the same double).
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/twin/asset_twin.hpp"
#include "turbotwin/twin/state_record.hpp"

namespace turbotwin::app {

/// turbotwin/v1/engines/{id}/rul: {"asset","confidence","confidence_reason","cycle","rul","rul_hi",
/// "rul_lo","sensor_faults","severity"[,"ts"]}; sensor_faults lists the probes not ok. With
/// `origin`, also "provenance":{"code_version","config_hash","model","model_hash"}.
std::string rul_message(const std::string& asset, const twin::twin_update& u, const twin::provenance* origin = nullptr);
/// turbotwin/v1/alerts/{id} and REST: {"id","asset","type","severity","state","cycle",...}. With
/// `with_state` (GET /api/v1/alerts/{id}), also "twin_state": the twin when the alert fired.
nlohmann::json alert_json(const alerting::alert& a, bool with_state = false);
/// The twin's state as an alert keeps it: {"cycle","life_start","estimate":{...},"channels":[...],
/// "contributions":{...}|null}. Doubles round-trip, so two records compare digit for digit.
nlohmann::json state_json(const twin::state_record& r);
/// REST asset. With `channel_names` (the model's, in order) it adds the filtered sensors.
nlohmann::json asset_json(const asset_summary& s, std::span<const std::string> channel_names = {});
/// The same document as asset_json(s, channel_names).dump(), written without building a json
/// object (the REST asset routes).
std::string asset_json_text(const asset_summary& s, std::span<const std::string> channel_names = {});

}  // namespace turbotwin::app
