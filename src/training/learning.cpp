#include "turbotwin/training/learning.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <span>

#include "turbotwin/simulation/fleet.hpp"

namespace turbotwin::training {

namespace {

// Where the official test sets are cut, and where `train` calibrates.
constexpr double max_scored_rul = 150;

std::vector<dataset::engine_trajectory> as_trajectories(std::vector<simulation::simulated_engine>&& fleet) {
    std::vector<dataset::engine_trajectory> out;
    out.reserve(fleet.size());
    for (auto& e : fleet) {
        const std::int64_t rul = simulation::true_rul_at_last_cycle(e);  // before the cycles move out
        out.push_back({e.unit, std::move(e.cycles), rul});
    }
    return out;
}

std::string wear_label(double rate) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "wear %gx", rate);
    return buf;
}

}  // namespace

Result<prognostics::rul_model> recalibrate_intervals(const prognostics::rul_model& m, const std::vector<dataset::engine_trajectory>& failures,
                                                     std::size_t* residuals) {
    const auto table = build_features(m, failures);
    std::vector<double> predicted, truth;
    for (std::size_t r = 0; r < table.rows(); ++r) {
        if (table.rul[r] < 1 || table.rul[r] > max_scored_rul) continue;
        predicted.push_back(m.trees.predict(std::span<const float>(table.x.data() + r * table.cols, table.cols)));
        truth.push_back(table.rul[r]);
    }
    if (residuals) *residuals = predicted.size();
    if (predicted.size() < min_calibration_residuals)
        return {errc::invalid_argument, "the failures give " + std::to_string(predicted.size()) + " cycles with true RUL 1.." +
                                            std::to_string(int(max_scored_rul)) + "; calibration needs at least " +
                                            std::to_string(min_calibration_residuals)};
    prognostics::rul_model out = m;
    out.calibration = conformal_calibration(predicted, truth, m.calibration.coverage);
    return out;
}

std::vector<scored_point> score_held_out(const twin::twin_config& config, const std::vector<dataset::engine_trajectory>& engines, int cuts,
                                         std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<scored_point> points;
    for (std::size_t k = 0; k < engines.size(); ++k) {
        const auto& eng = engines[k];
        if (eng.cycles.empty()) continue;
        twin::asset_twin tw("held-out", config);
        std::vector<std::optional<twin::twin_update>> trace(eng.cycles.size());
        for (std::size_t i = 0; i < eng.cycles.size(); ++i)
            if (auto u = tw.process(eng.cycles[i])) trace[i] = std::move(*u);
        // The same rule as evaluate(): true RUL 1..min(150, life - 31), distinct cuts.
        const std::int64_t end = eng.cycles.back().cycle + eng.rul_after_last;
        const auto life = std::int64_t(eng.cycles.size());
        const std::int64_t max_rul = std::max<std::int64_t>(1, std::min<std::int64_t>(std::int64_t(max_scored_rul), life - 31));
        std::uniform_int_distribution<std::int64_t> pick(1, max_rul);
        std::vector<std::int64_t> chosen;
        for (int c = 0; c < cuts && std::int64_t(chosen.size()) < max_rul; ++c) {
            std::int64_t r;
            do r = pick(rng);
            while (std::find(chosen.begin(), chosen.end(), r) != chosen.end());
            chosen.push_back(r);
        }
        for (std::int64_t rul_true : chosen) {
            const std::int64_t row = life - 1 - rul_true;
            if (row < 0 || !trace[std::size_t(row)]) continue;
            const auto& u = *trace[std::size_t(row)];
            points.push_back({k, u.cycle, double(end - u.cycle), u.estimate.rul, u.estimate.rul_lo, u.estimate.rul_hi});
        }
    }
    return points;
}

Result<std::vector<learning_row>> run_learning_experiment(const twin::twin_config& shipped, const simulation::simulator_params& params,
                                                          const std::vector<dataset::engine_trajectory>& base,
                                                          const learning_experiment_options& o, const log_fn& log) {
    auto say = [&](const std::string& s) { if (log) log(s); };
    if (o.failures.empty() || o.held_out == 0) return {errc::invalid_argument, "need failure counts and held-out engines"};
    const std::size_t learning = *std::max_element(o.failures.begin(), o.failures.end());
    // Units 1..learning fail and are learnt from; the rest are held out. Each unit has its own
    // random stream, so the held-out engines are the same whatever the learning counts.
    simulation::fleet_options fo;
    fo.engines = int(learning + o.held_out);
    fo.seed = o.seed;
    fo.cut_short_fraction = 0.0;
    fo.wear_rate = o.wear_rate;
    auto fleet = as_trajectories(simulation::simulate_fleet(params, fo));
    const std::vector<dataset::engine_trajectory> held_out(fleet.begin() + std::ptrdiff_t(learning), fleet.end());
    fo.wear_rate = 1.0;
    auto usual = as_trajectories(simulation::simulate_fleet(params, fo));
    const std::vector<dataset::engine_trajectory> held_out_usual(usual.begin() + std::ptrdiff_t(learning), usual.end());

    std::vector<learning_row> rows;
    auto score = [&](const std::string& name, const std::shared_ptr<const prognostics::rul_model>& model, std::size_t n) {
        twin::twin_config config = shipped;
        config.model = model;
        rows.push_back({name, wear_label(o.wear_rate), n, score_points(score_held_out(config, held_out, o.cuts, o.seed))});
        say(name + " (" + std::to_string(n) + " failures): coverage " + std::to_string(rows.back().acc.coverage) + ", rmse " +
            std::to_string(rows.back().acc.rmse));
    };
    rows.push_back({"shipped", wear_label(1.0), 0, score_points(score_held_out(shipped, held_out_usual, o.cuts, o.seed))});
    score("shipped", shipped.model, 0);

    auto sorted = o.failures;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t n : sorted) {
        const std::vector<dataset::engine_trajectory> failures(fleet.begin(), fleet.begin() + std::ptrdiff_t(n));
        auto recalibrated = recalibrate_intervals(*shipped.model, failures);
        if (!recalibrated) return {recalibrated.error(), std::to_string(n) + " failures: " + recalibrated.detail()};
        score("recalibrated", std::make_shared<const prognostics::rul_model>(std::move(*recalibrated)), n);
        if (!o.refit) continue;
        auto engines = base;
        engines.insert(engines.end(), failures.begin(), failures.end());
        auto train = o.train;
        train.calibrate_from_engine = base.size();  // as `train --from-store --base` does
        auto refit = train_model(engines, train);
        if (!refit) return {refit.error(), std::to_string(n) + " failures, refit: " + refit.detail()};
        score("refit", std::make_shared<const prognostics::rul_model>(std::move(*refit)), n);
    }
    return rows;
}

}  // namespace turbotwin::training
