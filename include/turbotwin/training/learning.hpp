#pragma once
/// Learning from a fleet's own recorded failures (`train --from-store`, `evaluate-learning`):
/// recalibrating a model's intervals on engines its trees never saw, refitting it with them, and
/// measuring both on held-out engines the way `evaluate` does. docs/scenarios.md, "Learning from
/// the fleet".
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/prognostics/model.hpp"
#include "turbotwin/simulation/simulator_params.hpp"
#include "turbotwin/training/evaluate.hpp"
#include "turbotwin/training/train.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::training {

/// Fewest recorded failures learnt from unless told otherwise: below this, the 5% and 95%
/// quantiles rest on one or two engines' errors, which say little about the next engine.
inline constexpr std::size_t default_min_failures = 10;

/// Residuals `conformal_calibration` needs in its last bin (fewer are merged into it).
inline constexpr std::size_t min_calibration_residuals = 30;

/// `m` with only its interval calibration recomputed, from `failures` (lives that ended in a
/// failure, cycles counted from the life's start, `rul_after_last` the cycles from the last
/// reading to the failure): each engine run through a twin of `m`, the raw prediction at every
/// cycle with true RUL 1..150 against the truth, as `train` calibrates. Out of sample as long as
/// `m`'s trees never saw these engines. Trees, filters and novelty stay as they were, so point
/// predictions do not change. `residuals` (optional) gets how many residuals were used.
/// invalid_argument with fewer than min_calibration_residuals.
Result<prognostics::rul_model> recalibrate_intervals(const prognostics::rul_model& m,
                                                     const std::vector<dataset::engine_trajectory>& failures,
                                                     std::size_t* residuals = nullptr);

/// Scores `config`'s model on run-to-failure `engines` (one reading per cycle, as simulated or in
/// a training file) as `evaluate` scores a held-out fold: each
/// engine cut at `cuts` distinct random points with true RUL 1..min(150, life - 31) and scored at
/// the cut through asset_twin (the twin is causal: its estimate there is that of the trajectory
/// cut there). The cuts depend only on `seed` and the engines, so two models are scored on the
/// same points.
std::vector<scored_point> score_held_out(const twin::twin_config& config, const std::vector<dataset::engine_trajectory>& engines,
                                         int cuts, std::uint64_t seed);

/// The simulated experiment of `turbotwin evaluate-learning`.
struct learning_experiment_options {
    double wear_rate = 1.3;                   ///< the fleet wears this much faster than the simulator's fitted one
    std::vector<std::size_t> failures{10, 25, 50};  ///< recorded failures learnt from (nested: the first N learning engines)
    std::size_t held_out = 200;               ///< fast engines scored, never learnt from
    int cuts = 5;                             ///< truncation points per held-out engine
    std::uint64_t seed = 11;                  ///< the simulated fleet's and the cuts'
    bool refit = false;                       ///< also refit the trees (train_model on base + failures)
    train_options train;                      ///< for the refit
};

/// One line of the experiment's table.
struct learning_row {
    std::string model;          ///< "shipped", "recalibrated", "refit"
    std::string fleet;          ///< what was scored, e.g. "wear 1.3x"
    std::size_t failures = 0;   ///< recorded failures learnt from (0: none)
    accuracy acc;
};

/// Simulates max(failures) + held_out run-to-failure engines wearing `wear_rate` times faster
/// (units 1.. learn, the rest are held out), then scores on the held-out ones: `shipped` as it is
/// (and, for reference, on the same units at wear rate 1), recalibrated on the first N failures
/// for each N, and with `refit` retrained on `base` plus those N.
Result<std::vector<learning_row>> run_learning_experiment(const twin::twin_config& shipped, const simulation::simulator_params& params,
                                                          const std::vector<dataset::engine_trajectory>& base,
                                                          const learning_experiment_options& o, const log_fn& log = {});

}  // namespace turbotwin::training
