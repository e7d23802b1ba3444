#pragma once
/// RUL alert rules: a severity per asset with hysteresis, and the alert lifecycle it drives.
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "turbotwin/core/result.hpp"

namespace turbotwin::alerting {

enum class severity { normal = 0, warning = 1, critical = 2 };
const char* to_string(severity s) noexcept;

/// Thresholds in cycles of RUL. A severity is entered when rul <= its threshold and left only
/// when rul > threshold + clear_margin, so a noisy estimate near a threshold does not flap.
struct thresholds {
    double warning_rul = 50.0;
    double critical_rul = 20.0;
    double clear_margin = 10.0;
    /// Alert on risk, not on the point estimate: the thresholds apply to the `probability`
    /// quantile of the predictive RUL distribution, so "critical" means
    /// P(failure within critical_rul cycles) >= probability. 0.5 is the median.
    double probability = 0.5;
};

/// Severity for `rul` given the current severity (hysteresis).
severity next_severity(const thresholds& t, severity current, double rul) noexcept;

/// active -> acknowledged (an operator has seen it) -> cleared (the severity changed). An
/// acknowledged alert is still in force: only the twin clears an alert.
enum class alert_state { active, cleared, acknowledged };
const char* to_string(alert_state s) noexcept;
std::optional<alert_state> parse_alert_state(std::string_view s) noexcept;
std::optional<severity> parse_severity(std::string_view s) noexcept;

/// Who acknowledged an alert, when (server clock, ms since the epoch) and why.
struct acknowledgement {
    std::string by;
    std::int64_t at_ms = 0;
    std::string comment;
};

/// What an alert is about: the engine's RUL, or one of its probes (twin/sensor_health.hpp).
enum class alert_type { rul, sensor_fault };
const char* to_string(alert_type t) noexcept;
std::optional<alert_type> parse_alert_type(std::string_view s) noexcept;

/// One alert. A RUL alert's id is "<asset>-<n>" with n counting the asset's RUL alerts from 1;
/// a sensor fault's is "<asset>-<sensor>-<cycle it failed at>". A sensor fault alert is raised
/// when the twin judges a probe failed and clears when it reads plausibly again (or a maintenance
/// event starts a new life); it never changes the engine's severity.
/// Text made on first use, by whichever thread asks for it first, then kept. The twin's state at
/// a raise includes TreeSHAP over every tree (about a millisecond): made this way, the store's
/// commit thread or a REST request pays for it, not the worker that owns the engine.
class deferred_text {
public:
    explicit deferred_text(std::string ready) : text_(std::move(ready)) { std::call_once(once_, [] {}); }
    explicit deferred_text(std::function<std::string()> make) : make_(std::move(make)) {}
    deferred_text(const deferred_text&) = delete;
    deferred_text& operator=(const deferred_text&) = delete;

    const std::string& get() const {
        std::call_once(once_, [this] {
            text_ = make_();
            make_ = nullptr;  // what it captured is not needed any more
        });
        return text_;
    }

private:
    mutable std::once_flag once_;
    mutable std::function<std::string()> make_;
    mutable std::string text_;
};

struct alert {
    std::string id;
    std::string asset;
    alert_type type = alert_type::rul;
    std::string sensor;  ///< sensor_fault: the probe
    std::string reason;  ///< sensor_fault: stuck, dropout, drift, jump
    severity level = severity::warning;
    alert_state state = alert_state::active;
    std::int64_t raised_cycle = 0;
    std::optional<std::int64_t> cleared_cycle;
    std::int64_t cycle = 0;   ///< cycle of the last change
    double rul = 0, rul_lo = 0, rul_hi = 0;  ///< estimate at the last change
    double risk_rul = 0;      ///< the alerting quantile of RUL at the last change
    std::optional<acknowledgement> ack;  ///< kept when the alert clears
    /// What produced this change (twin/asset_twin.hpp `provenance`): stamped by the server.
    std::string model, model_hash, config_hash, code_version;
    /// The twin's state when the alert was raised (JSON, twin/state_record.hpp), kept through the
    /// alert's later changes; shared because the read model copies alerts when it lists them.
    std::shared_ptr<const deferred_text> fired_state;
};

/// Per-asset alert state: at most one active RUL alert, whose severity is the asset's.
/// On every severity change the active alert (if any) is cleared and, unless the new severity
/// is normal, a new alert is raised. Each change is returned for publication.
class asset_alerts {
public:
    struct change {
        std::optional<alert> cleared;  ///< the alert that just ended
        std::optional<alert> raised;   ///< the alert that just started
    };

    asset_alerts() = default;
    asset_alerts(const asset_alerts& other) { *this = other; }
    asset_alerts& operator=(const asset_alerts& other) {
        if (this != &other) {
            severity_ = other.severity_;
            active_ = other.active_ ? std::make_unique<alert>(*other.active_) : nullptr;
            raised_count_ = other.raised_count_;
        }
        return *this;
    }
    asset_alerts(asset_alerts&&) noexcept = default;
    asset_alerts& operator=(asset_alerts&&) noexcept = default;

    severity current() const noexcept { return severity_; }
    /// The alert in force (active or acknowledged), or null.
    const alert* active() const noexcept { return active_.get(); }
    std::uint64_t raised_count() const noexcept { return raised_count_; }

    /// Applies one estimate; returns what changed (both empty when nothing did).
    /// `risk_rul` (the thresholds' probability quantile of RUL) drives the severity; NaN
    /// means use `rul`.
    change evaluate(const thresholds& t, std::string_view asset, std::int64_t cycle, double rul, double rul_lo,
                    double rul_hi, double risk_rul = std::numeric_limits<double>::quiet_NaN());

    /// Acknowledges the active alert `alert_id` of `asset`. Fails with not_found if the asset
    /// never had such an alert, conflict if it is already acknowledged or cleared. Returns the
    /// alert as it now is (state acknowledged).
    Result<alert> acknowledge(std::string_view asset, std::string_view alert_id, acknowledgement ack);

    /// Ends the active alert, if any, at `cycle` (a shop visit or a removal) and returns to
    /// normal severity. Alert numbering goes on, so ids stay unique across lives.
    change clear(std::int64_t cycle);

    /// Restores a snapshot of this state.
    void restore(severity s, std::optional<alert> active, std::uint64_t raised_count) {
        severity_ = s;
        active_ = active ? std::make_unique<alert>(std::move(*active)) : nullptr;
        raised_count_ = raised_count;
    }

private:
    severity severity_ = severity::normal;
    std::unique_ptr<alert> active_;  ///< out of line: most engines of a fleet have none
    std::uint64_t raised_count_ = 0;
};

}  // namespace turbotwin::alerting
