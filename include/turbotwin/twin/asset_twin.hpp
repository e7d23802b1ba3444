#pragma once
/// The twin of one engine: its filters, its latest RUL estimate and its alert state. One owner
/// (a worker thread, or the offline predictor) calls `process` with readings in cycle order;
/// the live server and the offline commands run exactly this code, so they give the same numbers.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/core/sensor_catalogue.hpp"
#include "turbotwin/estimation/trend_filter.hpp"
#include "turbotwin/prognostics/model.hpp"
#include "turbotwin/twin/sensor_health.hpp"

namespace turbotwin::twin {

/// What produced an estimate or an alert, so that it can be traced and reproduced: the model
/// (its name and the SHA-256 of its file), the config file's SHA-256 and the code version.
struct provenance {
    std::string model;         ///< model name, e.g. "fd001"
    std::string model_hash;    ///< "sha256:" + 64 hex digits of the model file
    std::string config_hash;   ///< "sha256:" + 64 hex digits of the config file ("" when none)
    std::string code_version;  ///< turbotwin version and the commit it was built from
};

/// Shared, read-only configuration of every twin.
struct twin_config {
    std::shared_ptr<const prognostics::rul_model> model;
    std::shared_ptr<const sensor_catalogue> catalogue;
    alerting::thresholds alert_thresholds;
    sensor_fault_rules sensor_rules;
    /// Gate outliers and exclude failed probes (the default). Off, faults are still detected and
    /// reported but every reading is applied as it comes: `evaluate --faults` compares the two.
    bool isolate_sensor_faults = true;
    provenance origin;  ///< stamped on RUL messages and alerts by the server
};

/// One probe's health as reported (REST, RUL messages, sensor_fault alerts).
struct sensor_report {
    std::string_view sensor;  ///< channel name; points into the model, which outlives every twin
    sensor_status status = sensor_status::ok;
    sensor_fault reason = sensor_fault::none;
    std::int64_t since = 0;   ///< cycle at which this status began
    std::optional<std::int64_t> ended_failure;  ///< in a change that ends a failure: the cycle that failure began
    sensor_fault ended_reason = sensor_fault::none;  ///< ... and why the probe had failed
};

/// What one processed reading produced.
/// How far to trust an estimate. `low` comes with a reason and a widened interval.
enum class confidence { high, low };
const char* to_string(confidence c) noexcept;

struct twin_update {
    std::int64_t cycle = 0;
    prognostics::rul_estimate estimate;
    double risk_rul = 0;                    ///< the alerting quantile of RUL
    double risk = 0;                        ///< P(RUL <= alerts' critical_rul): failure within the critical horizon
    confidence trust = confidence::high;
    std::string trust_reason;               ///< why confidence is low (empty when high)
    double novelty = 0;                     ///< novelty score (1 = edge of the training fleet); NaN before the baseline
    double innovation_ratio = 1;            ///< smoothed mean normalised innovation squared (1 = as the filter expects)
    alerting::severity level = alerting::severity::normal;
    int dropped_sensors = 0;               ///< implausible sensors ignored in this reading
    int gated_sensors = 0;                 ///< readings gated as outliers (not applied) in this reading
    std::vector<sensor_report> sensor_faults;   ///< probes not ok after this reading (usually none)
    std::vector<sensor_report> sensor_changes;  ///< probes whose status changed with this reading
    alerting::asset_alerts::change alerts; ///< alert raised and/or cleared by this reading
    std::optional<std::int64_t> ts_ms;     ///< echoed from the reading
    const provenance* origin = nullptr;    ///< the twin's config's (the model that made it; outlives the update's use)
};

/// The latest estimate as a twin keeps it between readings: a twin_update without what only
/// matters the moment it is made (alert changes, dropped sensors, the sender's timestamp), so
/// that a fleet of 100,000 twins does not carry them.
struct latest_estimate {
    std::int64_t cycle = 0;
    prognostics::rul_estimate estimate;
    double risk_rul = 0;
    double risk = 0;
    confidence trust = confidence::high;
    std::string trust_reason;
    double novelty = 0;
    double innovation_ratio = 1;
    alerting::severity level = alerting::severity::normal;
};

/// A filtered sensor's current estimate.
struct channel_state {
    std::string name;
    double level = 0, level_std = 0, slope = 0, slope_std = 0;
};

class asset_twin {
public:
    /// Keeps a reference to `config` (shared by the whole fleet), which must outlive the twin.
    asset_twin(std::string asset_id, const twin_config& config);
    asset_twin(std::string, twin_config&&) = delete;  ///< would dangle

    /// Applies one reading. Rejects (without changing state) a cycle not after the last one
    /// (duplicate_cycle / out_of_order_cycle), a reading with no plausible sensor
    /// (no_valid_sensors), and numerical trouble (numerical_fault, recorded in fault()).
    Result<twin_update> process(reading r);

    const std::string& id() const noexcept { return id_; }
    std::int64_t last_cycle() const noexcept { return last_cycle_; }
    std::uint64_t readings_applied() const noexcept { return applied_; }
    const std::optional<latest_estimate>& last_update() const noexcept { return last_; }
    const alerting::asset_alerts& alerts() const noexcept { return alerts_; }
    /// An operator acknowledges this engine's active alert (see asset_alerts::acknowledge).
    Result<alerting::alert> acknowledge_alert(std::string_view alert_id, alerting::acknowledgement ack) {
        return alerts_.acknowledge(id_, alert_id, std::move(ack));
    }
    const std::optional<std::string>& fault() const noexcept { return rare_ ? rare_->fault : no_rare_state().fault; }
    /// Per channel (the model's order): what the twin judges of its probe.
    std::span<const sensor_health> sensors() const noexcept { return block_.health(); }
    /// The probes not ok, in channel order (empty for a healthy engine).
    std::vector<sensor_report> sensor_faults() const;

