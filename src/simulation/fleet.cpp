#include "turbotwin/simulation/fleet.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ostream>

#include "engine_variables.hpp"
#include "random_stream.hpp"
#include "rounding.hpp"

namespace turbotwin::simulation {

namespace {

// Like the official test sets: RUL at the cut in 1..150, at least 31 cycles recorded.
constexpr std::int64_t max_cut_rul = 150;
constexpr std::int64_t min_cut_cycles = 31;
// A truncated log-normal redraw that keeps missing means params far outside what they were
// fitted for; clamp rather than spin.
constexpr int max_life_draws = 1000;
// Stream 0 picks which engines are cut short; units use streams 1..N.
constexpr std::uint64_t selection_stream = 0;

// The engine-to-engine part of the model, prepared once per fleet.
struct engine_sampler {
    std::array<double, detail::variable_count> mean{};
    std::array<double, detail::variable_count> sd{};
    std::vector<std::size_t> correlated;  // slots, in correlation.variables order
    detail::matrix cholesky;

    explicit engine_sampler(const simulator_params& p) {
        mean[detail::life_slot] = p.life.log_mean;
        sd[detail::life_slot] = p.life.log_sd;
        mean[detail::wear_k_slot] = std::log(p.wear.k);
        sd[detail::wear_k_slot] = p.wear.log_k_sd;
        for (std::size_t i = 0; i < column_count; ++i) {
            const auto& c = p.column(i);
            if (c.constant) continue;
            mean[detail::initial_slot(i)] = c.initial_mean;
            sd[detail::initial_slot(i)] = c.initial_sd;
            mean[detail::drift_slot(i)] = c.drift_mean;
            sd[detail::drift_slot(i)] = c.drift_sd;
        }
        for (const auto& name : p.correlation.variables)
            if (auto slot = detail::variable_slot(name)) correlated.push_back(*slot);
        if (correlated.size() == p.correlation.matrix.size()) cholesky = detail::shrunk_cholesky(p.correlation.matrix);
        else correlated.clear();  // validate_simulator_params rejects this; stay independent
    }

    // One standard normal per slot, always all of them and in slot order, so that a unit's
    // stream does not shift when a column becomes constant or a correlation is added.
    std::array<double, detail::variable_count> draw(detail::random_stream& rng) const {
        std::array<double, detail::variable_count> z{};
        for (double& v : z) v = rng.normal();
        std::array<double, detail::variable_count> y = z;
        for (std::size_t i = 0; i < correlated.size(); ++i) {
            double s = 0.0;
            for (std::size_t k = 0; k <= i; ++k) s += cholesky[i][k] * z[correlated[k]];
            y[correlated[i]] = s;
        }
        for (std::size_t slot = 0; slot < detail::variable_count; ++slot) y[slot] = mean[slot] + sd[slot] * y[slot];
        return y;
    }
};

}  // namespace

std::vector<simulated_engine> simulate_fleet(const simulator_params& params, const fleet_options& options) {
    std::vector<simulated_engine> fleet;
    if (options.engines <= 0) return fleet;
    const auto n = static_cast<std::size_t>(options.engines);
    const engine_sampler sampler(params);

    // Exactly round(f N) engines are cut short, so a demo of 20 engines with f = 0.5 always has
    // ten of each; which ones is random.
    const double fraction = std::isfinite(options.cut_short_fraction) ? std::clamp(options.cut_short_fraction, 0.0, 1.0) : 0.0;
    const auto cut_count = static_cast<std::size_t>(std::llround(fraction * static_cast<double>(n)));
    detail::random_stream pick(options.seed, selection_stream);
    const std::vector<bool> cut = detail::choose_exactly(n, cut_count, pick);

    const int min_life = std::max(params.life.min_cycles, min_life_cycles);
    const int max_life = std::max(params.life.max_cycles, min_life);
    const double wear_rate = std::isfinite(options.wear_rate) ? std::clamp(options.wear_rate, 0.1, 10.0) : 1.0;
    fleet.reserve(n);
    for (std::size_t u = 0; u < n; ++u) {
        simulated_engine engine;
        engine.unit = static_cast<long>(u + 1);
        detail::random_stream rng(options.seed, u + 1);

        std::array<double, detail::variable_count> x{};
        long long life = 0;
        for (int attempt = 0; attempt < max_life_draws; ++attempt) {
            x = sampler.draw(rng);
            life = std::llround(std::exp(std::min(x[detail::life_slot], 50.0)));
            if (life >= min_life && life <= max_life) break;
        }
        life = std::clamp<long long>(life, min_life, max_life);
        // Dividing by exactly 1 leaves an integer as it was: the fitted fleet keeps its bytes.
        if (wear_rate != 1.0) life = std::max<long long>(min_life_cycles, std::llround(static_cast<double>(life) / wear_rate));
        engine.life_cycles = static_cast<int>(life);
        // Bounded like validate_simulator_params bounds the median, whatever the tail draws.
        const double k = std::exp(std::clamp(x[detail::wear_k_slot], std::log(1e-3), std::log(50.0)));

        // Drawn for every engine, used only when it is cut: see simulate_fleet's contract.
        const std::int64_t rul = rng.uniform_int(1, std::min<std::int64_t>(max_cut_rul, life - min_cut_cycles));
        engine.run_to_failure = !cut[u];
        const std::int64_t last = engine.run_to_failure ? life : life - rul;

        engine.cycles.reserve(static_cast<std::size_t>(last));
        for (std::int64_t t = 1; t <= last; ++t) {
            reading r;
            r.cycle = t;
            const double h = wear_fraction(static_cast<double>(t), static_cast<double>(life), k);
            for (std::size_t i = 0; i < column_count; ++i) {
                const auto& c = params.column(i);
                double v = c.value;
                if (!c.constant) {
                    const double level = x[detail::initial_slot(i)] + x[detail::drift_slot(i)] * h;
                    v = detail::round_to_decimals(level + c.noise_sd * rng.normal(), c.decimals);
                }
                if (i < setting_count) r.settings[i] = v;
                else r.sensors[i - setting_count] = v;
            }
            engine.cycles.push_back(r);
        }
        fleet.push_back(std::move(engine));
    }
    return fleet;
}

void write_fleet_cmapss(std::ostream& out, const std::vector<simulated_engine>& fleet, const simulator_params& params) {
    char buf[64];
    std::string line;
    for (const auto& engine : fleet) {
        for (const auto& r : engine.cycles) {
            line = std::to_string(engine.unit) + ' ' + std::to_string(r.cycle);
            for (std::size_t i = 0; i < column_count; ++i) {
                const double v = i < setting_count ? r.settings[i] : r.sensors[i - setting_count];
                if (std::isnan(v)) {
                    line += " nan";  // missing (an injected dropout); read_cmapss reads it back as NaN
                    continue;
                }
                std::snprintf(buf, sizeof buf, " %.*f", params.column(i).decimals, v);
                line += buf;
            }
            line += '\n';
            out << line;
        }
    }
}

void write_fleet_truth(std::ostream& out, const std::vector<simulated_engine>& fleet) {
    out << "unit,last_cycle,true_rul_at_last_cycle,life\n";
    for (const auto& e : fleet)
        out << e.unit << ',' << last_cycle(e) << ',' << true_rul_at_last_cycle(e) << ',' << e.life_cycles << '\n';
}

}  // namespace turbotwin::simulation
