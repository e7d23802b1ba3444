#include "turbotwin/planning/fleet_plan.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <random>

namespace turbotwin::planning {

namespace {

constexpr double days_per_week = 7.0;

/// The value at fraction p of sorted values (nearest rank below, then linear).
double sorted_quantile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return 0;
    const double at = p * double(sorted.size() - 1);
    const auto lo = std::size_t(std::floor(at));
    const auto hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (at - double(lo)) * (sorted[hi] - sorted[lo]);
}

/// Mean and 90% interval (5% and 95%) of Monte Carlo draws; sorts them.
struct draw_summary {
    double mean = 0, lo = 0, hi = 0;
};
draw_summary summarize_draws(std::vector<double>& draws) {
    draw_summary s;
    for (double x : draws) s.mean += x;
    s.mean /= double(draws.size());
    std::sort(draws.begin(), draws.end());
    s.lo = sorted_quantile(draws, 0.05);
    s.hi = sorted_quantile(draws, 0.95);
    return s;
}

bool positive(double v) { return std::isfinite(v) && v > 0; }

Result<bool> check_utilisation(const utilisation& u) {
    if (!positive(u.default_cycles_per_day)) return {errc::invalid_argument, "cycles_per_day must be a positive number"};
    for (const auto& [asset, rate] : u.per_engine)
        if (!positive(rate)) return {errc::invalid_argument, "cycles_per_day of " + asset + " must be a positive number"};
    return true;
}

/// Min-cost flow by successive shortest paths (Bellman-Ford on the residual graph: costs are
/// risks, small and non-negative, but residual arcs carry their negatives). Unit capacities on
/// the engine side, so each augmentation places one engine.
class min_cost_flow {
public:
    explicit min_cost_flow(std::size_t nodes) : out_(nodes) {}
    void add(std::size_t from, std::size_t to, int capacity, double cost) {
        out_[from].push_back(arcs_.size());
        arcs_.push_back({to, capacity, cost});
        out_[to].push_back(arcs_.size());
        arcs_.push_back({from, 0, -cost});
    }
    /// Pushes up to `units` from source to sink along cheapest paths; returns the flow pushed.
    int run(std::size_t source, std::size_t sink, int units) {
        int pushed = 0;
        const std::size_t n = out_.size();
        std::vector<double> dist(n);
        std::vector<std::size_t> via(n);
        std::vector<bool> queued(n);
        while (pushed < units) {
            std::fill(dist.begin(), dist.end(), std::numeric_limits<double>::infinity());
            std::fill(via.begin(), via.end(), std::size_t(-1));
            dist[source] = 0;
            std::deque<std::size_t> queue{source};
            queued.assign(n, false);
            queued[source] = true;
            while (!queue.empty()) {
                const auto u = queue.front();
                queue.pop_front();
                queued[u] = false;
                for (const auto a : out_[u]) {
                    const auto& arc = arcs_[a];
                    // The epsilon keeps float round-off from cycling on equal-cost paths.
                    if (arc.capacity > 0 && dist[u] + arc.cost < dist[arc.to] - 1e-12) {
                        dist[arc.to] = dist[u] + arc.cost;
                        via[arc.to] = a;
                        if (!queued[arc.to]) {
                            queued[arc.to] = true;
                            queue.push_back(arc.to);
                        }
                    }
                }
            }
            if (via[sink] == std::size_t(-1)) break;
            for (auto v = sink; v != source; v = arcs_[via[v] ^ 1].to) {
                --arcs_[via[v]].capacity;
                ++arcs_[via[v] ^ 1].capacity;
            }
            ++pushed;
        }
        return pushed;
    }
    /// Where the unit leaving `from` went (the arc to a node in [first, last)), or none.
    std::optional<std::size_t> used_arc_to(std::size_t from, std::size_t first, std::size_t last) const {
        for (const auto a : out_[from])
            if (a % 2 == 0 && arcs_[a].to >= first && arcs_[a].to < last && arcs_[a].capacity == 0) return arcs_[a].to;
        return std::nullopt;
    }

private:
    struct arc {
        std::size_t to;
        int capacity;
        double cost;
    };
    std::vector<std::vector<std::size_t>> out_;
    std::vector<arc> arcs_;  ///< arc 2k and its residual 2k+1
};

void sort_schedule(schedule& s) {
    std::sort(s.removals.begin(), s.removals.end(),
              [](const planned_removal& a, const planned_removal& b) { return a.week != b.week ? a.week < b.week : a.asset < b.asset; });
    std::sort(s.kept.begin(), s.kept.end());
}

}  // namespace

