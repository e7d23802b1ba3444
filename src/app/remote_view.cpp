#include "turbotwin/app/remote_view.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>

#include "turbotwin/twin/sensor_health.hpp"

namespace turbotwin::app {

namespace {
using nlohmann::json;

// A number, or NaN for JSON null (the messages write a missing number as null).
double remote_number(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

std::optional<asset_summary> merge_rul_message(std::string_view payload, const std::optional<asset_summary>& previous,
                                               std::span<const std::string> channel_names, std::int64_t now_ms) {
    const json j = json::parse(payload, nullptr, false);
    if (!j.is_object() || !j.contains("asset") || !j["asset"].is_string() || !j.contains("cycle") || !j["cycle"].is_number_integer())
        return std::nullopt;
    const auto level = alerting::parse_severity(j.value("severity", ""));
    if (!level) return std::nullopt;
    const auto cycle = j["cycle"].get<std::int64_t>();
    if (previous && previous->last_cycle >= cycle) return std::nullopt;
    asset_summary s = previous ? *previous : asset_summary{};
    s.id = j["asset"].get<std::string>();
    s.last_cycle = cycle;
    s.rul = remote_number(j, "rul");
    s.rul_lo = remote_number(j, "rul_lo");
    s.rul_hi = remote_number(j, "rul_hi");
    s.level = *level;
    // Absent from messages of older members: the summary keeps what it had.
    if (const auto it = j.find("risk"); it != j.end() && it->is_number()) s.risk = it->get<double>();
    if (const auto it = j.find("risk_rul"); it != j.end() && it->is_number()) s.risk_rul = it->get<double>();
    if (j.contains("novelty")) s.novelty = remote_number(j, "novelty");  // null: before the engine's baseline
    s.trust = j.value("confidence", "high") == "low" ? twin::confidence::low : twin::confidence::high;
    auto notes = std::make_shared<asset_notes>(s.extra());
    notes->trust_reason = j.contains("confidence_reason") && j["confidence_reason"].is_string() ? j["confidence_reason"].get<std::string>() : "";
    s.notes = notes->empty() ? nullptr : std::move(notes);
    s.sensor_faults.clear();
    if (const auto it = j.find("sensor_faults"); it != j.end() && it->is_array())
        for (const auto& f : *it) {
            if (!f.is_object()) continue;
            const auto name = f.value("sensor", "");
            const auto at = std::find(channel_names.begin(), channel_names.end(), name);
            const auto status = twin::parse_sensor_status(f.value("status", ""));
            const auto reason = twin::parse_sensor_fault(f.value("reason", "none"));
            if (at == channel_names.end() || !status || !reason) continue;
            s.sensor_faults.push_back({std::uint16_t(at - channel_names.begin()), *status, *reason,
                                       std::int32_t(f.value("since", std::int64_t{0}))});
        }
    s.updated_ms = now_ms;
    return s;
}

std::optional<alerting::alert> alert_from_message(std::string_view payload) {
    const json j = json::parse(payload, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    alerting::alert a;
    try {
        a.id = j.at("id").get<std::string>();
        a.asset = j.at("asset").get<std::string>();
        const auto type = alerting::parse_alert_type(j.at("type").get<std::string>());
        const auto level = alerting::parse_severity(j.at("severity").get<std::string>());
        const auto state = alerting::parse_alert_state(j.at("state").get<std::string>());
        if (!type || !level || !state || a.id.empty() || a.asset.empty()) return std::nullopt;
        a.type = *type;
        a.level = *level;
        a.state = *state;
        if (j.contains("sensor") && j["sensor"].is_string()) a.sensor = j["sensor"].get<std::string>();
        if (j.contains("reason") && j["reason"].is_string()) a.reason = j["reason"].get<std::string>();
        a.cycle = j.at("cycle").get<std::int64_t>();
        a.raised_cycle = j.at("raised_cycle").get<std::int64_t>();
        if (j.contains("cleared_cycle") && j["cleared_cycle"].is_number_integer()) a.cleared_cycle = j["cleared_cycle"].get<std::int64_t>();
        a.rul = remote_number(j, "rul");
        a.rul_lo = remote_number(j, "rul_lo");
        a.rul_hi = remote_number(j, "rul_hi");
        a.risk_rul = remote_number(j, "risk_rul");
        if (const auto it = j.find("acknowledged"); it != j.end() && it->is_object())
            a.ack = alerting::acknowledgement{it->value("by", ""), it->value("at_ms", std::int64_t{0}), it->value("comment", "")};
        if (const auto it = j.find("provenance"); it != j.end() && it->is_object()) {
            a.model = it->value("model", "");
            a.model_hash = it->value("model_hash", "");
            a.config_hash = it->value("config_hash", "");
            a.code_version = it->value("code_version", "");
        }
    } catch (const json::exception&) {
        return std::nullopt;
    }
    return a;
}

}  // namespace turbotwin::app
