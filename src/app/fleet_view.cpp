#include "turbotwin/app/fleet_view.hpp"

#include <mutex>

namespace turbotwin::app {

void fleet_view::upsert(asset_summary s) {
    std::unique_lock lock(mu_);
    assets_[s.id] = std::move(s);
}

void fleet_view::record_alert(const alerting::alert& a) {
    std::unique_lock lock(mu_);
    if (auto it = alert_seq_.find(a.id); it != alert_seq_.end()) {
        alerts_[it->second] = a;
        return;
    }
    const auto seq = next_seq_++;
    alerts_.emplace(seq, a);
    alert_seq_.emplace(a.id, seq);
    // Bounded memory: the oldest alerts leave the in-memory log first.
    while (alerts_.size() > max_alerts_) {
        alert_seq_.erase(alerts_.begin()->second.id);
        alerts_.erase(alerts_.begin());
    }
}

std::optional<asset_summary> fleet_view::asset(const std::string& id) const {
    std::shared_lock lock(mu_);
    auto it = assets_.find(id);
    if (it == assets_.end()) return std::nullopt;
    return it->second;
}

page<asset_summary> fleet_view::assets(const std::optional<std::string>& cursor, std::size_t limit) const {
    std::shared_lock lock(mu_);
    page<asset_summary> p;
    auto it = cursor ? assets_.upper_bound(*cursor) : assets_.begin();
    for (; it != assets_.end() && p.items.size() < limit; ++it) {
        asset_summary s = it->second;
        s.channels.clear();  // lists stay light; the asset route has the detail
        p.items.push_back(std::move(s));
    }
    if (it != assets_.end() && !p.items.empty()) p.next_cursor = p.items.back().id;
    return p;
}

page<alerting::alert> fleet_view::alerts(const std::optional<std::uint64_t>& cursor, std::size_t limit, const alert_filter& filter) const {
    std::shared_lock lock(mu_);
    page<alerting::alert> p;
    auto it = cursor ? std::make_reverse_iterator(alerts_.lower_bound(*cursor)) : alerts_.rbegin();
    std::uint64_t last_seq = 0;
    for (; it != alerts_.rend() && p.items.size() < limit; ++it) {
        if (!filter.matches(it->second)) continue;
        p.items.push_back(it->second);
        last_seq = it->first;
    }
    // A further match may exist: the next page starts below the last one shown.
    while (it != alerts_.rend() && !filter.matches(it->second)) ++it;
    if (it != alerts_.rend() && !p.items.empty()) p.next_cursor = std::to_string(last_seq);
    return p;
}

std::optional<alerting::alert> fleet_view::alert(const std::string& id) const {
    std::shared_lock lock(mu_);
    auto seq = alert_seq_.find(id);
    if (seq == alert_seq_.end()) return std::nullopt;
    return alerts_.at(seq->second);
}

std::size_t fleet_view::asset_count() const {
    std::shared_lock lock(mu_);
    return assets_.size();
}

std::size_t fleet_view::active_alert_count() const {
    std::shared_lock lock(mu_);
    std::size_t n = 0;
    for (const auto& [seq, a] : alerts_) n += a.state != alerting::alert_state::cleared;
    return n;
}

std::size_t fleet_view::alert_count() const {
    std::shared_lock lock(mu_);
    return alerts_.size();
}

}  // namespace turbotwin::app
