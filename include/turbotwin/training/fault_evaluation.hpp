#pragma once
/// How well the twin tells sensor faults from wear (`turbotwin evaluate --faults SPEC`): the same
/// run-to-failure fleet is run through twins three times, clean, with the spec's faults injected
/// and isolation on (the default), and with the faults but isolation off. From that: detection
/// rate and delay per fault kind, false sensor alerts on the clean fleet, and how far the faults
/// move the RUL with and without isolation. docs/trust.md has the figures.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/simulation/faults.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::training {

/// Detection targets of issue 9: a stuck or dropped-out probe within 10 cycles of its first
/// faulty reading, a drift within 30 cycles of reaching 3 sigma, a spike at its own cycle.
struct detection_targets {
    std::int64_t stuck_cycles = 10;
    std::int64_t dropout_cycles = 10;
    std::int64_t drift_cycles = 30;
    std::int64_t spike_cycles = 0;
    /// The target delay for a fault of this kind.
    std::int64_t cycles_for(simulation::fault_kind kind) const noexcept {
        switch (kind) {
            case simulation::fault_kind::spike: return spike_cycles;
            case simulation::fault_kind::stuck: return stuck_cycles;
            case simulation::fault_kind::dropout: return dropout_cycles;
            case simulation::fault_kind::drift: return drift_cycles;
        }
        return 0;
    }
};

struct fault_kind_result {
    simulation::fault_kind kind = simulation::fault_kind::spike;
    std::size_t injected = 0;     ///< faults on a sensor the model watches
    std::size_t unwatched = 0;    ///< faults on a sensor the model does not use (not scored)
    std::size_t detected = 0;     ///< the probe was judged not ok (spike: suspect; others: failed) during the fault
    std::size_t in_target = 0;    ///< ... within the target delay
    std::size_t right_reason = 0; ///< ... and for the reason injected (a jump for a spike or drift counts)
    double delay_mean = 0, delay_median = 0, delay_max = 0;  ///< cycles, of the detected ones; drift from 3 sigma
};

/// RUL error over the faulted engines' cycles from their first fault on, against the true RUL
/// capped like the training target (model.rul_cap).
struct rul_shift {
    std::size_t points = 0;
    double rmse_clean = 0;      ///< the same cycles without faults
    double rmse_isolated = 0;   ///< with faults, isolation on
    double rmse_raw = 0;        ///< with faults, isolation off
    double mean_abs_move_isolated = 0;  ///< |RUL with faults - RUL clean|, cycles
    double mean_abs_move_raw = 0;
    /// Engines where a fault alone raised a RUL alert: the faulted run's severity exceeds the
    /// clean run's at a cycle and for the next 10 cycles.
    std::size_t alert_engines_isolated = 0;
    std::size_t alert_engines_raw = 0;
    /// Of those, the engines where the truth did not warrant the alert: at the cycle the faulted
    /// run's severity first stood above the clean run's, the true RUL was above that severity's
    /// threshold. The others are the clean run alerting late, which the fault did not cause.
    std::size_t unwarranted_alert_engines_isolated = 0;
    std::size_t unwarranted_alert_engines_raw = 0;
    /// Each early alert of the isolated run, for inspection.
    struct early_alert {
        long unit = 0;
        std::int64_t cycle = 0;        ///< the reading the faulted run's severity first stood higher at
        alerting::severity level = alerting::severity::normal;
        double true_rul = 0;           ///< at that cycle
        bool warranted = false;        ///< true_rul <= the severity's threshold
        double clean_risk_rul = 0;     ///< the alerting quantile at that cycle, without the fault
        double faulted_risk_rul = 0;   ///< ... and with it
        std::string faulty_sensors;    ///< the engine's injected faults, "KIND SENSOR" comma-separated
    };
    std::vector<early_alert> early_alerts_isolated;
};

struct fault_evaluation {
    std::size_t engines = 0;
    std::size_t engine_cycles = 0;  ///< readings in the clean run
    std::size_t clean_failed = 0;   ///< probes judged failed on the clean fleet (false sensor alerts)
    std::array<std::size_t, 6> clean_failed_by_reason{};  ///< indexed by twin::sensor_fault
    std::size_t clean_suspect = 0;  ///< probes judged suspect (gated spikes) on the clean fleet
    double false_alerts_per_1000 = 0;  ///< clean_failed per 1,000 engine-cycles
    std::size_t wrong_probe = 0;    ///< with faults: failures of healthy probes beyond the clean run's (blamed for another's fault)
    std::array<fault_kind_result, 4> kinds;  ///< spike, stuck, dropout, drift
    rul_shift rul;
    std::vector<simulation::injected_fault> faults;
    /// A fault not found within its target, and the probes judged failed on its engine instead.
    struct missed_fault {
        const simulation::injected_fault* fault = nullptr;  ///< into `faults`
        std::vector<std::pair<std::string, std::int64_t>> failed_instead;  ///< channel name, cycle it failed
    };
    std::vector<missed_fault> missed;
};

/// `engines` must have run to failure (true RUL 0 at the last cycle); `params` gives each
/// sensor's noise (fault sizes are in its units). `config` is the twin's, isolation setting
/// ignored (both are run).
Result<fault_evaluation> evaluate_faults(const std::vector<dataset::engine_trajectory>& engines, const simulation::fault_spec& spec,
                                         const simulation::simulator_params& params, const twin::twin_config& config,
                                         std::uint64_t seed, const detection_targets& targets = {});

}  // namespace turbotwin::training
