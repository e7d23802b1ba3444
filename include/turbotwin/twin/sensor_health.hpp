#pragma once
/// Sensor faults told apart from wear. Per channel a twin keeps a small record of what its probe
/// has been reading; asset_twin::process judges each reading with it:
///  - spike: the reading lies beyond `gate_sigmas` standard deviations of what the filter expects
///    (its innovation), so it is gated: not applied, the cycle still processed with the others.
///    Several consecutive gated readings are a jump: the probe is failed.
///  - stuck: the probe repeats its last value exactly, `stuck_repeats` times, while other probes vary.
///  - dropout: the value is missing (absent, or implausible for the catalogue) `dropout_readings` times.
///  - drift: the channel alone carries most of a novel deviation pattern (off the fleet's
///    degradation subspace) for `drift_cycles` cycles: wear moves several sensors consistently,
///    a drifting probe moves one.
/// A failed probe is excluded: its filter coasts and the predictor sees its level and trend
/// imputed from the other channels, until it reads plausibly again for `recovery_readings`.
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

namespace turbotwin::twin {

enum class sensor_status : std::uint8_t { ok, suspect, failed };
enum class sensor_fault : std::uint8_t { none, spike, jump, stuck, dropout, drift };
const char* to_string(sensor_status s) noexcept;
const char* to_string(sensor_fault f) noexcept;
std::optional<sensor_status> parse_sensor_status(std::string_view s) noexcept;
std::optional<sensor_fault> parse_sensor_fault(std::string_view s) noexcept;

/// Thresholds of the sensor fault rules (see the top of this file). The false alarm rates they
/// give on clean data are measured by `turbotwin evaluate --faults` (docs/trust.md).
struct sensor_fault_rules {
    double gate_sigmas = 5.0;          ///< |innovation| / sqrt(S) beyond this is gated (P < 6e-7 per Gaussian reading)
    std::uint8_t jump_readings = 3;    ///< consecutive gated readings that fail a probe
    std::uint8_t stuck_repeats = 5;    ///< fewest exact repeats of the last value (6 equal readings) that fail a probe
    /// A coarsely printed probe repeats by chance (htBleed is printed in whole units with a noise
    /// sd near 1: a third of its readings repeat the last). It needs as many repeats as make
    /// chance repeats this rare per reading; see stuck_repeats_needed.
    double stuck_chance = 1e-5;
    std::uint8_t dropout_readings = 3; ///< consecutive missing readings that fail a probe
    std::uint8_t drift_cycles = 5;     ///< consecutive cycles of one channel dominating a novel residual
    std::uint8_t late_drift_cycles = 7;///< the same once the engine is at warning (wear itself turns novel then); at most 7
    double late_drift_share = 0.8;     ///< ... and the share it must explain then
    double drift_share = 0.5;          ///< share of the residual sum of squares that counts as dominating
    std::uint8_t recovery_readings = 5;///< consecutive plausible readings that clear a failed probe
    double recovery_sigmas = 4.0;      ///< plausible: within this many sd of the reference level (reading and reference noise together)
    /// ... for a probe failed by drift. Drift is caught at about 3 sd of bias in the filtered
    /// level, well inside the band one noisy reading needs: with the wide band the probe came back
    /// while still biased and failed again (an alert raised, cleared and raised anew). With 1.5
    /// (about 2.1 noise sd around an imputed level) a 3-sd bias passes 5 readings in a row about
    /// once in 700 tries, a healthy probe about every other time.
    double drift_recovery_sigmas = 1.5;
    std::uint8_t max_isolated = 2;     ///< more gated channels in one reading than this is the engine, not probes
};

/// What a twin keeps per channel: 12 bytes, since a fleet holds a hundred thousand engines. The
/// run counters saturate at their width (repeats 31, missing 3, runs 7), which bounds the rules:
/// stuck_repeats_needed is at most 31, dropout_readings at most 3, the other runs at most 7.
struct sensor_health {
    static constexpr unsigned max_repeats = 31, max_missing = 3, max_run = 7;
    float last_value = std::numeric_limits<float>::quiet_NaN();  ///< last value read (NaN: none yet; never equal)
    std::int32_t since = 0;         ///< cycle at which the current status began
    sensor_status status = sensor_status::ok;
    sensor_fault reason = sensor_fault::none;
    std::uint16_t repeats : 5 = 0;  ///< consecutive exact repeats of last_value
    std::uint16_t missing : 2 = 0;  ///< consecutive missing readings
    std::uint16_t gated : 3 = 0;    ///< consecutive gated readings; while failed: consecutive plausible ones
    std::uint16_t dominant : 3 = 0; ///< consecutive cycles explaining a novel residual alone
    std::uint16_t decimals : 3 = 0; ///< finest resolution its readings showed (printed_decimals, at most 6)
};
static_assert(sizeof(sensor_health) == 12);

/// n + 1, held at `max` (a run counter of a given width).
inline unsigned up_to(unsigned n, unsigned max) noexcept { return n < max ? n + 1 : max; }

/// Exact repeats that fail a probe printed with `decimals` and measurement noise `noise_sd`: the
/// resolution gives the chance of a repeat,
/// p = resolution / (2 sqrt(pi) noise_sd) for two Gaussian readings rounded alike, and the probe
/// needs n repeats with p^n <= stuck_chance (at least stuck_repeats, at most 31).
std::uint8_t stuck_repeats_needed(std::uint8_t decimals, double noise_sd, const sensor_fault_rules& rules) noexcept;

/// The decimals `value` is printed with, at least `seen` (a probe's resolution is the finest of
/// its readings: 2388.10 reads as 2388.1), at most 6.
std::uint8_t printed_decimals(double value, std::uint8_t seen) noexcept;


}  // namespace turbotwin::twin
