#include "turbotwin/codec/command.hpp"

#include <nlohmann/json.hpp>

#include "turbotwin/core/reading.hpp"

namespace turbotwin::codec {

namespace {
constexpr std::string_view command_prefix = "$turbotwin/engines/";
constexpr std::string_view ack_suffix = "/ack";
}  // namespace

std::string ack_command_topic(std::string_view asset) {
    return std::string(command_prefix) + std::string(asset) + std::string(ack_suffix);
}

bool is_command_topic(std::string_view topic) noexcept { return topic.substr(0, command_prefix.size()) == command_prefix; }

Result<std::string> asset_from_ack_command_topic(std::string_view topic) {
    if (topic.size() <= command_prefix.size() + ack_suffix.size() || !is_command_topic(topic) ||
        topic.substr(topic.size() - ack_suffix.size()) != ack_suffix)
        return {errc::bad_asset_id, "not an ack command topic"};
    const auto id = topic.substr(command_prefix.size(), topic.size() - command_prefix.size() - ack_suffix.size());
    if (!valid_asset_id(id)) return {errc::bad_asset_id, "bad asset id in a command topic"};
    return std::string(id);
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

}  // namespace turbotwin::codec
