#pragma once
/// Operator commands (from the REST API) travel the same road as telemetry: journaled, then
/// applied by the engine's worker in order with its readings. In the journal a command has a
/// topic of its own that no MQTT client can publish ('$' topics belong to the broker):
///   $turbotwin/engines/{id}/ack   {"alert":"ENG-7-2","by":"operator-1a2b3c4d","at_ms":...,"comment":"..."}
#include <string>
#include <string_view>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::codec {

struct ack_command {
    std::string alert_id;
    alerting::acknowledgement ack;
};

std::string ack_command_topic(std::string_view asset);
/// The asset of an ack command topic (bad_asset_id if it is not one).
Result<std::string> asset_from_ack_command_topic(std::string_view topic);
bool is_command_topic(std::string_view topic) noexcept;

std::string encode_ack_command(const ack_command& c);
Result<ack_command> decode_ack_command(std::string_view payload);

}  // namespace turbotwin::codec
