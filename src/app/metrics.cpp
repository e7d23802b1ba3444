#include "turbotwin/app/metrics.hpp"

namespace turbotwin::app {

std::uint64_t metrics::rejected_total() const noexcept {
    std::uint64_t n = 0;
    for (const auto& r : rejected_) n += r.load(std::memory_order_relaxed);
    return n;
}

std::string metrics::prometheus(const std::string& gauges) const {
    std::string out;
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
        out += "# HELP "; out += name; out += ' '; out += help; out += "\n# TYPE "; out += name; out += " counter\n";
        out += name; out += ' '; out += std::to_string(v); out += '\n';
    };
    counter("turbotwin_messages_received_total", "Telemetry messages received from the broker.", messages_received.load());
    counter("turbotwin_readings_applied_total", "Readings applied to a twin.", readings_applied.load());
    counter("turbotwin_sensors_ignored_total", "Single implausible or non-numeric sensor values ignored.", sensors_ignored.load());
    counter("turbotwin_rul_messages_published_total", "RUL messages published.", rul_published.load());
    counter("turbotwin_alert_messages_published_total", "Alert messages published.", alerts_published.load());
    counter("turbotwin_publish_failures_total", "Publishes the MQTT client refused.", publish_failures.load());
    counter("turbotwin_alert_redeliveries_total", "Alert messages sent again because the first publish failed or was lost.", alert_redeliveries.load());
        counter("turbotwin_journal_replayed_total", "Journal entries re-applied at start-up (after the store's checkpoint).", journal_replayed.load());
    counter("turbotwin_journal_replay_skipped_total", "Re-applied journal entries whose cycle the restored twin already had.", replay_skipped.load());
    counter("turbotwin_journal_write_failures_total", "Telemetry messages that could not be written to the ingest journal.", journal_failures.load());
    out += "# HELP turbotwin_rejected_messages_total Telemetry messages rejected, by reason.\n";
    out += "# TYPE turbotwin_rejected_messages_total counter\n";
    for (std::size_t i = 1; i < reason_slots; ++i) {
        const auto v = rejected_[i].load(std::memory_order_relaxed);
        if (v == 0) continue;
        out += "turbotwin_rejected_messages_total{reason=\"";
        out += reason_label(static_cast<errc>(i));
        out += "\"} " + std::to_string(v) + '\n';
    }
    out += gauges;
    return out;
}

}  // namespace turbotwin::app
