#pragma once
/// Generating a simulated fleet from simulator_params, and writing it like the C-MAPSS files.
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::simulation {

/// One simulated engine. Its cycles run 1, 2, ..., last; the engine fails after life_cycles.
struct simulated_engine {
    long unit = 0;               ///< 1-based unit number
    int life_cycles = 0;         ///< cycle at which the engine fails (true RUL 0)
    bool run_to_failure = true;  ///< false: the record stops before failure
    std::vector<reading> cycles;  ///< one reading per cycle; may stop short of life_cycles
};

/// Last cycle recorded (0 when there is none).
inline std::int64_t last_cycle(const simulated_engine& e) noexcept { return e.cycles.empty() ? 0 : e.cycles.back().cycle; }
/// True remaining useful life after the last recorded cycle, in cycles.
inline std::int64_t true_rul_at_last_cycle(const simulated_engine& e) noexcept { return e.life_cycles - last_cycle(e); }

struct fleet_options {
    int engines = 20;                 ///< units 1..engines; <= 0 gives an empty fleet
    std::uint64_t seed = 1;           ///< same seed, same params: identical fleet
    double cut_short_fraction = 0.5;  ///< share of engines cut short (clamped to 0..1, rounded to a count)
    /// How many times faster than the fitted fleet the engines wear (clamped to 0.1..10; not
    /// finite: 1). Each engine's life, drawn as usual, is divided by it (at least
    /// min_life_cycles) and its wear curve spans that shorter life: the same sensor path per
    /// unit of damage, reached sooner. Unit u draws the same numbers whatever the rate (a
    /// faster twin of the same engine); 1 gives the fitted fleet, bit for bit.
    double wear_rate = 1.0;
};

/// Generates a fleet (params must pass validate_simulator_params).
///
/// Exactly round(cut_short_fraction * engines) engines, picked at random, are cut short like the
/// official test sets: the record ends with a true RUL drawn uniformly from 1..150 and keeps at
/// least 31 cycles. The others run to failure (last cycle = life, RUL 0).
///
/// Every unit draws from its own random stream (seeded from the seed and the unit number), so a
/// unit's life and readings do not depend on how many engines are simulated, and a cut-short
/// engine is a prefix of the run it would have had. Random numbers come from std::mt19937_64,
/// whose output the standard fixes, through our own uniform and normal transforms (the standard
/// library's distributions differ between implementations).
std::vector<simulated_engine> simulate_fleet(const simulator_params& params, const fleet_options& options);

/// Writes the fleet as a C-MAPSS text file: unit-major, rows in cycle order, each column with the
/// decimals in params (FD001 prints 1589.70, not 1589.7); a missing value (NaN) as `nan`.
void write_fleet_cmapss(std::ostream& out, const std::vector<simulated_engine>& fleet, const simulator_params& params);

/// Writes the ground truth: a header, then `unit,last_cycle,true_rul_at_last_cycle,life` per engine.
void write_fleet_truth(std::ostream& out, const std::vector<simulated_engine>& fleet);

}  // namespace turbotwin::simulation
