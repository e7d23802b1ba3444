#pragma once
/// Cluster mode (serve --cluster): every member lists the whole fleet. The engines another
/// member owns enter this member's read model from the messages their owner publishes: its RUL
/// messages and its alerts, on the cluster's MQTT topics (docs/scale-out.md).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/app/fleet_view.hpp"

namespace turbotwin::app {

/// The engine's summary with a RUL message (turbotwin/v1/engines/{id}/rul) applied: RUL and its
/// interval, severity, confidence, the probes that are not ok, the cycle. What the message does
/// not carry (sensor levels, risk, novelty) stays as `previous` had it. nullopt: the payload is
/// not a RUL message, or it is not newer than `previous` (an older owner's late message).
std::optional<asset_summary> merge_rul_message(std::string_view payload, const std::optional<asset_summary>& previous,
                                               std::span<const std::string> channel_names, std::int64_t now_ms);

/// An alert from its MQTT message (turbotwin/v1/alerts/{asset}: alert_json). nullopt: not one.
std::optional<alerting::alert> alert_from_message(std::string_view payload);

}  // namespace turbotwin::app
