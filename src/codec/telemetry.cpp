#include "turbotwin/codec/telemetry.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>

namespace turbotwin::codec {

namespace {

void append_number(std::string& out, double v) {
    // "-0" would come back as integer 0, and plain digits beyond 2^64 are not a JSON number
    // simdjson accepts: write those two cases so they parse back bit for bit.
    if (v == 0 && std::signbit(v)) {
        out += "-0.0";
        return;
    }
    char buf[64];
    const auto fmt = std::abs(v) >= 1e15 ? std::chars_format::scientific : std::chars_format{};
    auto [end, ec] = fmt == std::chars_format{} ? std::to_chars(buf, buf + sizeof buf, v) : std::to_chars(buf, buf + sizeof buf, v, fmt);
    out.append(buf, ec == std::errc{} ? end : buf);
}

// Nesting deeper than `limit`, counting brackets outside strings. Only run on a payload
// simdjson refused, to name the reason: a hostile document is often both too deep and malformed.
bool deeper_than(std::string_view s, std::size_t limit) {
    std::size_t depth = 0;
    bool in_string = false, escaped = false;
    for (char c : s) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return true;
        } else if (c == '}' || c == ']') {
            if (depth > 0) --depth;
        }
    }
    return false;
}

using simdjson::dom::element;
using simdjson::dom::element_type;

// A JSON number as double; NaN for anything else (strings, nulls, ...).
bool number_of(const element& e, double& out) {
    switch (e.type()) {
        case element_type::DOUBLE: out = double(e.get_double().value_unsafe()); return true;
        case element_type::INT64: out = double(e.get_int64().value_unsafe()); return true;
        case element_type::UINT64: out = double(e.get_uint64().value_unsafe()); return true;
        default: return false;
    }
}

}  // namespace

Result<decoded_telemetry> decode_telemetry(std::string_view payload, const telemetry_limits& limits) {
    if (payload.size() > limits.max_payload_bytes)
        return {errc::payload_too_large, std::to_string(payload.size()) + " bytes > " + std::to_string(limits.max_payload_bytes)};
    // One parser per thread: parsing allocates its buffers once and reuses them. Its depth
    // limit is ours (simdjson's default is far beyond any telemetry), checked while parsing.
    // simdjson counts the document itself as a level, hence the + 1.
    thread_local simdjson::dom::parser parser;
    if (parser.max_depth() != limits.max_depth + 1) {
        if (parser.allocate(std::max<std::size_t>(payload.size(), 4096), limits.max_depth + 1) != simdjson::SUCCESS)
            return {errc::malformed_json, "cannot allocate the parser"};
    }
    element root;
    if (auto err = parser.parse(payload.data(), payload.size()).get(root)) {
        if (err == simdjson::DEPTH_ERROR || deeper_than(payload, limits.max_depth))
            return {errc::too_deep, "nesting deeper than " + std::to_string(limits.max_depth)};
        return {errc::malformed_json, simdjson::error_message(err)};
    }
    simdjson::dom::object obj;
    if (root.get_object().get(obj)) return {errc::not_an_object};

    decoded_telemetry out;
    bool have_cycle = false;
    for (auto field : obj) {
        std::string_view key = field.key;
        element value = field.value;
        if (key == "cycle") {
            int64_t cycle = 0;
            if (value.type() == element_type::INT64) cycle = value.get_int64().value_unsafe();
            else if (value.type() == element_type::UINT64) return {errc::bad_cycle, "cycle too large"};
            else if (value.type() == element_type::DOUBLE) {
                double d = value.get_double().value_unsafe();
                if (d != std::floor(d) || d < 1 || d > double(max_cycle)) return {errc::bad_cycle, "cycle is not a whole number in range"};
                cycle = int64_t(d);
            } else {
                return {errc::wrong_type, "cycle is not a number"};
            }
            if (cycle < 1 || cycle > max_cycle) return {errc::bad_cycle, "cycle " + std::to_string(cycle) + " outside 1.." + std::to_string(max_cycle)};
            out.data.cycle = cycle;
            have_cycle = true;
        } else if (key == "ts") {
            double ts = 0;
            if (!number_of(value, ts)) return {errc::wrong_type, "ts is not a number"};
            // Epoch milliseconds, exact in a double: 0 .. 2^53.
            if (!(ts >= 0 && ts <= 9007199254740992.0)) return {errc::bad_number, "ts outside 0..2^53 ms"};
            out.data.ts_ms = int64_t(ts);
        } else if (key == "sensors" || key == "settings") {
            simdjson::dom::object group;
            if (value.get_object().get(group)) return {errc::wrong_type, std::string(key) + " is not an object"};
            const bool sensors = key == "sensors";
            std::size_t expected = 0;  // senders list names in catalogue order: try the next one first
            for (auto item : group) {
                std::optional<std::size_t> idx;
                if (sensors) {
                    idx = expected < sensor_count && sensor_names[expected] == item.key ? std::optional(expected) : sensor_index(item.key);
                    if (idx) expected = *idx + 1;
                } else {
                    idx = setting_index(item.key);
                }
                if (!idx) { ++out.ignored_fields; continue; }
                double v = 0;
                if (!number_of(item.value, v) || !std::isfinite(v)) {
                    if (sensors) ++out.bad_sensors;
                    continue;
                }
                (sensors ? out.data.sensors[*idx] : out.data.settings[*idx]) = v;
            }
        } else {
            ++out.ignored_fields;
        }
    }
    if (!have_cycle) return {errc::missing_cycle};
    return out;
}

std::string encode_telemetry(const reading& r) {
    std::string out;
    out.reserve(512);
    out += "{\"cycle\":";
    out += std::to_string(r.cycle);
    if (r.ts_ms) { out += ",\"ts\":"; out += std::to_string(*r.ts_ms); }
    auto group = [&](const char* name, const auto& names, const auto& values) {
        out += ",\""; out += name; out += "\":{";
        bool first = true;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (!std::isfinite(values[i])) continue;  // JSON has no NaN or inf: missing
            if (!first) out += ',';
            first = false;
            out += '"'; out += names[i]; out += "\":";
            append_number(out, values[i]);
        }
        out += '}';
    };
    group("settings", setting_names, r.settings);
    group("sensors", sensor_names, r.sensors);
    out += '}';
    return out;
}

std::string telemetry_topic(std::string_view asset) { return std::string(topic_root) + "/engines/" + std::string(asset) + "/telemetry"; }
std::string rul_topic(std::string_view asset) { return std::string(topic_root) + "/engines/" + std::string(asset) + "/rul"; }
std::string alert_topic(std::string_view asset) { return std::string(topic_root) + "/alerts/" + std::string(asset); }

Result<std::string> asset_from_telemetry_topic(std::string_view topic) {
    constexpr std::string_view prefix = "turbotwin/v1/engines/";
    constexpr std::string_view suffix = "/telemetry";
    if (topic.size() <= prefix.size() + suffix.size() || topic.substr(0, prefix.size()) != prefix ||
        topic.substr(topic.size() - suffix.size()) != suffix)
        return {errc::bad_asset_id, "not a telemetry topic"};
    std::string_view id = topic.substr(prefix.size(), topic.size() - prefix.size() - suffix.size());
    if (!valid_asset_id(id)) return {errc::bad_asset_id, id.size() > 64 ? "asset id longer than 64 characters" : "asset id has characters outside [A-Za-z0-9._-]"};
    return std::string(id);
}

}  // namespace turbotwin::codec
