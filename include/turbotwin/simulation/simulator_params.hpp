#pragma once
/// Parameters of turbotwin's C-MAPSS-like fleet simulator: what they mean, how they are fitted
/// to run-to-failure data, and how they are stored (models/simulator.json).
///
/// The degradation model (docs/simulator.md has the derivation and the fitted figures):
///
///   life        L_e ~ log-normal(life.log_mean, life.log_sd), truncated to [min, max] cycles
///   wear        h_e(t) = (exp(k_e t / L_e) - 1) / (exp(k_e) - 1),  h_e(0) = 0, h_e(L_e) = 1,
///               k_e ~ log-normal(ln wear.k, wear.log_k_sd)
///   column c    x_c(e, t) = round_d( initial_c(e) + drift_c(e) h_e(t) + noise_sd_c N(0, 1) )
///
/// initial_c(e) is the engine's level with no wear and drift_c(e) its change by failure; both
/// vary from engine to engine around fitted fleet means, jointly Gaussian with ln L_e and ln k_e
/// (see engine_correlation). In FD001 every engine fails at nearly the same sensor levels
/// whatever it started from (initial and drift correlate at -0.9 to -0.99, and the initial levels
/// of the HPC-driven sensors at about 0.99), so drawing them independently would be visibly
/// wrong; and engines differ in how late their wear shows (k_e), which a single fleet k would
/// turn into a wider spread of failure levels. The noise is white, independent between columns
/// (FD001's residuals correlate below 0.1) and of wear (its spread is the same early and late
/// in life). round_d rounds to the column's printed decimals, which also makes htBleed an integer.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/dataset/cmapss.hpp"

namespace turbotwin::simulation {

/// Settings and sensors together, in C-MAPSS column order (the unit and cycle columns aside).
inline constexpr std::size_t column_count = setting_count + sensor_count;

/// Name of column i of that order: a setting name, then a sensor mnemonic.
std::string_view column_name(std::size_t i) noexcept;

/// Fewest cycles an engine may live: a cut-short engine keeps at least 31 cycles and has at
/// least 1 cycle of life left, like the official C-MAPSS test sets.
inline constexpr int min_life_cycles = 32;

/// How one column (a setting or a sensor) is generated, in the column's own units.
struct channel_model {
    int decimals = 2;           ///< digits after the decimal point, as printed in the text file
    bool constant = false;      ///< every cycle reads `value` exactly; the fields below are unused
    double value = 0.0;         ///< the constant reading
    double initial_mean = 0.0;  ///< fleet mean of the level at zero wear
    double initial_sd = 0.0;    ///< engine-to-engine standard deviation of that level
    double drift_mean = 0.0;    ///< fleet mean of (level at failure - level at zero wear), signed
    double drift_sd = 0.0;      ///< engine-to-engine standard deviation of the drift
    double noise_sd = 0.0;      ///< per-cycle white measurement noise, before rounding
};

/// Life length in cycles: log-normal, redrawn while outside [min_cycles, max_cycles].
struct life_model {
    double log_mean = 5.3;  ///< mean of ln(life / cycles)
    double log_sd = 0.2;    ///< standard deviation of ln(life / cycles)
    int min_cycles = 128;   ///< shortest life drawn, >= min_life_cycles
    int max_cycles = 400;   ///< longest life drawn
};

/// Curvature of the wear curve: k_e = k exp(log_k_sd N(0, 1)); larger k means wear shows later
/// and faster.
struct wear_model {
    double k = 4.0;          ///< fleet median of k_e (> 0)
    double log_k_sd = 0.0;   ///< engine-to-engine standard deviation of ln k_e
};

/// Correlation between the per-engine random variables. Names are "log_life", "log_wear_k",
/// "<column>.initial" and "<column>.drift"; a variable not listed is drawn independently.
struct engine_correlation {
    std::vector<std::string> variables;
    std::vector<std::vector<double>> matrix;  ///< symmetric, unit diagonal, rows in `variables` order
};

/// Everything needed to generate a fleet.
struct simulator_params {
    life_model life;
    wear_model wear;
    std::array<channel_model, setting_count> settings;
    std::array<channel_model, sensor_count> sensors;
    engine_correlation correlation;
    int fitted_engines = 0;  ///< provenance: engines the fit used, 0 when made by hand
    std::string fitted_on;   ///< provenance: what the data was (a file name), free text

    /// Column i in column_name order.
    channel_model& column(std::size_t i) { return i < setting_count ? settings[i] : sensors[i - setting_count]; }
    const channel_model& column(std::size_t i) const {
        return i < setting_count ? settings[i] : sensors[i - setting_count];
    }
};

/// The wear curve h(t) for a life of `life` cycles and curvature k: 0 at t = 0, 1 at t = life.
/// Linear when k is 0; expm1 keeps small k accurate.
double wear_fraction(double t, double life, double k) noexcept;

/// Checks ranges and names: finite numbers, non-negative spreads, decimals in 0..6, 0 < k <= 50,
/// min_life_cycles <= life.min_cycles <= life.max_cycles, known and distinct correlation
/// variables, a square symmetric matrix with unit diagonal and entries in [-1, 1].
/// Returns true or errc::invalid_argument with the first problem.
Result<bool> validate_simulator_params(const simulator_params& params);

/// Fits the simulator to run-to-failure trajectories (each engine's last cycle is its failure),
/// deterministically. Needs at least 3 engines with at least 15 cycles each and increasing
/// cycles; NaN readings are skipped. An engine with fewer than 3 readings of some informative
/// sensor is left out of the engine statistics. Fails with errc::invalid_argument otherwise.
///
/// Decimals are the fewest that print every value exactly. A column whose spread is below half
/// its last printed digit is constant at its most frequent value. Settings are white noise
/// around their mean (FD001 has one operating condition). For the other sensors, each engine
/// gets the k that minimises its variance-normalised residual, over all those sensors, of the
/// least-squares fits x = initial + drift h(t); the per-engine (ln L, ln k, initial, drift)
/// give the means, spreads and correlations, the spreads of initial and drift corrected for
/// the fit's own estimation error; the noise is the spread of that fit's residual after a
/// centred 11-cycle moving average removes what the curve missed, less the rounding's q^2/12.
Result<simulator_params> fit_simulator(const std::vector<dataset::engine_trajectory>& run_to_failure);

/// Decimals printed per column in a C-MAPSS text file (the most seen in any row), column_name
/// order. read_cmapss keeps numbers only, and 1.30 or 100.0 would otherwise come back as 1.3
/// and 100. Lines that do not have 26 columns are ignored.
Result<std::array<int, column_count>> cmapss_printed_decimals(const std::string& path);

/// Raises each column's decimals to at least `decimals[i]` (so the output prints like the data).
void raise_decimals(simulator_params& params, const std::array<int, column_count>& decimals);

/// The JSON document for params: pretty, numbers rounded to what the fit can support so the
/// committed file stays small and diffs stay meaningful.
std::string simulator_params_to_json(const simulator_params& params);
/// Parses and validates a JSON document written by simulator_params_to_json.
Result<simulator_params> simulator_params_from_json(std::string_view text);

/// Reads and validates a params file.
Result<simulator_params> load_simulator_params(const std::string& path);
/// Writes a params file (through a temporary file and a rename, so a reader never sees half).
Result<bool> save_simulator_params(const simulator_params& params, const std::string& path);

}  // namespace turbotwin::simulation
