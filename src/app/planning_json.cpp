#include "turbotwin/app/planning_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <span>

namespace turbotwin::app {

using nlohmann::json;

namespace {

Result<double> number_at(const json& o, const char* key, const std::string& where) {
    const auto& v = o.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) return {errc::invalid_argument, where + key + " must be a number"};
    return v.get<double>();
}

/// Refuses keys outside `allowed`, naming the first.
Result<bool> only_keys(const json& o, std::initializer_list<std::string_view> allowed, const std::string& where) {
    if (!o.is_object()) return {errc::invalid_argument, where + "must be an object"};
    for (auto it = o.begin(); it != o.end(); ++it) {
        bool known = false;
        for (auto a : allowed) known = known || it.key() == a;
        if (!known) return {errc::invalid_argument, where + "unknown key \"" + it.key() + "\""};
    }
    return true;
}

Result<planning::engine_plan> engine_plan_from(const json& o, const std::string& where) {
    if (auto ok = only_keys(o, {"cycles_per_day", "visit_in_days"}, where); !ok) return {ok.error(), ok.detail()};
    planning::engine_plan p;
    if (o.contains("cycles_per_day")) {
        auto v = number_at(o, "cycles_per_day", where);
        if (!v) return {v.error(), v.detail()};
        if (!(*v > 0)) return {errc::invalid_argument, where + "cycles_per_day must be positive"};
        p.cycles_per_day = *v;
    }
    if (o.contains("visit_in_days") && !o.at("visit_in_days").is_null()) {
        auto v = number_at(o, "visit_in_days", where);
        if (!v) return {v.error(), v.detail()};
        if (!(*v >= 0)) return {errc::invalid_argument, where + "visit_in_days must be >= 0"};
        p.visit_in_days = *v;
    }
    return p;
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json risk_json(const planning::engine_risk& r) {
    return {{"cycles_per_day", r.cycles_per_day}, {"visit_in_days", optional_number(r.visit_in_days)},
            {"cycles_to_visit", r.cycles_to_visit}, {"risk", r.risk}};
}

json schedule_json(const planning::schedule& s) {
    json removals = json::array();
    for (const auto& r : s.removals)
        removals.push_back({{"asset", r.asset}, {"week", r.week}, {"risk", r.risk}, {"risk_if_kept", r.risk_if_kept}});
    return {{"method", s.method}, {"expected_failures", s.expected_failures}, {"removal_count", s.removals.size()},
            {"removals", std::move(removals)}, {"kept", s.kept}};
}

}  // namespace

Result<bool> parse_overrides(std::string_view text, planning::utilisation& use) {
    while (!text.empty()) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        const auto colon = item.rfind(':');
        double rate = 0;
        const auto* end = item.data() + item.size();
        if (colon == std::string_view::npos || colon == 0 ||
            std::from_chars(item.data() + colon + 1, end, rate).ptr != end || !(rate > 0) || !std::isfinite(rate))
            return {errc::invalid_argument, "override \"" + std::string(item) + "\" must be ASSET:CYCLES_PER_DAY with a positive number"};
        use.per_engine[std::string(item.substr(0, colon))] = rate;
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return true;
}

json forecast_json(const planning::fleet_forecast& f) {
    json engines = json::array();
    for (const auto& e : f.engines)
        engines.push_back({{"asset", e.asset}, {"cycles_per_day", e.cycles_per_day}, {"rul", e.rul}, {"p_critical", e.p_critical},
                           {"median_days_to_critical", e.median_days_to_critical}});
    json weeks = json::array();
    for (const auto& w : f.weeks)
        weeks.push_back({{"week", w.week}, {"from_day", w.from_day}, {"to_day", w.to_day}, {"removals_mean", w.mean},
                         {"removals_lo", w.lo}, {"removals_hi", w.hi}});
    json overrides = json::object();
    for (const auto& [asset, rate] : f.options.use.per_engine) overrides[asset] = rate;
    return {{"horizon_days", f.options.days},
            {"cycles_per_day", f.options.use.default_cycles_per_day},
            {"overrides", std::move(overrides)},
            {"critical_rul", f.options.critical_rul},
            {"samples", f.options.samples},
            {"seed", f.options.seed},
            {"method", "p_critical exact from each twin's predictive RUL distribution; weekly removals by Monte Carlo over the "
                       "fleet (an engine is removed the week its RUL reaches critical_rul); intervals are the draws' 5% and 95%"},
            {"removals", {{"mean", f.total_mean}, {"lo", f.total_lo}, {"hi", f.total_hi}}},
            {"weeks", std::move(weeks)},
            {"engines", std::move(engines)}};
}

std::string forecast_csv(const json& forecast, bool weeks) {
    static constexpr const char* engine_columns[] = {"asset", "cycles_per_day", "rul", "p_critical", "median_days_to_critical"};
    static constexpr const char* week_columns[] = {"week", "from_day", "to_day", "removals_mean", "removals_lo", "removals_hi"};
    const std::span<const char* const> columns = weeks ? std::span<const char* const>(week_columns) : std::span<const char* const>(engine_columns);
    std::string out;
    for (std::size_t k = 0; k < columns.size(); ++k) {
        if (k) out += ',';
        out += columns[k];
    }
    out += '\n';
    for (const auto& row : forecast.at(weeks ? "weeks" : "engines")) {
        for (std::size_t k = 0; k < columns.size(); ++k) {
            const auto& v = row.at(columns[k]);
            if (k) out += ',';
            out += v.is_string() ? v.get<std::string>() : v.dump();
        }
        out += '\n';
    }
    return out;
}

Result<planning::scenario> scenario_from_json(const json& j) {
    if (auto ok = only_keys(j, {"baseline", "changes", "horizon_days"}, "scenario: "); !ok) return {ok.error(), ok.detail()};
    planning::scenario s;
    if (j.contains("horizon_days")) {
        auto v = number_at(j, "horizon_days", "scenario: ");
        if (!v) return {v.error(), v.detail()};
        if (!(*v > 0) || *v > 3650) return {errc::invalid_argument, "scenario: horizon_days must be in (0, 3650]"};
        s.horizon_days = *v;
    }
    if (j.contains("baseline")) {
        const auto& b = j.at("baseline");
        if (auto ok = only_keys(b, {"cycles_per_day", "visit_in_days", "engines"}, "baseline: "); !ok) return {ok.error(), ok.detail()};
        auto defaults = engine_plan_from(json{{"cycles_per_day", b.value("cycles_per_day", json(4.0))},
                                              {"visit_in_days", b.value("visit_in_days", json(nullptr))}},
                                         "baseline: ");
        if (!defaults) return {defaults.error(), defaults.detail()};
        s.baseline.cycles_per_day = defaults->cycles_per_day;
        s.baseline.visit_in_days = defaults->visit_in_days;
        if (b.contains("engines")) {
            if (!b.at("engines").is_object()) return {errc::invalid_argument, "baseline: engines must be an object of asset -> plan"};
            for (auto it = b.at("engines").begin(); it != b.at("engines").end(); ++it) {
                auto p = engine_plan_from(it.value(), "baseline engine " + it.key() + ": ");
                if (!p) return {p.error(), p.detail()};
                s.baseline.engines[it.key()] = *p;
            }
        }
    }
    if (j.contains("changes")) {
        const auto& changes = j.at("changes");
        if (!changes.is_array()) return {errc::invalid_argument, "scenario: changes must be an array"};
        if (changes.size() > 10000) return {errc::invalid_argument, "scenario: at most 10000 changes"};
        for (std::size_t i = 0; i < changes.size(); ++i) {
            const auto& c = changes[i];
            const std::string where = "change " + std::to_string(i) + ": ";
            if (!c.is_object() || !c.contains("type") || !c.at("type").is_string())
                return {errc::invalid_argument, where + "needs a \"type\": utilisation, defer_visit, swap or fleet_plan"};
            const auto kind = planning::parse_plan_change_kind(c.at("type").get<std::string>());
            if (!kind) return {errc::invalid_argument, where + "unknown type \"" + c.at("type").get<std::string>() + "\""};
            planning::plan_change ch;
            ch.type = *kind;
            auto asset = [&]() -> Result<bool> {
                if (!c.contains("asset") || !c.at("asset").is_string()) return {errc::invalid_argument, where + "needs \"asset\""};
                ch.assets = {c.at("asset").get<std::string>()};
                return true;
            };
            auto number = [&](const char* key, bool required) -> Result<std::optional<double>> {
                if (!c.contains(key)) {
                    if (required) return {errc::invalid_argument, where + "needs \"" + key + "\""};
                    return std::optional<double>{};
                }
                auto v = number_at(c, key, where);
                if (!v) return {v.error(), v.detail()};
                return std::optional<double>{*v};
            };
            Result<bool> ok = true;
            switch (*kind) {
                case planning::plan_change::kind::utilisation: {
                    ok = only_keys(c, {"type", "asset", "cycles_per_day"}, where);
                    if (ok) ok = asset();
                    if (!ok) break;  // an unknown key is named before the key it may have misspelt
                    auto v = number("cycles_per_day", true);
                    if (!v) return {v.error(), v.detail()};
                    ch.cycles_per_day = *v;
                    break;
                }
                case planning::plan_change::kind::defer_visit: {
                    ok = only_keys(c, {"type", "asset", "cycles", "days"}, where);
                    if (ok) ok = asset();
                    if (!ok) break;
                    auto cycles = number("cycles", false);
                    auto days = number("days", false);
                    if (!cycles) return {cycles.error(), cycles.detail()};
                    if (!days) return {days.error(), days.detail()};
                    ch.defer_cycles = cycles->value_or(0);
                    ch.defer_days = days->value_or(0);
                    break;
                }
                case planning::plan_change::kind::swap: {
                    ok = only_keys(c, {"type", "assets"}, where);
                    if (!ok) break;
                    const auto& a = c.value("assets", json());
                    if (!a.is_array() || a.size() != 2 || !a[0].is_string() || !a[1].is_string())
                        return {errc::invalid_argument, where + "needs \"assets\": [A, B]"};
                    ch.assets = {a[0].get<std::string>(), a[1].get<std::string>()};
                    break;
                }
                case planning::plan_change::kind::fleet_plan: {
                    ok = only_keys(c, {"type", "cycles_per_day", "visit_in_days"}, where);
                    if (!ok) break;
                    auto rate = number("cycles_per_day", false);
                    auto visit = number("visit_in_days", false);
                    if (!rate) return {rate.error(), rate.detail()};
                    if (!visit) return {visit.error(), visit.detail()};
                    ch.cycles_per_day = *rate;
                    ch.visit_in_days = *visit;
                    break;
                }
            }
            if (!ok) return {ok.error(), ok.detail()};
            s.changes.push_back(std::move(ch));
        }
    }
    return s;
}

json scenario_result_json(const planning::scenario_result& r) {
    json engines = json::array();
    std::size_t changed = 0;
    for (const auto& e : r.engines) {
        changed += e.changed ? 1 : 0;
        engines.push_back({{"asset", e.asset},
                           {"rul", e.rul},
                           {"changed", e.changed},
                           {"baseline", risk_json(e.baseline)},
                           {"scenario", risk_json(e.scenario)},
                           {"risk_change", e.scenario.risk - e.baseline.risk}});
    }
    return {{"method", "risk = P(RUL < cycles to the planned visit, or to the horizon without one) from each twin's predictive "
                       "distribution, on copies of the twins' state"},
            {"expected_failures", {{"baseline", r.expected_failures_baseline}, {"scenario", r.expected_failures_scenario},
                                   {"change", r.expected_failures_scenario - r.expected_failures_baseline}}},
            {"engines_changed", changed},
            {"engines", std::move(engines)}};
}

json schedules_json(const planning::schedule_options& o, const planning::schedule& optimal, const planning::schedule& threshold) {
    json overrides = json::object();
    for (const auto& [asset, rate] : o.use.per_engine) overrides[asset] = rate;
    return {{"weeks", o.weeks},
            {"capacity_per_week", o.capacity_per_week},
            {"cycles_per_day", o.use.default_cycles_per_day},
            {"overrides", std::move(overrides)},
            {"min_risk_reduction", o.min_risk_reduction},
            {"threshold_rul", o.threshold_rul},
            {"optimal", schedule_json(optimal)},
            {"threshold", schedule_json(threshold)}};
}

Result<bool> overrides_in_fleet(const planning_input& in, const planning::utilisation& use) {
    for (const auto& entry : use.per_engine) {
        // Not a structured binding: the lambda captures the name (clang 14 refuses that).
        const std::string& asset = entry.first;
        const bool known = std::any_of(in.fleet.begin(), in.fleet.end(), [&](const planning::engine_outlook& e) { return e.asset == asset; });
        if (!known) return {errc::not_found, "overrides name " + asset + ", which is not in the fleet"};
    }
    return true;
}

Result<json> run_forecast(const planning_input& in, planning::forecast_options o) {
    if (auto ok = overrides_in_fleet(in, o.use); !ok) return {ok.error(), ok.detail()};
    o.critical_rul = in.critical_rul;
    auto f = planning::forecast(in.calibration, in.fleet, o);
    if (!f) return {f.error(), f.detail()};
    return forecast_json(*f);
}

Result<json> run_scenario_request(const planning_input& in, const json& request) {
    auto s = scenario_from_json(request);
    if (!s) return {s.error(), s.detail()};
    auto r = planning::run_scenario(in.calibration, in.fleet, *s);
    if (!r) return {r.error(), r.detail()};
    return scenario_result_json(*r);
}

Result<json> run_plan(const planning_input& in, const planning::schedule_options& o) {
    if (auto ok = overrides_in_fleet(in, o.use); !ok) return {ok.error(), ok.detail()};
    auto optimal = planning::optimal_schedule(in.calibration, in.fleet, o);
    if (!optimal) return {optimal.error(), optimal.detail()};
    auto threshold = planning::threshold_schedule(in.calibration, in.fleet, o);
    if (!threshold) return {threshold.error(), threshold.detail()};
    return schedules_json(o, *optimal, *threshold);
}

}  // namespace turbotwin::app
