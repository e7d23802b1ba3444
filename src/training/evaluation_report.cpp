#include "turbotwin/training/evaluation_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "turbotwin/training/svg_plot.hpp"

namespace turbotwin::training {

namespace {

// Colours from the Tableau 10 palette: distinguishable, also in greyscale print.
constexpr const char* blue = "#1f77b4";
constexpr const char* orange = "#ff7f0e";
constexpr const char* grey = "#555555";
constexpr const char* black = "#222222";

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

long unit_of(const engine_trace& t, const std::vector<dataset::engine_trajectory>& engines) {
    return t.engine < engines.size() ? engines[t.engine].unit : long(t.engine) + 1;
}

double final_abs_error(const engine_trace& t) { return std::abs(t.rul.back() - t.truth.back()); }

// Both axes of predicted vs true share one range, so y = x is the diagonal.
axis_range common_rul_range(const std::vector<scored_point>& pts) {
    double lo = 0, hi = 1;
    for (const auto& p : pts) {
        if (std::isfinite(p.truth)) lo = std::min(lo, p.truth), hi = std::max(hi, p.truth);
        if (std::isfinite(p.rul)) lo = std::min(lo, p.rul), hi = std::max(hi, p.rul);
    }
    constexpr double step = 25;  // cycles: round numbers on an RUL axis
    return {std::floor(lo / step) * step, std::ceil(hi / step) * step};
}

svg_chart predicted_vs_true_chart(const evaluation& ev) {
    svg_chart c;
    c.title = "Predicted vs true RUL (" + std::to_string(ev.points.size()) + " held-out truncated trajectories)";
    c.x_label = "true RUL (cycles)";
    c.y_label = "predicted RUL (cycles)";
    const auto range = common_rul_range(ev.points);
    c.x_range = range;
    c.y_range = range;
    c.legend = legend_corner::top_left;  // late predictions of young engines are rare: that corner is empty
    svg_series whiskers{"90% interval", series_style::whiskers, grey, {}, {}, {}, {}};
    svg_series dots{"predicted RUL", series_style::points, blue, {}, {}, {}, {}};
    for (const auto& p : ev.points) {
        whiskers.x.push_back(p.truth);
        whiskers.lo.push_back(p.lo);
        whiskers.hi.push_back(p.hi);
        dots.x.push_back(p.truth);
        dots.y.push_back(p.rul);
    }
    svg_series diagonal{"perfect (y = x)", series_style::dashed_line, black, {range.lo, range.hi}, {range.lo, range.hi}, {}, {}};
    c.layers = {whiskers, diagonal, dots};
    return c;
}

svg_chart error_by_true_rul_chart(const evaluation& ev) {
    svg_chart c;
    c.title = "Error (predicted - true) by true RUL";
    c.x_label = "true RUL (cycles)";
    c.y_label = "error (cycles, > 0 is late)";
    svg_series whiskers{"90% interval, minus true RUL", series_style::whiskers, grey, {}, {}, {}, {}};
    svg_series dots{"error", series_style::points, blue, {}, {}, {}, {}};
    // Mean error in 10-cycle bins of true RUL shows where the bias lives.
    constexpr double bin_cycles = 10;
    std::map<long, std::pair<double, std::size_t>> bins;
    double max_truth = 1;
    for (const auto& p : ev.points) {
        const double error = p.rul - p.truth;
        whiskers.x.push_back(p.truth);
        whiskers.lo.push_back(p.lo - p.truth);
        whiskers.hi.push_back(p.hi - p.truth);
        dots.x.push_back(p.truth);
        dots.y.push_back(error);
        if (std::isfinite(p.truth) && std::isfinite(error)) {
            auto& b = bins[long(std::floor(p.truth / bin_cycles))];
            b.first += error;
            ++b.second;
            max_truth = std::max(max_truth, p.truth);
        }
    }
    svg_series bias{"mean error per 10 cycles", series_style::line, orange, {}, {}, {}, {}};
    for (const auto& [bin, sum] : bins) {
        bias.x.push_back((double(bin) + 0.5) * bin_cycles);
        bias.y.push_back(sum.first / double(sum.second));
    }
    svg_series zero{"", series_style::dashed_line, black, {0, std::ceil(max_truth / 25) * 25}, {0, 0}, {}, {}};
    c.x_range = axis_range{0, std::ceil(max_truth / 25) * 25};
    c.legend = legend_corner::top_left;  // errors are smallest near failure
    c.layers = {whiskers, zero, dots, bias};
    return c;
}

svg_chart rul_over_life_chart(const engine_trace& t, long unit, const std::string& why) {
    svg_chart c;
    c.title = "Engine " + std::to_string(unit) + " (fold " + std::to_string(t.fold) + ", " + why + "): RUL over life";
    c.x_label = "cycle";
    c.y_label = "RUL (cycles)";
    std::vector<double> cycles(t.cycle.begin(), t.cycle.end());
    c.layers = {
        svg_series{"90% interval", series_style::band, blue, cycles, {}, t.lo, t.hi},
        svg_series{"true RUL", series_style::line, black, cycles, t.truth, {}, {}},
        svg_series{"predicted RUL", series_style::line, blue, cycles, t.rul, {}, {}},
    };
    return c;
}

}  // namespace

std::vector<life_plot_pick> pick_life_plot_traces(const std::vector<engine_trace>& traces, std::uint64_t seed) {
    std::vector<std::size_t> usable;
    for (std::size_t i = 0; i < traces.size(); ++i)
        if (!traces[i].cycle.empty() && traces[i].rul.size() == traces[i].cycle.size() &&
            traces[i].truth.size() == traces[i].cycle.size() && std::isfinite(final_abs_error(traces[i])))
            usable.push_back(i);
    if (usable.empty()) return {};
    std::stable_sort(usable.begin(), usable.end(),
                     [&](std::size_t a, std::size_t b) { return final_abs_error(traces[a]) < final_abs_error(traces[b]); });
    std::vector<life_plot_pick> picked;
    auto taken = [&](std::size_t i) {
        return std::any_of(picked.begin(), picked.end(), [&](const life_plot_pick& p) { return p.trace == i; });
    };
    auto add = [&](std::size_t i, const char* reason) {
        if (!taken(i)) picked.push_back({i, reason});
    };
    add(usable.front(), "best final error");
    add(usable[(usable.size() - 1) / 2], "median final error");
    add(usable.back(), "worst final error");
    std::vector<std::size_t> rest;
    for (std::size_t i : usable)
        if (!taken(i)) rest.push_back(i);
    if (!rest.empty()) {
        // Raw engine output, not a std distribution: the standard fixes mt19937_64's sequence
        // but not the distributions', and the pick should not change with the compiler.
        std::mt19937_64 rng(seed);
        add(rest[std::size_t(rng() % rest.size())], "random pick");
    }
    return picked;
}

Result<std::vector<std::string>> write_evaluation_plots(const evaluation& ev,
                                                        const std::vector<dataset::engine_trajectory>& engines,
                                                        const std::string& dir, std::uint64_t seed) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return {errc::io_error, "cannot create " + dir + ": " + ec.message()};
    std::vector<std::string> written;
    auto write = [&](const svg_chart& chart, const std::string& name) -> Result<bool> {
        const std::string path = (std::filesystem::path(dir) / name).string();
        auto ok = write_svg(chart, path);
        if (ok) written.push_back(path);
        return ok;
    };
    if (auto ok = write(predicted_vs_true_chart(ev), "predicted_vs_true.svg"); !ok) return {ok.error(), ok.detail()};
    if (auto ok = write(error_by_true_rul_chart(ev), "error_by_true_rul.svg"); !ok) return {ok.error(), ok.detail()};
    for (const auto& pick : pick_life_plot_traces(ev.traces, seed)) {
        const auto& t = ev.traces[pick.trace];
        const long unit = unit_of(t, engines);
        if (auto ok = write(rul_over_life_chart(t, unit, pick.reason), "rul_over_life_" + std::to_string(unit) + ".svg"); !ok)
            return {ok.error(), ok.detail()};
    }
    return written;
}

