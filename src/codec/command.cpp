#include "turbotwin/codec/command.hpp"

#include <nlohmann/json.hpp>

#include "turbotwin/core/reading.hpp"

namespace turbotwin::codec {

namespace {
constexpr std::string_view command_prefix = "$turbotwin/engines/";
constexpr std::string_view ack_suffix = "/ack";
constexpr std::string_view event_suffix = "/event";
}  // namespace

std::string event_command_topic(std::string_view asset) {
    return std::string(command_prefix) + std::string(asset) + std::string(event_suffix);
}

std::string ack_command_topic(std::string_view asset) {
    return std::string(command_prefix) + std::string(asset) + std::string(ack_suffix);
}

bool is_command_topic(std::string_view topic) noexcept { return topic.substr(0, command_prefix.size()) == command_prefix; }

Result<std::pair<std::string, command_kind>> parse_command_topic(std::string_view topic) {
    if (!is_command_topic(topic)) return {errc::bad_asset_id, "not a command topic"};
    for (auto [suffix, kind] : {std::pair{ack_suffix, command_kind::ack}, std::pair{event_suffix, command_kind::event}}) {
        if (topic.size() <= command_prefix.size() + suffix.size() || topic.substr(topic.size() - suffix.size()) != suffix) continue;
        const auto id = topic.substr(command_prefix.size(), topic.size() - command_prefix.size() - suffix.size());
        if (!valid_asset_id(id)) return {errc::bad_asset_id, "bad asset id in a command topic"};
        return std::pair{std::string(id), kind};
    }
    return {errc::bad_asset_id, "unknown command topic"};
}

std::string encode_ack_command(const ack_command& c) {
    nlohmann::json j = {{"alert", c.alert_id}, {"by", c.ack.by}, {"at_ms", c.ack.at_ms}, {"comment", c.ack.comment}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<ack_command> decode_ack_command(std::string_view payload) {
    try {
        const auto j = nlohmann::json::parse(payload);
        ack_command c;
        c.alert_id = j.at("alert").get<std::string>();
        c.ack.by = j.at("by").get<std::string>();
        c.ack.at_ms = j.at("at_ms").get<std::int64_t>();
        c.ack.comment = j.at("comment").get<std::string>();
        return c;
    } catch (const nlohmann::json::exception& e) {
        return {errc::malformed_json, std::string("ack command: ") + e.what()};
    }
}

std::string encode_event_command(const event_command& c) {
    nlohmann::json j = {{"type", c.type}, {"cycle", c.cycle}, {"note", c.note}, {"by", c.by}, {"at_ms", c.at_ms}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<event_command> decode_event_command(std::string_view payload) {
    try {
        const auto j = nlohmann::json::parse(payload);
        event_command c;
        c.type = j.at("type").get<std::string>();
        c.cycle = j.at("cycle").get<std::int64_t>();
        c.note = j.at("note").get<std::string>();
        c.by = j.at("by").get<std::string>();
        c.at_ms = j.at("at_ms").get<std::int64_t>();
        return c;
    } catch (const nlohmann::json::exception& e) {
        return {errc::malformed_json, std::string("event command: ") + e.what()};
    }
}

}  // namespace turbotwin::codec
