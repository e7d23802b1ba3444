#include "turbotwin/app/json_out.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string_view>

namespace turbotwin::app {

using nlohmann::json;

namespace {

// Appends a JSON number: the shortest text that parses back to the same value, double or float
// (as nlohmann prints a double); JSON has no NaN or infinity, so those are null.
template <class Number>
void append_number(std::string& out, Number v) {
    if (!std::isfinite(v)) {
        out += "null";
        return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc{} ? end : buf);
}

void append_string(std::string& out, std::string_view text) {
    out += '"';
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
}

// [{"reason","sensor","since","status"}...] for the probes that are not ok.
template <class Items, class NameOf>
void append_sensor_faults(std::string& out, const Items& items, NameOf name_of) {
    out += '[';
    bool first = true;
    for (const auto& f : items) {
        if (!first) out += ',';
        first = false;
        out += "{\"reason\":";
        append_string(out, twin::to_string(f.reason));
        out += ",\"sensor\":";
        append_string(out, name_of(f));
        out += ",\"since\":";
        out += std::to_string(f.since);
        out += ",\"status\":";
        append_string(out, twin::to_string(f.status));
        out += '}';
    }
    out += ']';
}

twin::sensor_status health_of(const asset_summary& s, std::size_t channel) {
    for (const auto& f : s.sensor_faults)
        if (f.channel == channel) return f.status;
    return twin::sensor_status::ok;
}

std::string_view channel_name(std::span<const std::string> names, std::size_t i) {
    return i < names.size() ? std::string_view(names[i]) : std::string_view("?");
}

}  // namespace

std::string rul_message(const std::string& asset, const twin::twin_update& u, const twin::provenance* origin) {
    // Written by hand, not through nlohmann::json: it goes out once per reading, and building a
    // json object cost more than the whole filter update (tests/bench). Same keys and numbers.
    std::string out;
    out.reserve(256);
    out += "{\"asset\":";
    append_string(out, asset);
    out += ",\"confidence\":";
    append_string(out, twin::to_string(u.trust));
    out += ",\"confidence_reason\":";
    if (u.trust_reason.empty()) out += "null";
    else append_string(out, u.trust_reason);
    out += ",\"cycle\":";
    out += std::to_string(u.cycle);
    out += ",\"novelty\":";
    append_number(out, u.novelty);
    if (origin) {
        out += ",\"provenance\":{\"code_version\":";
        append_string(out, origin->code_version);
        out += ",\"config_hash\":";
        append_string(out, origin->config_hash);
        out += ",\"model\":";
        append_string(out, origin->model);
        out += ",\"model_hash\":";
        append_string(out, origin->model_hash);
        out += '}';
    }
    out += ",\"risk\":";
    append_number(out, u.risk);
    out += ",\"risk_rul\":";
    append_number(out, u.risk_rul);
    out += ",\"rul\":";
    append_number(out, u.estimate.rul);
    out += ",\"rul_hi\":";
    append_number(out, u.estimate.rul_hi);
    out += ",\"rul_lo\":";
    append_number(out, u.estimate.rul_lo);
    out += ",\"sensor_faults\":";
    append_sensor_faults(out, u.sensor_faults, [](const twin::sensor_report& f) { return f.sensor; });
    out += ",\"severity\":";
    append_string(out, alerting::to_string(u.level));
    if (u.ts_ms) {
        out += ",\"ts\":";
        out += std::to_string(*u.ts_ms);
    }
    out += '}';
    return out;
}

namespace {
// JSON has no NaN: a missing number is null.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

json state_json(const twin::state_record& r) {
    const auto& e = r.estimate;
    json channels = json::array();
    for (const auto& c : r.channels) {
        json health = {{"status", twin::to_string(c.health.status)}, {"since", c.health.since}};
        health["reason"] = c.health.reason == twin::sensor_fault::none ? json(nullptr) : json(twin::to_string(c.health.reason));
        channels.push_back({{"sensor", c.sensor}, {"level", number_or_null(c.level)}, {"level_std", number_or_null(c.level_std)},
                            {"slope", number_or_null(c.slope)}, {"slope_std", number_or_null(c.slope_std)},
                            {"baseline", number_or_null(c.baseline)}, {"health", std::move(health)}});
    }
    json contributions = nullptr;
    if (r.has_contributions) {
        json top = json::array();
        for (const auto& f : r.top_features)
            top.push_back({{"feature", f.feature}, {"value", number_or_null(f.value)}, {"contribution", f.contribution}});
        json by_sensor = json::array();
        for (const auto& [sensor, share] : r.by_sensor) by_sensor.push_back({{"sensor", sensor}, {"contribution", share}});
        contributions = {{"method", "tree_shap"}, {"bias", r.contribution_bias}, {"top_features", std::move(top)}, {"by_sensor", std::move(by_sensor)}};
    }
    return {{"cycle", r.cycle},
            {"life_start", r.life_start},
            {"estimate",
             {{"rul", e.estimate.rul}, {"rul_lo", e.estimate.rul_lo}, {"rul_hi", e.estimate.rul_hi}, {"raw", e.estimate.raw},
              {"widening", e.estimate.widening}, {"risk_rul", e.risk_rul}, {"risk", e.risk}, {"severity", alerting::to_string(e.level)},
              {"confidence", twin::to_string(e.trust)}, {"confidence_reason", e.trust_reason}, {"novelty", number_or_null(e.novelty)},
              {"innovation_ratio", e.innovation_ratio}}},
            {"channels", std::move(channels)},
            {"contributions", std::move(contributions)}};
}

json alert_json(const alerting::alert& a, bool with_state) {
    json j = {{"id", a.id},
              {"asset", a.asset},
              {"type", alerting::to_string(a.type)},
              {"sensor", a.type == alerting::alert_type::sensor_fault ? json(a.sensor) : json(nullptr)},
              {"reason", a.type == alerting::alert_type::sensor_fault ? json(a.reason) : json(nullptr)},
              {"severity", alerting::to_string(a.level)},
              {"state", alerting::to_string(a.state)},
              {"cycle", a.cycle},
              {"raised_cycle", a.raised_cycle},
              {"cleared_cycle", a.cleared_cycle ? json(*a.cleared_cycle) : json(nullptr)},
              {"rul", a.rul},
              {"rul_lo", a.rul_lo},
              {"rul_hi", a.rul_hi},
              {"risk_rul", a.risk_rul},
              {"acknowledged", a.ack ? json{{"by", a.ack->by}, {"at_ms", a.ack->at_ms}, {"comment", a.ack->comment}} : json(nullptr)},
              {"provenance", {{"model", a.model}, {"model_hash", a.model_hash}, {"config_hash", a.config_hash}, {"code_version", a.code_version}}}};
    if (with_state) {
        json state = a.fired_state ? json::parse(a.fired_state->get(), nullptr, false) : json(nullptr);
        j["twin_state"] = state.is_discarded() ? json(nullptr) : std::move(state);
    }
    return j;
}

json asset_json(const asset_summary& s, std::span<const std::string> channel_names) {
    json j = {{"id", s.id},
              {"last_cycle", s.last_cycle},
              {"rul", s.rul},
              {"rul_lo", s.rul_lo},
              {"rul_hi", s.rul_hi},
              {"severity", alerting::to_string(s.level)},
              {"confidence", twin::to_string(s.trust)},
              {"confidence_reason", s.extra().trust_reason.empty() ? json(nullptr) : json(s.extra().trust_reason)},
              {"risk", s.risk},
              {"risk_rul", s.risk_rul},
              {"novelty", std::isnan(s.novelty) ? json(nullptr) : json(s.novelty)},
              {"readings", s.readings},
              {"active_alert", s.extra().active_alert ? json(*s.extra().active_alert) : json(nullptr)},
              {"fault", s.extra().fault ? json(*s.extra().fault) : json(nullptr)},
              {"updated_ms", s.updated_ms},
              {"life_start_cycle", s.life_start},
              {"closed", s.extra().closed ? json{{"type", s.extra().closed->type}, {"cycle", s.extra().closed->cycle}} : json(nullptr)}};
    if (!channel_names.empty()) {
        json sensors = json::object();
        for (std::size_t i = 0; i < s.channels.size() && i < channel_names.size(); ++i) {
            const auto& c = s.channels[i];
            sensors[channel_names[i]] = {{"health", twin::to_string(health_of(s, i))}, {"level", c.level}, {"level_std", c.level_std},
                                         {"slope", c.slope}, {"slope_std", c.slope_std}};
        }
        j["sensors"] = sensors;
        json faults = json::array();
        for (const auto& f : s.sensor_faults)
            faults.push_back({{"reason", twin::to_string(f.reason)}, {"sensor", channel_name(channel_names, f.channel)},
                              {"since", f.since}, {"status", twin::to_string(f.status)}});
        j["sensor_faults"] = faults;
    }
    return j;
}

std::string asset_json_text(const asset_summary& s, std::span<const std::string> channel_names) {
    // The same document as asset_json(s, channel_names).dump() (tested), written directly: it
    // is what fleet dashboards poll, and building it as a json object cost more than the rest
    // of the request.
    std::string out;
    out.reserve(channel_names.empty() ? 400 : 400 + 90 * channel_names.size());
    auto key = [&](std::string_view k) {
        out += out.size() > 1 ? ",\"" : "\"";
        out += k;
        out += "\":";
    };
    auto optional_string = [&](const std::optional<std::string>& v) {
        if (v) append_string(out, *v);
        else out += "null";
    };
    out += '{';
    key("active_alert");
    const auto& notes = s.extra();
    optional_string(notes.active_alert);
    key("closed");
    if (notes.closed) {
        out += "{\"cycle\":";
        out += std::to_string(notes.closed->cycle);
        out += ",\"type\":";
        append_string(out, notes.closed->type);
        out += '}';
    } else {
        out += "null";
    }
    key("confidence");
    append_string(out, twin::to_string(s.trust));
    key("confidence_reason");
    if (notes.trust_reason.empty()) out += "null";
    else append_string(out, notes.trust_reason);
    key("fault");
    optional_string(notes.fault);
    key("id");
    append_string(out, s.id);
    key("last_cycle");
    out += std::to_string(s.last_cycle);
    key("life_start_cycle");
    out += std::to_string(s.life_start);
    key("novelty");
    append_number(out, s.novelty);
    key("readings");
    out += std::to_string(s.readings);
    key("risk");
    append_number(out, s.risk);
    key("risk_rul");
    append_number(out, s.risk_rul);
    key("rul");
    append_number(out, s.rul);
    key("rul_hi");
    append_number(out, s.rul_hi);
    key("rul_lo");
    append_number(out, s.rul_lo);
    if (!channel_names.empty()) {
        key("sensor_faults");
        append_sensor_faults(out, s.sensor_faults, [&](const sensor_flag& f) { return channel_name(channel_names, f.channel); });
        key("sensors");
        out += '{';
        for (std::size_t i = 0; i < s.channels.size() && i < channel_names.size(); ++i) {
            const auto& c = s.channels[i];
            if (i) out += ',';
            append_string(out, channel_names[i]);
            out += ":{\"health\":";
            append_string(out, twin::to_string(health_of(s, i)));
            out += ",\"level\":";
            append_number(out, c.level);
            out += ",\"level_std\":";
            append_number(out, c.level_std);
            out += ",\"slope\":";
            append_number(out, c.slope);
            out += ",\"slope_std\":";
            append_number(out, c.slope_std);
            out += '}';
        }
        out += '}';
    }
    key("severity");
    append_string(out, alerting::to_string(s.level));
    key("updated_ms");
    out += std::to_string(s.updated_ms);
    out += '}';
    return out;
}

}  // namespace turbotwin::app