std::string evaluation_markdown(const evaluation& ev, const report_context& ctx, const horizon_settings& hs) {
    std::ostringstream md;
    md << "| fold | engines | cuts | RMSE | score/100 | bias | coverage | width | lead p05 | lead median | unwarned | early false"
       << " | α-λ " << fixed(hs.lambdas[0], 2) << " | α-λ " << fixed(hs.lambdas[1], 2) << " | α-λ " << fixed(hs.lambdas[2], 2)
       << " | PH median | PH p05 |\n"
       << "|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n";
    auto row = [&](const std::string& name, std::size_t engines, const accuracy& a, const alert_quality& q,
                   const horizon_summary& h) {
        md << "| " << name << " | " << engines << " | " << a.n << " | " << fixed(a.rmse, 2) << " | " << fixed(a.score_per_100, 1)
           << " | " << fixed(a.bias, 2) << " | " << fixed(a.coverage, 3) << " | " << fixed(a.mean_width, 1) << " | "
           << fixed(q.lead_p05, 1) << " | " << fixed(q.lead_median, 1) << " | " << q.unwarned << " | " << q.early_false;
        for (double share : h.alpha_lambda) md << " | " << fixed(share, 2);
        md << " | " << fixed(h.ph_median, 1) << " | " << fixed(h.ph_p05, 1) << " |\n";
    };
    for (const auto& f : ev.folds) row(std::to_string(f.fold), f.engines, f.acc, f.alerts, summarise_horizon(ev.traces, hs, f.fold));
    row("**overall**", ev.overall_alerts.engines, ev.overall, ev.overall_alerts, summarise_horizon(ev.traces, hs));

    std::ostringstream out;
    out << "Cross-validation of `turbotwin evaluate` on " << (ctx.data_file.empty() ? "the data" : "`" + ctx.data_file + "`") << ": "
        << ctx.folds << " folds by engine, seed " << ctx.seed << ", " << ctx.cuts_per_engine
        << " truncation points per held-out engine (true RUL 1..150), " << ctx.rounds << " boosting rounds.\n\n"
        << md.str() << "\n"
        << "- *cuts*: truncated trajectories scored at their last cycle; RMSE, score, bias (predicted - true, > 0 is late),\n"
        << "  coverage and mean width of the 90% interval are over those, in cycles. *score/100*: PHM08 score\n"
        << "  (exp(-d/13) - 1 early, exp(d/10) - 1 late) per 100 trajectories.\n"
        << "- *lead*: cycles from the first critical alert to failure on the full run-to-failure trajectories;\n"
        << "  *unwarned*: engines that failed with no critical alert; *early false*: first critical alert more than "
        << fixed(2 * ctx.critical_rul, 0) << " cycles (2x the critical threshold) before failure.\n"
        << "- *α-λ λ*: share of engines whose estimate at t_λ = t_P + λ (EOL - t_P) (first cycle at or after it) lies within\n"
        << "  ±" << fixed(100 * hs.alpha, 0) << "% of the true RUL (Saxena et al., PHM 2008).\n"
        << "- *PH*: prognostic horizon, EOL minus the first cycle from which every later estimate stays within true RUL\n"
        << "  ± " << fixed(hs.ph_alpha, 2) << " × EOL; median and 5th percentile over engines, cycles.\n";
    return out.str();
}

}  // namespace turbotwin::training
