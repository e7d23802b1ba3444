#include "turbotwin/alerting/rules.hpp"

namespace turbotwin::alerting {

const char* to_string(severity s) noexcept {
    switch (s) {
        case severity::normal: return "normal";
        case severity::warning: return "warning";
        case severity::critical: return "critical";
    }
    return "normal";
}

const char* to_string(alert_state s) noexcept { return s == alert_state::active ? "active" : "cleared"; }

severity next_severity(const thresholds& t, severity current, double rul) noexcept {
    // Escalate as soon as a threshold is crossed.
    if (rul <= t.critical_rul) return severity::critical;
    if (rul <= t.warning_rul) return current == severity::critical && rul <= t.critical_rul + t.clear_margin
                                         ? severity::critical
                                         : severity::warning;
    // Above the warning threshold: keep the current severity until past the clearing margin.
    if (current == severity::critical && rul <= t.critical_rul + t.clear_margin) return severity::critical;
    if (current != severity::normal && rul <= t.warning_rul + t.clear_margin) return severity::warning;
    return severity::normal;
}

asset_alerts::change asset_alerts::evaluate(const thresholds& t, std::string_view asset, std::int64_t cycle, double rul,
                                            double rul_lo, double rul_hi, double risk_rul) {
    change ch;
    if (risk_rul != risk_rul) risk_rul = rul;  // NaN: alert on the point estimate
    const severity next = next_severity(t, severity_, risk_rul);
    if (next == severity_) return ch;
    severity_ = next;
    if (active_) {
        active_->state = alert_state::cleared;
        active_->cleared_cycle = cycle;
        active_->cycle = cycle;
        active_->rul = rul;
        active_->rul_lo = rul_lo;
        active_->rul_hi = rul_hi;
        active_->risk_rul = risk_rul;
        ch.cleared = std::move(active_);
        active_.reset();
    }
    if (next != severity::normal) {
        alert a;
        a.id = std::string(asset) + "-" + std::to_string(++raised_count_);
        a.asset = std::string(asset);
        a.level = next;
        a.raised_cycle = a.cycle = cycle;
        a.rul = rul;
        a.rul_lo = rul_lo;
        a.rul_hi = rul_hi;
        a.risk_rul = risk_rul;
        active_ = a;
        ch.raised = std::move(a);
    }
    return ch;
}

}  // namespace turbotwin::alerting
