#pragma once
/// Sensor faults injected into a simulated fleet, with their ground truth: spikes, stuck probes,
/// dropouts (missing values) and drifts, so that fault detection can be scored against what was
/// really done. The spec grammar and the rules are in docs/simulator.md, "Injecting sensor faults".
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/core/sensor_catalogue.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::simulation {

enum class fault_kind {
    spike,    ///< an offset added at one cycle (or `length` cycles)
    stuck,    ///< the probe repeats its last reading, bit for bit
    dropout,  ///< the value is missing (NaN)
    drift,    ///< a bias growing linearly from the first faulty cycle
};

/// "spike", "stuck", "dropout" or "drift".
std::string_view fault_kind_name(fault_kind kind) noexcept;

/// Default sizes, in standard deviations of the sensor's measurement noise.
inline constexpr double default_spike_sigma = 8.0;            ///< offset of a spike
inline constexpr double default_drift_sigma_per_10_cycles = 1.0;  ///< 3 sigma after 30 cycles
/// A drift counts as detectable once its bias reaches this many noise standard deviations.
inline constexpr double drift_detectable_sigma = 3.0;

/// One `KIND[:key=value,...]` entry of a spec, defaults filled in.
struct fault_entry {
    fault_kind kind = fault_kind::spike;
    std::optional<std::size_t> sensor;  ///< index in sensor_names; empty: a wearing sensor drawn per engine
    double engines_fraction = 1.0;      ///< share of the fleet given this fault, 0..1
    double start = 0.5;                 ///< first faulty cycle: < 1 a fraction of the record, >= 1 a cycle number
    double size_sigma = 0.0;            ///< spike: offset; drift: bias growth per 10 cycles; in noise sd; else 0
    std::optional<std::int64_t> length_cycles;  ///< cycles the fault lasts; empty: to the end of the record
};

/// What `--inject-faults` asks for: the entries in the order given, applied in that order.
struct fault_spec {
    std::vector<fault_entry> faults;
};

/// Parses a spec: `@FILE` (the file holds the spec) or inline entries separated by `;` (or new
/// lines), `#` starting a comment to the end of the line, each `KIND[:key=value,key=value...]`
/// with keys sensor, engines, start, size, length. Fails with errc::invalid_argument naming the
/// entry and the key at fault (errc::io_error when the file cannot be read).
Result<fault_spec> parse_fault_spec(std::string_view text);

/// Ground truth of one fault as injected into one engine.
struct injected_fault {
    long unit = 0;
    fault_kind kind = fault_kind::spike;
    std::size_t sensor = 0;                   ///< index in sensor_names
    std::int64_t start_cycle = 0;             ///< first faulty cycle
    std::int64_t end_cycle = 0;               ///< last faulty cycle
    double size_sigma = 0.0;                  ///< spike offset or drift growth per 10 cycles, noise sd; 0 otherwise
    int sign = 0;                             ///< +1 or -1 for spike and drift, 0 otherwise
    double noise_sd = 0.0;                    ///< the sensor's measurement noise sd, sensor units
    std::optional<std::int64_t> detectable_cycle;  ///< drift: first cycle with |bias| >= 3 sd, if within the fault
    int clipped_cycles = 0;                   ///< cycles whose value was held at the plausible range's edge
};

/// Applies the spec to the fleet's readings, entry by entry in spec order; deterministic: the same
/// fleet, spec, params and seed give the same faults. The seed is turned into streams of their
/// own, so passing simulate_fleet's seed does not correlate faults with the simulated noise.
///
/// Per entry, exactly round(engines x fleet size) engines are picked at random; each picked engine
/// draws its sensor (when `random`) among those not constant in params, and a sign. Spike and
/// drift values are rounded to the column's printed decimals, so the fleet in memory is what
/// write_fleet_cmapss prints; with a catalogue they are held within its plausible range (a
/// saturated probe still reads a plausible number; the truth counts those cycles). A stuck probe
/// repeats the last value it read before the first faulty cycle exactly, never clipped (a stuck
/// entry starts at cycle 2 at the earliest). Missing values stay missing: a fault only changes
/// readings that are present. An engine whose record ends before the first faulty cycle gets no
/// fault from that entry.
///
/// Fails with errc::invalid_argument, before changing anything, when an entry other than dropout
/// names a sensor that is constant in params (its noise sd is 0: there is nothing to scale by,
/// and a stuck constant reads the same as a healthy one), or when a random sensor is asked for
/// and no sensor wears.
Result<std::vector<injected_fault>> inject_faults(std::vector<simulated_engine>& fleet, const fault_spec& spec,
                                                  const simulator_params& params, std::uint64_t seed,
                                                  const sensor_catalogue* catalogue = nullptr);

/// Bias of a drift `cycles_since_start` cycles after its first faulty cycle (0 at that cycle), in
/// noise sd: size x (cycles_since_start + 1) / 10, unsigned.
double drift_bias_sigma(double size_sigma, std::int64_t cycles_since_start) noexcept;

/// Writes the ground truth: a header, then one line per fault
/// `unit,kind,sensor,start_cycle,end_cycle,size_sigma,sign,noise_sd,detectable_cycle,clipped_cycles`
/// (detectable_cycle empty unless a drift reaches 3 sd before it ends).
void write_fault_truth(std::ostream& out, const std::vector<injected_fault>& faults);

}  // namespace turbotwin::simulation
