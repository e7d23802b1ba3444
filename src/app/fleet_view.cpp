#include "turbotwin/app/fleet_view.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "turbotwin/core/reading.hpp"

namespace turbotwin::app {

void fleet_view::upsert(asset_summary s) {
    auto next = std::make_shared<const asset_summary>(std::move(s));
    {
        std::shared_lock lock(assets_mu_);
        if (auto it = assets_.find(next->id); it != assets_.end()) {
            it->second.current.store(std::move(next), std::memory_order_release);
            return;
        }
    }
    std::unique_lock lock(assets_mu_);  // a new engine: the only write to the index
    auto [entry, inserted] = assets_.try_emplace(next->id);
    entry->second.current.store(std::move(next), std::memory_order_release);
}

bool fleet_view::upsert_if_newer(asset_summary s) {
    auto next = std::make_shared<const asset_summary>(std::move(s));
    // Compare-and-swap: a write by the engine's owner between the load and the swap wins.
    auto swap_if_older = [&next](std::atomic<snapshot>& current) {
        auto shown = current.load(std::memory_order_acquire);
        while (!shown || shown->last_cycle < next->last_cycle)
            if (current.compare_exchange_weak(shown, next, std::memory_order_acq_rel)) return true;
        return false;
    };
    {
        std::shared_lock lock(assets_mu_);
        if (auto it = assets_.find(next->id); it != assets_.end()) return swap_if_older(it->second.current);
    }
    std::unique_lock lock(assets_mu_);  // a new engine: the only write to the index
    return swap_if_older(assets_.try_emplace(next->id).first->second.current);
}

void fleet_view::record_alert(const alerting::alert& a) {
    std::unique_lock lock(alerts_mu_);
    if (auto it = alert_seq_.find(a.id); it != alert_seq_.end()) {
        auto& known = alerts_[it->second];
        // Only the change that raised an alert carries the twin's state then; later ones keep it.
        auto fired_state = a.fired_state ? a.fired_state : known.fired_state;
        known = a;
        known.fired_state = std::move(fired_state);
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
    snapshot current;
    {
        std::shared_lock lock(assets_mu_);
        auto it = assets_.find(id);
        if (it == assets_.end()) return std::nullopt;
        current = it->second.current.load(std::memory_order_acquire);
    }
    return *current;
}

page<asset_summary> fleet_view::assets(const std::optional<std::string>& cursor, std::size_t limit) const {
    std::vector<snapshot> shown;
    bool more = false;
    {
        std::shared_lock lock(assets_mu_);
        auto it = cursor ? assets_.upper_bound(*cursor) : assets_.begin();
        for (; it != assets_.end() && shown.size() < limit; ++it) shown.push_back(it->second.current.load(std::memory_order_acquire));
        more = it != assets_.end();
    }
    page<asset_summary> p;
    for (const auto& a : shown) {
        asset_summary s = *a;
        s.channels.clear();  // lists stay light; the asset route has the detail
        p.items.push_back(std::move(s));
    }
    if (more && !p.items.empty()) p.next_cursor = p.items.back().id;
    return p;
}

page<alerting::alert> fleet_view::alerts(const std::optional<std::uint64_t>& cursor, std::size_t limit, const alert_filter& filter) const {
    std::shared_lock lock(alerts_mu_);
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
    std::shared_lock lock(alerts_mu_);
    auto seq = alert_seq_.find(id);
    if (seq == alert_seq_.end()) return std::nullopt;
    return alerts_.at(seq->second);
}

namespace {

// The sort key of an asset under an order; risk is negated so every order is ascending.
double sort_key(const asset_summary& a, asset_query::order o) {
    return o == asset_query::order::rul ? a.rul : o == asset_query::order::risk_desc ? -a.risk : 0.0;
}

const char* order_name(asset_query::order o) {
    return o == asset_query::order::rul ? "rul" : o == asset_query::order::risk_desc ? "risk" : "id";
}

// "<order>.<16 hex digits of the key's bits>.<id>": exact, and safe in a URL.
std::string make_cursor(asset_query::order o, double key, const std::string& id) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &key, sizeof bits);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(bits));
    return std::string(order_name(o)) + "." + hex + "." + id;
}