double failure_within(const prognostics::interval_calibration& c, const engine_outlook& e, double cycles) noexcept {
    return prognostics::failure_probability(c, e.raw, cycles, e.widening);
}

double utilisation::of(std::string_view asset) const noexcept {
    const auto it = per_engine.find(asset);
    return it == per_engine.end() ? default_cycles_per_day : it->second;
}

Result<fleet_forecast> forecast(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                const forecast_options& o) {
    if (!positive(o.days) || o.days > 3650) return {errc::invalid_argument, "days must be in (0, 3650]"};
    if (o.samples < 1 || o.samples > 100000) return {errc::invalid_argument, "samples must be in 1..100000"};
    if (auto ok = check_utilisation(o.use); !ok) return {ok.error(), ok.detail()};
    const int n_weeks = int(std::ceil(o.days / days_per_week));
    // Every draw's weekly counts are kept for the intervals: bound their memory (16 MB).
    constexpr double max_counts = 2e6;
    if (double(o.samples) * n_weeks > max_counts)
        return {errc::invalid_argument, "samples x weeks must be at most 2,000,000: at most " + std::to_string(int(max_counts / n_weeks)) +
                                            " samples over " + std::to_string(n_weeks) + " weeks"};
    fleet_forecast f;
    f.options = o;
    for (const auto& e : fleet) {
        const double rate = o.use.of(e.asset);
        engine_forecast ef;
        ef.asset = e.asset;
        ef.cycles_per_day = rate;
        ef.rul = e.rul;
        ef.p_critical = failure_within(c, e, o.critical_rul + o.days * rate);
        ef.median_days_to_critical = std::max(0.0, prognostics::rul_at_probability(c, e.raw, 0.5, e.widening) - o.critical_rul) / rate;
        f.engines.push_back(std::move(ef));
    }
    std::stable_sort(f.engines.begin(), f.engines.end(),
                     [](const engine_forecast& a, const engine_forecast& b) { return a.p_critical > b.p_critical; });

    // Monte Carlo over the fleet: counts[w][s] removals in week w of draw s.
    std::vector<std::vector<double>> counts(std::size_t(n_weeks), std::vector<double>(std::size_t(o.samples), 0.0));
    std::vector<double> totals(std::size_t(o.samples), 0.0);
    std::mt19937_64 rng(o.seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    for (int s = 0; s < o.samples; ++s) {
        for (const auto& e : fleet) {
            const double rul = prognostics::rul_at_probability(c, e.raw, uniform(rng), e.widening);
            const double day = std::max(0.0, rul - o.critical_rul) / o.use.of(e.asset);
            if (day >= o.days) continue;
            const auto week = std::min(std::size_t(day / days_per_week), std::size_t(n_weeks - 1));
            counts[week][std::size_t(s)] += 1;
            totals[std::size_t(s)] += 1;
        }
    }
    for (int w = 0; w < n_weeks; ++w) {
        week_removals wr;
        wr.week = w;
        wr.from_day = w * days_per_week;
        wr.to_day = std::min(o.days, (w + 1) * days_per_week);
        const auto s = summarize_draws(counts[std::size_t(w)]);
        wr.mean = s.mean;
        wr.lo = s.lo;
        wr.hi = s.hi;
        f.weeks.push_back(wr);
    }
    const auto total = summarize_draws(totals);
    f.total_mean = total.mean;
    f.total_lo = total.lo;
    f.total_hi = total.hi;
    return f;
}

const char* to_string(plan_change::kind k) noexcept {
    switch (k) {
        case plan_change::kind::utilisation: return "utilisation";
        case plan_change::kind::defer_visit: return "defer_visit";
        case plan_change::kind::swap: return "swap";
        case plan_change::kind::fleet_plan: return "fleet_plan";
    }
    return "utilisation";
}

std::optional<plan_change::kind> parse_plan_change_kind(std::string_view s) noexcept {
    for (auto k : {plan_change::kind::utilisation, plan_change::kind::defer_visit, plan_change::kind::swap, plan_change::kind::fleet_plan})
        if (s == to_string(k)) return k;
    return std::nullopt;
}

engine_plan fleet_plan::of(std::string_view asset) const {
    const auto it = engines.find(asset);
    if (it != engines.end()) {
        auto p = it->second;
        if (!(p.cycles_per_day > 0)) p.cycles_per_day = cycles_per_day;
        if (!p.visit_in_days) p.visit_in_days = visit_in_days;
        return p;
    }
    return {cycles_per_day, visit_in_days};
}

Result<scenario_result> run_scenario(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                     const scenario& s) {
    if (!positive(s.horizon_days)) return {errc::invalid_argument, "horizon_days must be a positive number"};
    if (!positive(s.baseline.cycles_per_day)) return {errc::invalid_argument, "the baseline's cycles_per_day must be a positive number"};
    std::map<std::string, engine_plan, std::less<>> base, changed;
    for (const auto& e : fleet) {
        auto p = s.baseline.of(e.asset);
        if (!positive(p.cycles_per_day)) return {errc::invalid_argument, "cycles_per_day of " + e.asset + " must be a positive number"};
        if (p.visit_in_days && !(*p.visit_in_days >= 0)) return {errc::invalid_argument, "visit_in_days of " + e.asset + " must be >= 0"};
        base[e.asset] = p;
    }
    for (const auto& [asset, plan] : s.baseline.engines)
        if (!base.count(asset)) return {errc::not_found, "the baseline names " + asset + ", which is not in the fleet"};
    auto plans = base;
    std::map<std::string, bool, std::less<>> touched;
    auto find = [&](const std::string& asset) -> Result<engine_plan*> {
        const auto it = plans.find(asset);
        if (it == plans.end()) return {errc::not_found, "no engine " + asset + " in the fleet"};
        return &it->second;
    };
    for (std::size_t i = 0; i < s.changes.size(); ++i) {
        const auto& ch = s.changes[i];
        const std::string where = "change " + std::to_string(i) + " (" + to_string(ch.type) + "): ";
        switch (ch.type) {
            case plan_change::kind::utilisation: {
                if (ch.assets.size() != 1 || !ch.cycles_per_day || !positive(*ch.cycles_per_day))
                    return {errc::invalid_argument, where + "needs one asset and a positive cycles_per_day"};
                auto p = find(ch.assets[0]);
                if (!p) return {p.error(), where + p.detail()};
                (*p)->cycles_per_day = *ch.cycles_per_day;
                touched[ch.assets[0]] = true;
                break;
            }
            case plan_change::kind::defer_visit: {
                if (ch.assets.size() != 1 || !(ch.defer_cycles >= 0) || !(ch.defer_days >= 0) || ch.defer_cycles + ch.defer_days <= 0)
                    return {errc::invalid_argument, where + "needs one asset and cycles or days (>= 0, not both 0)"};
                auto p = find(ch.assets[0]);
                if (!p) return {p.error(), where + p.detail()};
                if (!(*p)->visit_in_days) return {errc::invalid_argument, where + ch.assets[0] + " has no planned visit to defer"};
                // Cycles are flown at the engine's utilisation as it stands at this change.
                *(*p)->visit_in_days += ch.defer_days + ch.defer_cycles / (*p)->cycles_per_day;
                touched[ch.assets[0]] = true;
                break;
            }
            case plan_change::kind::swap: {
                if (ch.assets.size() != 2 || ch.assets[0] == ch.assets[1]) return {errc::invalid_argument, where + "needs two different assets"};
                auto a = find(ch.assets[0]);
                if (!a) return {a.error(), where + a.detail()};
                auto b = find(ch.assets[1]);
                if (!b) return {b.error(), where + b.detail()};
                // The engines change aircraft: each takes the other's utilisation; visits stay with the engine.
                std::swap((*a)->cycles_per_day, (*b)->cycles_per_day);
                touched[ch.assets[0]] = touched[ch.assets[1]] = true;
                break;
            }
            case plan_change::kind::fleet_plan: {
                if (!ch.cycles_per_day && !ch.visit_in_days) return {errc::invalid_argument, where + "needs cycles_per_day and/or visit_in_days"};
                if (ch.cycles_per_day && !positive(*ch.cycles_per_day)) return {errc::invalid_argument, where + "cycles_per_day must be positive"};
                if (ch.visit_in_days && !(*ch.visit_in_days >= 0)) return {errc::invalid_argument, where + "visit_in_days must be >= 0"};
                for (auto& [asset, p] : plans) {
                    if (ch.cycles_per_day) p.cycles_per_day = *ch.cycles_per_day;
                    if (ch.visit_in_days) p.visit_in_days = ch.visit_in_days;
                    touched[asset] = true;
                }
                break;
            }
        }
    }
    auto judge_risk = [&](const engine_outlook& e, const engine_plan& p) {
        engine_risk r;
        r.cycles_per_day = p.cycles_per_day;
        r.visit_in_days = p.visit_in_days;
        r.cycles_to_visit = (p.visit_in_days ? std::min(*p.visit_in_days, s.horizon_days) : s.horizon_days) * p.cycles_per_day;
        // In service until the visit: a failure in the cycles strictly before it.
        r.risk = failure_within(c, e, r.cycles_to_visit);
        return r;
    };
    scenario_result out;
    for (const auto& e : fleet) {
        engine_outcome o;
        o.asset = e.asset;
        o.rul = e.rul;
        o.baseline = judge_risk(e, base.at(e.asset));
        o.scenario = judge_risk(e, plans.at(e.asset));
        o.changed = touched.count(e.asset) > 0;
        out.expected_failures_baseline += o.baseline.risk;
        out.expected_failures_scenario += o.scenario.risk;
        out.engines.push_back(std::move(o));
    }
    std::stable_sort(out.engines.begin(), out.engines.end(),
                     [](const engine_outcome& a, const engine_outcome& b) { return a.scenario.risk > b.scenario.risk; });
    return out;
}

namespace {
Result<bool> check_schedule_options(const schedule_options& o) {
    if (o.weeks < 1 || o.weeks > 520) return {errc::invalid_argument, "weeks must be in 1..520"};
    if (o.capacity_per_week < 0 || o.capacity_per_week > 10000) return {errc::invalid_argument, "capacity must be in 0..10000 per week"};
    if (!(o.min_risk_reduction >= 0 && o.min_risk_reduction < 1)) return {errc::invalid_argument, "min_risk_reduction must be in [0, 1)"};
    return check_utilisation(o.use);
}
}  // namespace

Result<schedule> optimal_schedule(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                  const schedule_options& o) {
    if (auto ok = check_schedule_options(o); !ok) return {ok.error(), ok.detail()};
    schedule s;
    s.method = "min-cost assignment (exact)";
    const auto weeks = std::size_t(o.weeks);
    const double horizon_days = double(o.weeks) * days_per_week;
    auto risk_at_week = [&](const engine_outlook& e, std::size_t w) {
        return failure_within(c, e, double(w) * days_per_week * o.use.of(e.asset));
    };
    // Engines no removal could help by min_risk_reduction stay out of the flow (and keep it small).
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < fleet.size(); ++i) {
        const double kept = failure_within(c, fleet[i], horizon_days * o.use.of(fleet[i].asset));
        if (o.capacity_per_week > 0 && kept - risk_at_week(fleet[i], 0) > o.min_risk_reduction) candidates.push_back(i);
        else {
            s.kept.push_back(fleet[i].asset);
            s.expected_failures += kept;
        }
    }
    const std::size_t n = candidates.size();
    // Nodes: source, candidates, weeks, "kept", sink.
    const std::size_t source = 0, first_week = 1 + n, kept_node = first_week + weeks, sink = kept_node + 1;
    min_cost_flow flow(sink + 1);
    for (std::size_t k = 0; k < n; ++k) {
        const auto& e = fleet[candidates[k]];
        flow.add(source, 1 + k, 1, 0.0);
        for (std::size_t w = 0; w < weeks; ++w) flow.add(1 + k, first_week + w, 1, risk_at_week(e, w) + o.min_risk_reduction);
        flow.add(1 + k, kept_node, 1, failure_within(c, e, horizon_days * o.use.of(e.asset)));
    }
    for (std::size_t w = 0; w < weeks; ++w) flow.add(first_week + w, sink, o.capacity_per_week, 0.0);
    flow.add(kept_node, sink, int(n), 0.0);
    flow.run(source, sink, int(n));
    for (std::size_t k = 0; k < n; ++k) {
        const auto& e = fleet[candidates[k]];
        const double kept = failure_within(c, e, horizon_days * o.use.of(e.asset));
        const auto week_node = flow.used_arc_to(1 + k, first_week, kept_node);
        if (!week_node) {
            s.kept.push_back(e.asset);
            s.expected_failures += kept;
            continue;
        }
        const auto w = *week_node - first_week;
        planned_removal r{e.asset, int(w), risk_at_week(e, w), kept};
        s.expected_failures += r.risk;
        s.removals.push_back(std::move(r));
    }
    sort_schedule(s);
    return s;
}

