#include "turbotwin/twin/sensor_health.hpp"

#include <algorithm>
#include <cmath>

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

std::uint8_t printed_decimals(double value, std::uint8_t seen) noexcept {
    static constexpr double powers[] = {1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6};
    std::uint8_t d = std::min<std::uint8_t>(seen, 6);
    // Usually one test: the value is whole at the decimals already seen.
    for (;; ++d) {
        const double scaled = value * powers[d];
        if (d == 6 || !(std::abs(scaled) < 9e15)) return d;
        // Nearest whole number by a conversion, not std::round: this runs per probe per reading.
        const double whole = double(std::int64_t(scaled + (scaled < 0 ? -0.5 : 0.5)));
        if (std::abs(scaled - whole) <= 1e-9 * std::max(1.0, std::abs(scaled))) return d;
    }
}

std::uint8_t stuck_repeats_needed(std::uint8_t decimals, double noise_sd, const sensor_fault_rules& rules) noexcept {
    constexpr double two_sqrt_pi = 3.5449077018110318;
    const double resolution = std::pow(10.0, -double(std::min<std::uint8_t>(decimals, 6)));
    const double p = noise_sd > 0 ? resolution / (two_sqrt_pi * noise_sd) : 1.0;
    constexpr double most = sensor_health::max_repeats;
    if (!(p < 0.95)) return std::uint8_t(most);
    const double needed = std::ceil(std::log(rules.stuck_chance) / std::log(p));
    return std::uint8_t(std::clamp(needed, std::min(double(rules.stuck_repeats), most), most));
}

std::optional<sensor_status> parse_sensor_status(std::string_view s) noexcept {
    for (auto status : {sensor_status::ok, sensor_status::suspect, sensor_status::failed})
        if (s == to_string(status)) return status;
    return std::nullopt;
}

std::optional<sensor_fault> parse_sensor_fault(std::string_view s) noexcept {
    for (auto f : {sensor_fault::none, sensor_fault::spike, sensor_fault::jump, sensor_fault::stuck, sensor_fault::dropout, sensor_fault::drift})
        if (s == to_string(f)) return f;
    return std::nullopt;
}

}  // namespace turbotwin::twin