std::optional<std::pair<double, std::string>> parse_cursor(asset_query::order o, const std::string& c) {
    const std::string prefix = std::string(order_name(o)) + ".";
    if (c.size() < prefix.size() + 18 || c.compare(0, prefix.size(), prefix) != 0 || c[prefix.size() + 16] != '.') return std::nullopt;
    std::uint64_t bits = 0;
    for (std::size_t i = prefix.size(); i < prefix.size() + 16; ++i) {
        const char ch = c[i];
        const int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0) return std::nullopt;
        bits = bits << 4 | std::uint64_t(v);
    }
    double key = 0;
    std::memcpy(&key, &bits, sizeof key);
    std::string id = c.substr(prefix.size() + 17);
    if (!valid_asset_id(id) || key != key) return std::nullopt;
    return std::pair{key, std::move(id)};
}

}  // namespace

std::optional<page<asset_summary>> fleet_view::assets(const asset_query& q) const {
    std::optional<std::pair<double, std::string>> after;
    if (q.cursor) {
        if (q.sort == asset_query::order::id) {
            if (!valid_asset_id(*q.cursor)) return std::nullopt;
            after = std::pair{0.0, *q.cursor};
        } else {
            after = parse_cursor(q.sort, *q.cursor);
            if (!after) return std::nullopt;
        }
    }
    auto matches = [&](const asset_summary& a) {
        return (!q.level || a.level == *q.level) && (!q.rul_lt || a.rul < *q.rul_lt) && (!q.trust || a.trust == *q.trust);
    };
    // Every engine's current snapshot, taken under the index lock (pointer copies only); the
    // filtering and sorting happen after it is released.
    std::vector<snapshot> all = current_snapshots();
    // Candidates after the cursor in (key, id) order; ids are unique, so the order is total.
    std::vector<std::pair<double, const asset_summary*>> keyed;
    for (const auto& a : all) {
        if (!matches(*a)) continue;
        const double key = sort_key(*a, q.sort);
        if (after && (key < after->first || (key == after->first && a->id <= after->second))) continue;
        keyed.emplace_back(key, a.get());
    }
    const std::size_t shown = std::min(q.limit, keyed.size());
    auto less = [](const auto& x, const auto& y) { return x.first < y.first || (x.first == y.first && x.second->id < y.second->id); };
    std::partial_sort(keyed.begin(), keyed.begin() + std::ptrdiff_t(shown), keyed.end(), less);
    page<asset_summary> p;
    for (std::size_t i = 0; i < shown; ++i) {
        asset_summary s = *keyed[i].second;
        s.channels.clear();
        p.items.push_back(std::move(s));
    }
    if (shown < keyed.size() && shown > 0)
        p.next_cursor = q.sort == asset_query::order::id ? p.items.back().id : make_cursor(q.sort, keyed[shown - 1].first, p.items.back().id);
    return p;
}

std::vector<fleet_view::snapshot> fleet_view::current_snapshots() const {
    std::vector<snapshot> all;
    std::shared_lock lock(assets_mu_);
    all.reserve(assets_.size());
    for (const auto& [id, entry] : assets_) all.push_back(entry.current.load(std::memory_order_acquire));
    return all;
}

fleet_counts fleet_view::counts(std::size_t top) const {
    fleet_counts c;
    const std::vector<snapshot> all = current_snapshots();
    c.assets = all.size();
    std::vector<const asset_summary*> order;
    order.reserve(all.size());
    for (const auto& a : all) {
        ++c.by_severity[std::size_t(a->level)];
        ++c.by_confidence[std::size_t(a->trust)];
        order.push_back(a.get());
    }
    {
        std::shared_lock lock(alerts_mu_);
        for (const auto& [seq, a] : alerts_) {
            c.alerts_active += a.state == alerting::alert_state::active;
            c.alerts_acknowledged += a.state == alerting::alert_state::acknowledged;
            c.alerts_cleared += a.state == alerting::alert_state::cleared;
        }
    }
    const std::size_t n = std::min(top, order.size());
    std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(),
                      [](const asset_summary* x, const asset_summary* y) { return x->risk > y->risk || (x->risk == y->risk && x->id < y->id); });
    for (std::size_t i = 0; i < n; ++i) {
        c.most_at_risk.push_back(*order[i]);
        c.most_at_risk.back().channels.clear();
    }
    return c;
}

std::size_t fleet_view::asset_count() const {
    std::shared_lock lock(assets_mu_);
    return assets_.size();
}

std::size_t fleet_view::active_alert_count() const {
    std::shared_lock lock(alerts_mu_);
    std::size_t n = 0;
    for (const auto& [seq, a] : alerts_) n += a.state != alerting::alert_state::cleared;
    return n;
}

std::size_t fleet_view::alert_count() const {
    std::shared_lock lock(alerts_mu_);
    return alerts_.size();
}

}  // namespace turbotwin::app