Result<schedule> threshold_schedule(const prognostics::interval_calibration& c, std::span<const engine_outlook> fleet,
                                    const schedule_options& o) {
    if (auto ok = check_schedule_options(o); !ok) return {ok.error(), ok.detail()};
    schedule s;
    s.method = "remove when the point RUL reaches " + std::to_string(int(std::lround(o.threshold_rul))) + " cycles";
    const double horizon_days = double(o.weeks) * days_per_week;
    struct due {
        double day;
        std::size_t engine;
    };
    std::vector<due> queue;
    for (std::size_t i = 0; i < fleet.size(); ++i) {
        const double day = std::max(0.0, fleet[i].rul - o.threshold_rul) / o.use.of(fleet[i].asset);
        queue.push_back({day, i});
    }
    std::stable_sort(queue.begin(), queue.end(), [](const due& a, const due& b) { return a.day < b.day; });
    std::vector<int> used(std::size_t(o.weeks), 0);
    for (const auto& d : queue) {
        const auto& e = fleet[d.engine];
        const double kept = failure_within(c, e, horizon_days * o.use.of(e.asset));
        // The first week at or after the due day with a free slot.
        int week = int(std::ceil(d.day / days_per_week - 1e-9));
        while (week < o.weeks && used[std::size_t(week)] >= o.capacity_per_week) ++week;
        if (d.day >= horizon_days || week >= o.weeks) {
            s.kept.push_back(e.asset);
            s.expected_failures += kept;
            continue;
        }
        ++used[std::size_t(week)];
        planned_removal r{e.asset, week, failure_within(c, e, double(week) * days_per_week * o.use.of(e.asset)), kept};
        s.expected_failures += r.risk;
        s.removals.push_back(std::move(r));
    }
    sort_schedule(s);
    return s;
}

schedule_outcome judge(const schedule& s, std::span<const engine_outlook> fleet, const std::map<std::string, double, std::less<>>& true_rul,
                       const schedule_options& o) {
    schedule_outcome out;
    std::map<std::string, int, std::less<>> removal_week;
    for (const auto& r : s.removals) removal_week[r.asset] = r.week;
    double life_left = 0;
    for (const auto& e : fleet) {
        const auto truth = true_rul.find(e.asset);
        if (truth == true_rul.end()) continue;
        const double rate = o.use.of(e.asset);
        const auto w = removal_week.find(e.asset);
        const double until = (w == removal_week.end() ? double(o.weeks) : double(w->second)) * days_per_week * rate;
        if (truth->second < until) {
            ++out.failures;  // failed in service before it was taken off (or within the horizon)
        } else if (w != removal_week.end()) {
            ++out.removals;
            life_left += truth->second - until;
        }
    }
    out.mean_life_left = out.removals ? life_left / out.removals : 0.0;
    return out;
}

}  // namespace turbotwin::planning
