#include "turbotwin/app/shadow_report.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

namespace turbotwin::app {

using nlohmann::json;

namespace {

struct engine_tally {
    std::size_t readings = 0;
    double sum_abs = 0, max_abs = 0, sum_diff = 0;
    // First cycle at or above warning (index 0) and critical (1), per model.
    std::optional<std::int64_t> active_first[2], shadow_first[2];
};

json first_or_null(const std::optional<std::int64_t>& c) { return c ? json(*c) : json(nullptr); }

// Where the candidate's first alert of a severity lands against the active model's.
const char* verdict(const std::optional<std::int64_t>& active, const std::optional<std::int64_t>& shadow) {
    if (active && shadow) return *shadow < *active ? "earlier" : *shadow > *active ? "later" : "same";
    if (active) return "only_active";
    if (shadow) return "only_shadow";
    return "neither";
}

}  // namespace

Result<json> shadow_report(store::database& db, const std::string& active_hash, const std::string& shadow_hash, double rul_cap) {
    auto pairs = db.model_pairs(shadow_hash, active_hash);
    if (!pairs) return {pairs.error(), pairs.detail()};
    auto events = db.events();
    if (!events) return {events.error(), events.detail()};

    std::map<std::string, engine_tally> engines;
    std::vector<double> all_abs;
    all_abs.reserve(pairs->size());
    double sum_diff = 0;
    for (const auto& p : *pairs) {
        auto& e = engines[p.asset];
        const double diff = p.shadow_rul - p.active_rul;
        ++e.readings;
        e.sum_abs += std::abs(diff);
        e.max_abs = std::max(e.max_abs, std::abs(diff));
        e.sum_diff += diff;
        sum_diff += diff;
        all_abs.push_back(std::abs(diff));
        for (int level = 0; level < 2; ++level) {
            const auto at_least = level == 0 ? alerting::severity::warning : alerting::severity::critical;
            if (!e.active_first[level] && p.active_level >= at_least) e.active_first[level] = p.cycle;
            if (!e.shadow_first[level] && p.shadow_level >= at_least) e.shadow_first[level] = p.cycle;
        }
    }

    json per_engine = json::array();
    std::map<std::string, std::size_t> counts[2];
    double lead_sum[2] = {0, 0};
    std::size_t lead_n[2] = {0, 0};
    for (const auto& [asset, e] : engines) {
        json alerts = json::object();
        for (int level = 0; level < 2; ++level) {
            const char* v = verdict(e.active_first[level], e.shadow_first[level]);
            ++counts[level][v];
            if (e.active_first[level] && e.shadow_first[level]) {
                lead_sum[level] += double(*e.active_first[level] - *e.shadow_first[level]);
                ++lead_n[level];
            }
            alerts[level == 0 ? "warning" : "critical"] = {{"active_first", first_or_null(e.active_first[level])},
                                                           {"shadow_first", first_or_null(e.shadow_first[level])},
                                                           {"verdict", v}};
        }
        per_engine.push_back({{"asset", asset},
                              {"readings", e.readings},
                              {"mean_abs_difference", e.sum_abs / double(e.readings)},
                              {"max_abs_difference", e.max_abs},
                              {"mean_shadow_minus_active", e.sum_diff / double(e.readings)},
                              {"alerts", std::move(alerts)}});
    }
    // Engines where the two disagree most come first: what a reviewer looks at.
    std::stable_sort(per_engine.begin(), per_engine.end(),
                     [](const json& a, const json& b) { return a["mean_abs_difference"].get<double>() > b["mean_abs_difference"].get<double>(); });

    json alert_summary = json::object();
    for (int level = 0; level < 2; ++level) {
        json c = json::object();
        for (const char* k : {"earlier", "later", "same", "only_active", "only_shadow", "neither"}) c[k] = counts[level][k];
        c["mean_lead_cycles"] = lead_n[level] ? json(lead_sum[level] / double(lead_n[level])) : json(nullptr);
        alert_summary[level == 0 ? "warning" : "critical"] = std::move(c);
    }

    // Ground truth: a failure or removal ends a life; every reading of that life since the last
    // maintenance before it has a true RUL. "Before" in the order recorded (the order the twin
    // applied them; events() is oldest first): at one cycle, a failure then a maintenance ends
    // the old life, a maintenance then a failure ends a new life that read nothing.
    json truth_engines = json::array();
    double sq_active = 0, sq_shadow = 0;
    std::size_t truth_n = 0;
    for (auto end_it = events->begin(); end_it != events->end(); ++end_it) {
        const auto& end = *end_it;
        if (end.type != "failure" && end.type != "removal") continue;
        std::int64_t life_start = 0;
        for (auto m = events->begin(); m != end_it; ++m)
            if (m->asset == end.asset && m->type == "maintenance") life_start = std::max(life_start, m->cycle);
        double sa = 0, ss = 0;
        std::size_t n = 0;
        for (const auto& p : *pairs) {
            if (p.asset != end.asset || p.cycle <= life_start || p.cycle > end.cycle) continue;
            const double truth = std::min(double(end.cycle - p.cycle), rul_cap);
            sa += (p.active_rul - truth) * (p.active_rul - truth);
            ss += (p.shadow_rul - truth) * (p.shadow_rul - truth);
            ++n;
        }
        if (n == 0) continue;
        sq_active += sa;
        sq_shadow += ss;
        truth_n += n;
        truth_engines.push_back({{"asset", end.asset}, {"event", end.type}, {"cycle", end.cycle}, {"readings", n},
                                 {"active_rmse", std::sqrt(sa / double(n))}, {"shadow_rmse", std::sqrt(ss / double(n))}});
    }

    std::sort(all_abs.begin(), all_abs.end());
    const auto quantile = [&](double q) { return all_abs.empty() ? json(nullptr) : json(all_abs[std::size_t(q * double(all_abs.size() - 1))]); };
    return json{{"active", {{"model_hash", active_hash}}},
                {"shadow", {{"model_hash", shadow_hash}}},
                {"engines", engines.size()},
                {"readings", pairs->size()},
                {"disagreement",
                 {{"mean_abs", all_abs.empty() ? json(nullptr) : json([&] { double s = 0; for (double v : all_abs) s += v; return s / double(all_abs.size()); }())},
                  {"p90_abs", quantile(0.9)},
                  {"max_abs", all_abs.empty() ? json(nullptr) : json(all_abs.back())},
                  {"mean_shadow_minus_active", pairs->empty() ? json(nullptr) : json(sum_diff / double(pairs->size()))}}},
                {"alerts", std::move(alert_summary)},
                {"ground_truth",
                 {{"engines", truth_engines.size()},
                  {"readings", truth_n},
                  {"rul_cap", rul_cap},
                  {"active_rmse", truth_n ? json(std::sqrt(sq_active / double(truth_n))) : json(nullptr)},
                  {"shadow_rmse", truth_n ? json(std::sqrt(sq_shadow / double(truth_n))) : json(nullptr)},
                  {"per_engine", std::move(truth_engines)}}},
                {"per_engine", std::move(per_engine)}};
}

}  // namespace turbotwin::app
