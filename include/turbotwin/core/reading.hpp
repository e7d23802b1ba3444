#pragma once
/// The domain vocabulary: one engine's snapshot for one operating cycle.
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "turbotwin/core/result.hpp"

namespace turbotwin {

/// The 21 C-MAPSS sensors, in column order.
inline constexpr std::size_t sensor_count = 21;
inline constexpr std::array<std::string_view, sensor_count> sensor_names = {
    "T2", "T24", "T30", "T50", "P2", "P15", "P30", "Nf", "Nc", "epr", "Ps30",
    "phi", "NRf", "NRc", "BPR", "farB", "htBleed", "Nf_dmd", "PCNfR_dmd", "W31", "W32"};

/// The three operational settings, in column order.
inline constexpr std::size_t setting_count = 3;
inline constexpr std::array<std::string_view, setting_count> setting_names = {"altitude", "mach", "tra"};

/// Index of a sensor by mnemonic, or nullopt.
std::optional<std::size_t> sensor_index(std::string_view name) noexcept;
/// Index of a setting by name, or nullopt.
std::optional<std::size_t> setting_index(std::string_view name) noexcept;

inline constexpr double missing = std::numeric_limits<double>::quiet_NaN();

/// One engine cycle. Missing values are NaN; a reading carries its cycle so domain code never
/// reads the clock.
struct reading {
    std::int64_t cycle = 0;                     ///< operating cycle, 1-based, strictly increasing
    std::array<double, setting_count> settings;  ///< operational settings, NaN when absent
    std::array<double, sensor_count> sensors;    ///< sensor values in catalogue units, NaN when absent
    std::optional<std::int64_t> ts_ms;           ///< sender's timestamp, epoch milliseconds

    reading() { settings.fill(missing); sensors.fill(missing); }
};

/// Largest cycle we accept: far beyond any engine life, small enough to stay exact everywhere.
inline constexpr std::int64_t max_cycle = 1'000'000;

/// Asset ids come from MQTT topic levels and URLs: 1..64 of [A-Za-z0-9._-], not starting with '.'.
bool valid_asset_id(std::string_view id) noexcept;

/// Asset id for a C-MAPSS unit number: prefix + unit zero-padded to 3 digits ("ENG-001").
std::string asset_id_for_unit(std::string_view prefix, long unit);

}  // namespace turbotwin
