#include "turbotwin/training/evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::training {

double phm08(double d) { return d < 0 ? std::exp(-d / 13.0) - 1.0 : std::exp(d / 10.0) - 1.0; }

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const double pos = p / 100.0 * double(v.size() - 1);
    const auto i = std::size_t(std::floor(pos));
    const double frac = pos - double(i);
    return i + 1 < v.size() ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
}

accuracy score_points(const std::vector<scored_point>& pts) {
    accuracy a;
    a.n = pts.size();
    if (pts.empty()) return a;
    double sq = 0;
    for (const auto& p : pts) {
        const double d = p.rul - p.truth;
        sq += d * d;
        a.bias += d;
        a.score += phm08(d);
        a.coverage += (p.lo <= p.truth && p.truth <= p.hi) ? 1.0 : 0.0;
        a.mean_width += p.hi - p.lo;
    }
    const double n = double(pts.size());
    a.rmse = std::sqrt(sq / n);
    a.bias /= n;
    a.score_per_100 = a.score / n * 100.0;
    a.coverage /= n;
    a.mean_width /= n;
    return a;
}

namespace {

alert_quality summarise_alerts(const std::vector<double>& leads, std::size_t engines, std::size_t unwarned,
                               std::size_t early_false) {
    alert_quality q;
    q.engines = engines;
    q.unwarned = unwarned;
    q.early_false = early_false;
    q.lead_median = percentile(leads, 50);
    q.lead_p05 = percentile(leads, 5);
    return q;
}

}  // namespace

Result<evaluation> evaluate(const std::vector<dataset::engine_trajectory>& engines, const sensor_catalogue& catalogue,
                            const evaluate_options& o, const log_fn& log) {
    if (o.folds < 2 || std::size_t(o.folds) > engines.size()) return {errc::invalid_argument, "folds must be in 2..engines"};
    auto say = [&](const std::string& s) { if (log) log(s); };
    // Engines to folds by a seeded shuffle: an engine's cycles never straddle folds.
    std::vector<std::size_t> order(engines.size());
    std::iota(order.begin(), order.end(), 0);
    std::mt19937_64 rng(o.seed);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<int> fold_of(engines.size());
    for (std::size_t i = 0; i < order.size(); ++i) fold_of[order[i]] = int(i % std::size_t(o.folds));

    evaluation ev;
    std::vector<double> all_leads;
    std::size_t all_unwarned = 0, all_false = 0, all_engines = 0;
    for (int fold = 0; fold < o.folds; ++fold) {
        std::vector<dataset::engine_trajectory> train_set, test_set;
        std::vector<std::size_t> test_index;
        for (std::size_t e = 0; e < engines.size(); ++e) {
            if (fold_of[e] == fold) {
                test_set.push_back(engines[e]);
                test_index.push_back(e);
            } else {
                train_set.push_back(engines[e]);
            }
        }
        auto model = train_model(train_set, o.train);
        if (!model) return {model.error(), "fold " + std::to_string(fold + 1) + ": " + model.detail()};
        twin::twin_config config;
        config.model = std::make_shared<prognostics::rul_model>(std::move(*model));
        config.catalogue = std::make_shared<sensor_catalogue>(catalogue);
        config.alert_thresholds = o.alerts;
        std::vector<scored_point> fold_points;
        std::vector<double> leads;
        std::size_t unwarned = 0, early_false = 0;
        for (std::size_t k = 0; k < test_set.size(); ++k) {
            const auto& eng = test_set[k];
            twin::asset_twin tw("eval", config);
            std::vector<twin::twin_update> trace(eng.cycles.size());
            std::vector<bool> ok(eng.cycles.size(), false);
            std::optional<std::int64_t> first_critical;
            engine_trace et;
            et.engine = test_index[k];
            et.fold = fold + 1;
            const std::int64_t end_cycle = eng.cycles.back().cycle;
            for (std::size_t i = 0; i < eng.cycles.size(); ++i) {
                auto u = tw.process(eng.cycles[i]);
                if (!u) continue;
                trace[i] = *u;
                ok[i] = true;
                et.cycle.push_back(u->cycle);
                et.truth.push_back(double(end_cycle - u->cycle));
                et.rul.push_back(u->estimate.rul);
                et.lo.push_back(u->estimate.rul_lo);
                et.hi.push_back(u->estimate.rul_hi);
                if (!first_critical && u->level == alerting::severity::critical) first_critical = u->cycle;
            }
            const std::int64_t end = eng.cycles.back().cycle;
            const auto life = std::int64_t(eng.cycles.size());
            // The twin is causal, so its estimate at a cycle equals that of the trajectory cut there.
            const std::int64_t max_rul = std::max<std::int64_t>(1, std::min<std::int64_t>(150, life - 31));
            std::uniform_int_distribution<std::int64_t> pick(1, max_rul);
            std::vector<std::int64_t> cuts;
            for (int c = 0; c < o.cuts_per_engine && std::int64_t(cuts.size()) < max_rul; ++c) {
                std::int64_t r;
                do r = pick(rng); while (std::find(cuts.begin(), cuts.end(), r) != cuts.end());
                cuts.push_back(r);
            }
            for (std::int64_t rul_true : cuts) {
                const auto row = std::size_t(life - 1 - rul_true);
                if (!ok[row]) continue;
                const auto& u = trace[row];
                fold_points.push_back({test_index[k], u.cycle, double(end - u.cycle), u.estimate.rul, u.estimate.rul_lo, u.estimate.rul_hi});
            }
            ev.traces.push_back(std::move(et));
            if (!first_critical) ++unwarned;
            else {
                const double lead = double(end - *first_critical);
                leads.push_back(lead);
                if (lead > 2.0 * o.alerts.critical_rul) ++early_false;
            }
        }
        fold_report fr;
        fr.fold = fold + 1;
        fr.engines = test_set.size();
        fr.acc = score_points(fold_points);
        fr.alerts = summarise_alerts(leads, test_set.size(), unwarned, early_false);
        ev.folds.push_back(fr);
        ev.points.insert(ev.points.end(), fold_points.begin(), fold_points.end());
        all_leads.insert(all_leads.end(), leads.begin(), leads.end());
        all_unwarned += unwarned;
        all_false += early_false;
        all_engines += test_set.size();
        say("fold " + std::to_string(fold + 1) + "/" + std::to_string(o.folds) + ": rmse " + std::to_string(fr.acc.rmse));
    }
    ev.overall = score_points(ev.points);
    ev.overall_alerts = summarise_alerts(all_leads, all_engines, all_unwarned, all_false);
    return ev;
}

}  // namespace turbotwin::training
