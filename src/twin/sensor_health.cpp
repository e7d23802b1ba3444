#include "turbotwin/twin/sensor_health.hpp"

namespace turbotwin::twin {

const char* to_string(sensor_status s) noexcept {
    switch (s) {
        case sensor_status::ok: return "ok";
        case sensor_status::suspect: return "suspect";
        case sensor_status::failed: return "failed";
    }
    return "ok";
}

const char* to_string(sensor_fault f) noexcept {
    switch (f) {
        case sensor_fault::none: return "none";
        case sensor_fault::spike: return "spike";
        case sensor_fault::jump: return "jump";
        case sensor_fault::stuck: return "stuck";
        case sensor_fault::dropout: return "dropout";
        case sensor_fault::drift: return "drift";
    }
    return "none";
}

std::optional<sensor_fault> parse_sensor_fault(std::string_view s) noexcept {
    for (auto f : {sensor_fault::none, sensor_fault::spike, sensor_fault::jump, sensor_fault::stuck, sensor_fault::dropout, sensor_fault::drift})
        if (s == to_string(f)) return f;
    return std::nullopt;
}

}  // namespace turbotwin::twin