    /// Operator events (the REST events route). "maintenance" at `cycle`: a fresh life starts
    /// (filters, baselines and estimate reset; the engine's cycle count goes on, so the next
    /// reading must come after `cycle`, and the model sees cycles since the visit). "failure" and
    /// "removal" close the twin: its telemetry is refused (asset_closed) until a maintenance
    /// event. Either way an active alert clears at `cycle`. conflict: `cycle` is before the last
    /// reading, or the event is already recorded; invalid_argument: unknown type.
    Result<alerting::asset_alerts::change> record_event(std::string_view type, std::int64_t cycle);
    /// Cycle at which the current life began (0: the first life).
    std::int64_t life_start() const noexcept { return life_start_; }
    struct closure {
        std::string type;  ///< "failure" or "removal"
        std::int64_t cycle = 0;
    };
    /// Promotion: this twin (a candidate model's, run beside `live` on the same readings) becomes
    /// the live one. It takes over `live`'s alert state (the numbering and the alert in force)
    /// and judges its own latest estimate against it; returns the changes that makes.
    alerting::asset_alerts::change take_over_alerts(const asset_twin& live);
    const std::optional<closure>& closed() const noexcept { return rare_ ? rare_->closed : no_rare_state().closed; }
    std::vector<channel_state> channels() const;
    std::size_t channel_count() const noexcept { return block_.size(); }
    /// The filters, in the model's channel order.
    std::span<const estimation::trend_state> filters() const noexcept { return block_.filters(); }
    /// Each channel's baseline (its level frozen after the model's baseline_cycles; NaN before).
    std::span<const double> baselines() const noexcept { return block_.baselines(); }
    const prognostics::rul_model& model() const noexcept { return *config_->model; }
    /// The model, shared: for what outlives this call and must keep the model alive.
    const std::shared_ptr<const prognostics::rul_model>& shared_model() const noexcept { return config_->model; }
    /// Filtered level of channel i (the model's channel order); no allocation.
    double channel_level(std::size_t i) const noexcept { return block_.filters()[i].level(); }
    /// The twin's whole state as a versioned binary blob (doubles bit for bit), for the store.
    std::string snapshot() const;
    /// Rebuilds a twin from snapshot(); fails on a blob from another model or version.
    static Result<asset_twin> restore(std::string_view blob, const twin_config& config);

    /// Model features computed at the last applied cycle (training reads them).
    /// (Computed from the current state: the same numbers the last process() predicted from.)
    std::vector<float> features() const;

private:
    struct channel_scratch;
    /// Spikes, jumps, stuck values and dropouts (the rules in sensor_health.hpp); drift and
    /// recovery need the deviations and are judged in process().
    void judge_sensors(std::int64_t cycle, channel_scratch& scratch, twin_update& u);
    /// Deviations and features, a failed probe's level and trend imputed from the others.
    void compute_inputs(std::int64_t cycle, channel_scratch& scratch, std::span<float> features) const;
    void set_health(std::size_t channel, sensor_status status, sensor_fault reason, std::int64_t since, twin_update& u);

    std::string id_;
    const twin_config* config_;  ///< the fleet's: model, catalogue, thresholds (not owned)
    /// Per channel, in one allocation (a fleet holds 100,000 twins): the filters, the baselines
    /// (each channel's level frozen after baseline_cycles readings; NaN before) and the probes'
    /// health.
    class channel_block {
    public:
        explicit channel_block(const prognostics::rul_model& model);
        std::size_t size() const noexcept { return n_; }
        std::span<estimation::trend_state> filters() noexcept { return {reinterpret_cast<estimation::trend_state*>(bytes_.get()), n_}; }
        std::span<const estimation::trend_state> filters() const noexcept {
            return {reinterpret_cast<const estimation::trend_state*>(bytes_.get()), n_};
        }
        std::span<double> baselines() noexcept { return {reinterpret_cast<double*>(bytes_.get() + baselines_at()), n_}; }
        std::span<const double> baselines() const noexcept { return {reinterpret_cast<const double*>(bytes_.get() + baselines_at()), n_}; }
        std::span<sensor_health> health() noexcept { return {reinterpret_cast<sensor_health*>(bytes_.get() + health_at()), n_}; }
        std::span<const sensor_health> health() const noexcept {
            return {reinterpret_cast<const sensor_health*>(bytes_.get() + health_at()), n_};
        }

    private:
        std::size_t baselines_at() const noexcept { return n_ * sizeof(estimation::trend_state); }
        std::size_t health_at() const noexcept { return baselines_at() + n_ * sizeof(double); }
        std::unique_ptr<std::byte[]> bytes_;  // filters, then baselines, then health: all trivially destructible
        std::size_t n_ = 0;
    };
    channel_block block_;
    double innovation_ratio_ = 1.0;                   ///< EWMA of the mean NIS over channels
    std::int64_t last_cycle_ = 0;
    std::uint64_t applied_ = 0;
    std::optional<latest_estimate> last_;
    alerting::asset_alerts alerts_;
    std::int64_t life_start_ = 0;
    /// What few engines ever have, out of line (8 bytes for the rest of a 100,000-engine fleet).
    struct rare_state {
        std::optional<std::string> fault;  ///< numerical fault
        std::optional<closure> closed;     ///< recorded failure or removal
    };
    std::unique_ptr<rare_state> rare_;
    static const rare_state& no_rare_state() noexcept;
    rare_state& rare() {
        if (!rare_) rare_ = std::make_unique<rare_state>();
        return *rare_;
    }
};

}  // namespace turbotwin::twin
