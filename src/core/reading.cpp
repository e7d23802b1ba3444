#include <cmath>
#include <cstdio>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/sensor_catalogue.hpp"

namespace turbotwin {

std::optional<std::size_t> sensor_index(std::string_view name) noexcept {
    for (std::size_t i = 0; i < sensor_count; ++i)
        if (sensor_names[i] == name) return i;
    return std::nullopt;
}

std::optional<std::size_t> setting_index(std::string_view name) noexcept {
    for (std::size_t i = 0; i < setting_count; ++i)
        if (setting_names[i] == name) return i;
    return std::nullopt;
}

bool valid_asset_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64 || id.front() == '.') return false;
    for (char c : id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string asset_id_for_unit(std::string_view prefix, long unit) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%03ld", unit);
    return std::string(prefix) + digits;
}

validation_report sanitize(reading& r, const sensor_catalogue& catalogue) noexcept {
    validation_report report;
    for (std::size_t i = 0; i < sensor_count; ++i) {
        double& v = r.sensors[i];
        if (std::isnan(v)) continue;
        if (!catalogue.plausible_sensor(i, v)) {
            v = missing;
            ++report.dropped_sensors;
        } else {
            ++report.present_sensors;
        }
    }
    for (std::size_t i = 0; i < setting_count; ++i)
        if (!std::isnan(r.settings[i]) && !catalogue.plausible_setting(i, r.settings[i])) r.settings[i] = missing;
    return report;
}

}  // namespace turbotwin
