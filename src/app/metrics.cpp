#include "turbotwin/app/metrics.hpp"

#include <algorithm>
#include <cstdio>

namespace turbotwin::app {

std::uint64_t metrics::rejected_total() const noexcept {
    std::uint64_t n = 0;
    for (const auto& r : rejected_) n += r.load(std::memory_order_relaxed);
    return n;
}

void metrics::observe_processing(double seconds) noexcept {
    std::size_t i = 0;
    while (i < latency_buckets.size() && seconds > latency_buckets[i]) ++i;
    latency_counts_[i].fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e9), std::memory_order_relaxed);
}

void metrics::count_http(std::string_view route, unsigned status) {
    std::lock_guard lock(http_mu_);
    ++http_requests_[{std::string(route), status}];
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
    counter("turbotwin_shadow_rejected_total", "Readings the live twin applied and the shadow model's twin refused.", shadow_rejected.load());
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
    // Cumulative buckets, as Prometheus histograms are.
    out += "# HELP turbotwin_processing_seconds Time from a message's arrival to its twin having processed it.\n";
    out += "# TYPE turbotwin_processing_seconds histogram\n";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= latency_buckets.size(); ++i) {
        cumulative += latency_counts_[i].load(std::memory_order_relaxed);
        char le[32];
        if (i < latency_buckets.size()) std::snprintf(le, sizeof le, "%g", latency_buckets[i]);
        else std::snprintf(le, sizeof le, "+Inf");
        out += "turbotwin_processing_seconds_bucket{le=\"";
        out += le;
        out += "\"} " + std::to_string(cumulative) + '\n';
    }
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.9f", double(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9);
    out += "turbotwin_processing_seconds_sum ";
    out += sum;
    out += "\nturbotwin_processing_seconds_count " + std::to_string(cumulative) + '\n';
    {
        std::lock_guard lock(http_mu_);
        out += "# HELP turbotwin_http_requests_total HTTP requests answered by the API, by route and status.\n";
        out += "# TYPE turbotwin_http_requests_total counter\n";
        for (const auto& [key, n] : http_requests_) {
            out += "turbotwin_http_requests_total{route=\"";
            out += key.first;
            out += "\",status=\"" + std::to_string(key.second) + "\"} " + std::to_string(n) + '\n';
        }
    }
    out += gauges;
    return out;
}

}  // namespace turbotwin::app
