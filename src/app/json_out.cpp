#include "turbotwin/app/json_out.hpp"

#include <cmath>

namespace turbotwin::app {

using nlohmann::json;

std::string rul_message(const std::string& asset, const twin::twin_update& u) {
    json j = {{"asset", asset},
              {"cycle", u.cycle},
              {"rul", u.estimate.rul},
              {"rul_lo", u.estimate.rul_lo},
              {"rul_hi", u.estimate.rul_hi},
              {"severity", alerting::to_string(u.level)},
              {"confidence", twin::to_string(u.trust)},
              {"confidence_reason", u.trust_reason.empty() ? json(nullptr) : json(u.trust_reason)}};
    if (u.ts_ms) j["ts"] = *u.ts_ms;
    return j.dump();
}

json alert_json(const alerting::alert& a) {
    json j = {{"id", a.id},
              {"asset", a.asset},
              {"type", "rul"},
              {"severity", alerting::to_string(a.level)},
              {"state", alerting::to_string(a.state)},
              {"cycle", a.cycle},
              {"raised_cycle", a.raised_cycle},
              {"cleared_cycle", a.cleared_cycle ? json(*a.cleared_cycle) : json(nullptr)},
              {"rul", a.rul},
              {"rul_lo", a.rul_lo},
              {"rul_hi", a.rul_hi},
              {"risk_rul", a.risk_rul},
              {"acknowledged", a.ack ? json{{"by", a.ack->by}, {"at_ms", a.ack->at_ms}, {"comment", a.ack->comment}} : json(nullptr)}};
    return j;
}

json asset_json(const asset_summary& s, bool detail) {
    json j = {{"id", s.id},
              {"last_cycle", s.last_cycle},
              {"rul", s.rul},
              {"rul_lo", s.rul_lo},
              {"rul_hi", s.rul_hi},
              {"severity", alerting::to_string(s.level)},
              {"confidence", twin::to_string(s.trust)},
              {"confidence_reason", s.trust_reason.empty() ? json(nullptr) : json(s.trust_reason)},
              {"risk", s.risk},
              {"risk_rul", s.risk_rul},
              {"novelty", std::isnan(s.novelty) ? json(nullptr) : json(s.novelty)},
              {"readings", s.readings},
              {"active_alert", s.active_alert ? json(*s.active_alert) : json(nullptr)},
              {"fault", s.fault ? json(*s.fault) : json(nullptr)},
              {"updated_ms", s.updated_ms},
              {"life_start_cycle", s.life_start},
              {"closed", s.closed ? json{{"type", s.closed->type}, {"cycle", s.closed->cycle}} : json(nullptr)}};
    if (detail) {
        json sensors = json::object();
        for (const auto& c : s.channels)
            sensors[c.name] = {{"level", c.level}, {"level_std", c.level_std}, {"slope", c.slope}, {"slope_std", c.slope_std}};
        j["sensors"] = sensors;
    }
    return j;
}

}  // namespace turbotwin::app
