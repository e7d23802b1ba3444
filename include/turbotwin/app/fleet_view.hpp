#pragma once
/// The read model that REST serves: a copy of every asset's latest state and the alert log.
/// Written by the fleet's workers (each asset by its one owner), read by HTTP threads.
#include <atomic>
#include <cstdint>
#include <memory>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

/// A filtered sensor in the read model: values only; names are the model's channel names, in
/// the same order (rest_api's status.channel_names), kept once rather than per engine.
/// Single precision, like the levels in the stored history: display values, and 224 bytes
/// per engine less at fleet scale (docs/performance.md).
struct channel_values {
    float level = 0, level_std = 0, slope = 0, slope_std = 0;
};

/// A probe that is not ok, as the read model keeps it (names come from the model's channels).
struct sensor_flag {
    std::uint16_t channel = 0;  ///< index into the model's channels
    twin::sensor_status status = twin::sensor_status::suspect;
    twin::sensor_fault reason = twin::sensor_fault::none;
    std::int32_t since = 0;     ///< cycle at which this status began
};

/// The parts of an engine's summary most engines do not have: out of line, so that a fleet of
/// 100,000 carries a null pointer for them, and shared between copies of a summary.
struct asset_notes {
    std::string trust_reason;                   ///< why confidence is low
    std::optional<std::string> active_alert;    ///< id of the active RUL alert
    std::optional<std::string> fault;           ///< numerical fault, if any
    std::optional<twin::asset_twin::closure> closed;  ///< recorded failure or removal
    bool empty() const noexcept { return trust_reason.empty() && !active_alert && !fault && !closed; }
};

struct asset_summary {
    std::string id;
    std::int64_t last_cycle = 0;
    double rul = 0, rul_lo = 0, rul_hi = 0;
    alerting::severity level = alerting::severity::normal;
    twin::confidence trust = twin::confidence::high;
    double risk_rul = 0;                        ///< the alerting quantile of RUL
    double risk = 0;                            ///< P(failure within the critical horizon)
    double novelty = 0;                         ///< novelty score (NaN before the baseline)
    double raw = 0, widening = 1;               ///< the trees' output and the interval's widening: the predictive distribution (planning)
    std::uint64_t readings = 0;                 ///< readings applied
    std::int64_t life_start = 0;                ///< cycle of the last maintenance event (0: first life)
    std::shared_ptr<const asset_notes> notes;   ///< null when there is nothing to note
    const asset_notes& extra() const noexcept {
        static const asset_notes nothing;
        return notes ? *notes : nothing;
    }
    std::vector<channel_values> channels;       ///< filtered sensors, in the model's channel order
    std::vector<sensor_flag> sensor_faults;     ///< probes not ok (usually none)
    std::int64_t updated_ms = 0;                ///< wall clock of the last update (server time)
};

template <class T>
struct page {
    std::vector<T> items;
    std::optional<std::string> next_cursor;
};

/// Which assets a listing shows, in which order, from where.
struct asset_query {
    enum class order { id, rul, risk_desc };
    order sort = order::id;
    std::optional<alerting::severity> level;
    std::optional<double> rul_lt;
    std::optional<twin::confidence> trust;
    std::optional<std::string> cursor;  ///< next_cursor of the previous page (opaque)
    std::size_t limit = 100;
};

/// Counts for the fleet summary, taken under one lock.
struct fleet_counts {
    std::size_t assets = 0;
    std::size_t by_severity[3] = {0, 0, 0};  ///< normal, warning, critical
    std::size_t by_confidence[2] = {0, 0};   ///< high, low
    std::size_t alerts_active = 0, alerts_acknowledged = 0, alerts_cleared = 0;
    std::vector<asset_summary> most_at_risk; ///< by risk, highest first (no channels)
};

/// Which alerts a listing shows; unset fields match everything.
struct alert_filter {
    std::optional<alerting::alert_state> state;
    std::optional<alerting::severity> level;
    std::optional<std::string> asset;
    std::optional<alerting::alert_type> type;
    bool matches(const alerting::alert& a) const {
        return (!state || a.state == *state) && (!level || a.level == *level) && (!asset || a.asset == *asset) &&
               (!type || a.type == *type);
    }
};

/// Ingest and REST meet here, and neither waits for the other: each engine's summary is an
/// immutable snapshot behind an atomic pointer, replaced whole by the engine's one owner and
/// read whole by any number of HTTP threads (a reader keeps the snapshot it loaded alive). The
/// index of engines only changes when a new engine appears; listings hold it shared, so they
/// delay only the first reading of a brand-new engine, never the readings of known ones.
class fleet_view {
public:
    explicit fleet_view(std::size_t max_alerts = 100000) : max_alerts_(max_alerts) {}

    void upsert(asset_summary s);
    /// Replaces the engine's summary only if `s` is of a later cycle than the one shown, atomically
    /// (cluster mode's read model: a message about an engine this member has just taken over must
    /// not overwrite what its own twin wrote meanwhile). False: not written.
    bool upsert_if_newer(asset_summary s);
    /// Records a new alert or the new state of a known one (same id).
    void record_alert(const alerting::alert& a);

    std::optional<asset_summary> asset(const std::string& id) const;
    /// Assets in id order after `cursor` (an id), at most `limit`.
    page<asset_summary> assets(const std::optional<std::string>& cursor, std::size_t limit) const;
    /// Filtered and sorted assets. Paging is by key (sort value, then id): a page continues
    /// after the last item shown, so ingest between pages never repeats an engine whose key
    /// did not change. nullopt: the cursor is not one this query made.
    std::optional<page<asset_summary>> assets(const asset_query& q) const;
    fleet_counts counts(std::size_t top) const;
    /// Alerts newest first; the cursor is the sequence number to continue below.
    page<alerting::alert> alerts(const std::optional<std::uint64_t>& cursor, std::size_t limit, const alert_filter& filter = {}) const;
    std::optional<alerting::alert> alert(const std::string& id) const;

    std::size_t asset_count() const;
    /// Alerts in force: active or acknowledged.
    std::size_t active_alert_count() const;
    std::size_t alert_count() const;

private:
    using snapshot = std::shared_ptr<const asset_summary>;
    struct slot {
        std::atomic<snapshot> current;  ///< replaced by the engine's owner, loaded by readers
    };
    std::vector<snapshot> current_snapshots() const;  ///< every engine's, in id order

    mutable std::shared_mutex assets_mu_;  ///< guards the index (not the slots' contents)
    std::map<std::string, slot, std::less<>> assets_;  ///< by id; map nodes never move, slots never go

    mutable std::shared_mutex alerts_mu_;  ///< guards the alert log below
    std::map<std::uint64_t, alerting::alert> alerts_;             ///< by sequence number
    std::unordered_map<std::string, std::uint64_t> alert_seq_;    ///< alert id -> sequence
    std::uint64_t next_seq_ = 1;
    std::size_t max_alerts_;
};

}  // namespace turbotwin::app
