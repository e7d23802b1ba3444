#pragma once
/// Unit and plausible range of each sensor: readings outside it are dropped before they reach
/// the estimator (the rest of the message is still used).
#include <array>
#include <cmath>
#include <string>

#include "turbotwin/core/reading.hpp"

namespace turbotwin {

struct sensor_spec {
    std::string unit;       ///< engineering unit, e.g. "degR", "psia", "rpm"
    std::string description;
    double min = -std::numeric_limits<double>::infinity();  ///< lowest plausible value
    double max = std::numeric_limits<double>::infinity();   ///< highest plausible value
};

struct sensor_catalogue {
    std::array<sensor_spec, sensor_count> sensors;
    std::array<sensor_spec, setting_count> settings;

    bool plausible_sensor(std::size_t i, double v) const noexcept {
        return std::isfinite(v) && v >= sensors[i].min && v <= sensors[i].max;
    }
    bool plausible_setting(std::size_t i, double v) const noexcept {
        return std::isfinite(v) && v >= settings[i].min && v <= settings[i].max;
    }
};

/// Outcome of checking one reading against the catalogue.
struct validation_report {
    int dropped_sensors = 0;   ///< sensors set to missing because implausible
    int present_sensors = 0;   ///< sensors left after validation
};

/// Replaces implausible or non-finite sensors and settings by NaN and counts what is left.
validation_report sanitize(reading& r, const sensor_catalogue& catalogue) noexcept;

}  // namespace turbotwin
