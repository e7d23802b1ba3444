#pragma once
/// Operator commands (from the REST API) travel the same road as telemetry: journaled, then
/// applied by the engine's worker in order with its readings. In the journal a command has a
/// topic of its own that no MQTT client can publish ('$' topics belong to the broker):
///   $turbotwin/engines/{id}/ack    {"alert":"ENG-7-2","by":"operator-1a2b3c4d","at_ms":...,"comment":"..."}
///   $turbotwin/engines/{id}/event  {"type":"maintenance","cycle":212,"note":"...","by":"...","at_ms":...}
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::codec {

struct ack_command {
    std::string alert_id;
    alerting::acknowledgement ack;
};

/// A recorded engine event (maintenance, failure, removal): what happened, at which cycle, who said so.
struct event_command {
    std::string type;
    std::int64_t cycle = 0;
    std::string note;
    std::string by;
    std::int64_t at_ms = 0;
};

enum class command_kind { ack, event };

std::string ack_command_topic(std::string_view asset);
std::string event_command_topic(std::string_view asset);
/// The asset and kind of a command topic (bad_asset_id if it is not one).
Result<std::pair<std::string, command_kind>> parse_command_topic(std::string_view topic);
bool is_command_topic(std::string_view topic) noexcept;

std::string encode_event_command(const event_command& c);
Result<event_command> decode_event_command(std::string_view payload);

std::string encode_ack_command(const ack_command& c);
Result<ack_command> decode_ack_command(std::string_view payload);

}  // namespace turbotwin::codec
