#pragma once
/// Telemetry payloads on turbotwin/v1/engines/{id}/telemetry:
///   {"cycle": 31, "ts": 1700000000000,
///    "settings": {"altitude": -0.0007, "mach": -0.0004, "tra": 100.0},
///    "sensors": {"T2": 518.67, "T24": 641.82, ...}}
/// "ts" (epoch ms) is optional; sensors and settings may be missing.
#include <cstddef>
#include <string>
#include <string_view>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::codec {

struct telemetry_limits {
    std::size_t max_payload_bytes = 64 * 1024;  ///< larger payloads are rejected unread
    std::size_t max_depth = 8;                  ///< deeper JSON is rejected
};

struct decoded_telemetry {
    reading data;
    int ignored_fields = 0;   ///< unknown sensor/setting names or top-level keys
    int bad_sensors = 0;      ///< sensors with a wrong type or a non-finite value (set to missing)
};

/// Decodes and type-checks one payload. Never throws. Range checks against the sensor
/// catalogue are the twin's job (sanitize), so that replayed files get the same treatment.
Result<decoded_telemetry> decode_telemetry(std::string_view payload, const telemetry_limits& limits = {});

/// Encodes a reading; every number is printed with round-trip precision so a decoded reading
/// equals the original bit for bit. Missing (NaN) and non-finite values are omitted.
std::string encode_telemetry(const reading& r);

/// Topic layout.
inline constexpr std::string_view topic_root = "turbotwin/v1";
std::string telemetry_topic(std::string_view asset);
std::string rul_topic(std::string_view asset);
std::string alert_topic(std::string_view asset);
inline constexpr std::string_view telemetry_subscription = "turbotwin/v1/engines/+/telemetry";
inline constexpr std::string_view errors_topic = "turbotwin/v1/errors";

/// Asset id from a telemetry topic, validated (bad_asset_id otherwise).
Result<std::string> asset_from_telemetry_topic(std::string_view topic);

}  // namespace turbotwin::codec
