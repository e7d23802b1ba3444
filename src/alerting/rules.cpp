#include "turbotwin/alerting/rules.hpp"

namespace turbotwin::alerting {

const char* to_string(alert_type t) noexcept { return t == alert_type::rul ? "rul" : "sensor_fault"; }

std::optional<alert_type> parse_alert_type(std::string_view s) noexcept {
    if (s == "rul") return alert_type::rul;
    if (s == "sensor_fault") return alert_type::sensor_fault;
    return std::nullopt;
}

const char* to_string(severity s) noexcept {
    switch (s) {
        case severity::normal: return "normal";
        case severity::warning: return "warning";
        case severity::critical: return "critical";
    }
    return "normal";
}

const char* to_string(alert_state s) noexcept {
    switch (s) {
        case alert_state::active: return "active";
        case alert_state::acknowledged: return "acknowledged";
        case alert_state::cleared: return "cleared";
    }
    return "active";
}

std::optional<alert_state> parse_alert_state(std::string_view s) noexcept {
    for (auto v : {alert_state::active, alert_state::acknowledged, alert_state::cleared})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

std::optional<severity> parse_severity(std::string_view s) noexcept {
    for (auto v : {severity::normal, severity::warning, severity::critical})
        if (s == to_string(v)) return v;
    return std::nullopt;
}

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
        ch.cleared = std::move(*active_);
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
        active_ = std::make_unique<alert>(a);
        ch.raised = std::move(a);
    }
    return ch;
}

asset_alerts::change asset_alerts::clear(std::int64_t cycle) {
    change ch;
    severity_ = severity::normal;
    if (active_) {
        active_->state = alert_state::cleared;
        active_->cleared_cycle = cycle;
        active_->cycle = cycle;
        ch.cleared = std::move(*active_);
        active_.reset();
    }
    return ch;
}

Result<alert> asset_alerts::acknowledge(std::string_view asset, std::string_view alert_id, acknowledgement ack) {
    if (active_ && active_->id == alert_id) {
        if (active_->state == alert_state::acknowledged)
            return {errc::conflict, "alert " + active_->id + " is already acknowledged by " + active_->ack->by};
        active_->state = alert_state::acknowledged;
        active_->ack = std::move(ack);
        return *active_;
    }
    // Ids are "<asset>-<n>" with n in 1..raised_count: an older one has been cleared.
    const auto dash = alert_id.rfind('-');
    std::uint64_t n = 0;
    bool numeric = dash != std::string_view::npos && dash + 1 < alert_id.size() && alert_id.substr(0, dash) == asset;
    for (std::size_t i = dash + 1; numeric && i < alert_id.size(); ++i) {
        numeric = alert_id[i] >= '0' && alert_id[i] <= '9' && n < (std::uint64_t(1) << 60);
        n = n * 10 + std::uint64_t(alert_id[i] - '0');
    }
    if (numeric && n >= 1 && n <= raised_count_) return {errc::conflict, "alert " + std::string(alert_id) + " has cleared"};
    return {errc::not_found, "no alert " + std::string(alert_id)};
}

}  // namespace turbotwin::alerting
