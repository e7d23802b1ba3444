// Fitting simulator_params to run-to-failure trajectories (the method is documented on
// fit_simulator and in docs/simulator.md). Everything here is plain sums in a fixed order, so
// the same data always gives the same file.
#include <algorithm>
#include <cmath>
#include <map>

#include "engine_variables.hpp"
#include "rounding.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::simulation {

namespace {

constexpr std::size_t min_engines = 3;
constexpr std::size_t min_cycles_per_engine = 15;
constexpr std::size_t min_readings_per_sensor = 3;
// Half-width of the moving average that separates noise from what the wear curve missed: 5
// cycles each side is short against the ~50-cycle scale on which FD001's trends bend.
constexpr std::size_t noise_half_window = 5;

// Fewest decimals that print v exactly. The tolerance is far above the parse error of a short
// decimal and far below the 0.1 a real further digit would leave.
int decimals_of(double v) {
    for (int d = 0; d < detail::max_decimals; ++d) {
        const double s = v * detail::pow10(d);
        if (std::abs(s - std::round(s)) <= 1e-9 * std::max(1.0, std::abs(s))) return d;
    }
    return detail::max_decimals;
}

// One sensor of one engine: its finite readings and their times.
struct series {
    std::vector<double> t;
    std::vector<double> x;
    double mean_x = 0.0;
    double sxx = 0.0;  // sum of (x - mean_x)^2
};

// Least-squares fit x = a + b h(t) on one series for a given k.
struct line_fit {
    double a = 0.0, b = 0.0, sse = 0.0;
    double mean_h = 0.0, shh = 0.0;
    std::size_t n = 0;
};

line_fit fit_line(const series& s, double life, double k) {
    line_fit f;
    f.n = s.x.size();
    thread_local std::vector<double> h;  // the wear curve at s.t, reused: this is the hot loop
    h.resize(f.n);
    double sum_h = 0.0;
    for (std::size_t i = 0; i < f.n; ++i) sum_h += h[i] = wear_fraction(s.t[i], life, k);
    f.mean_h = sum_h / static_cast<double>(f.n);
    double sxh = 0.0;
    for (std::size_t i = 0; i < f.n; ++i) {
        const double dh = h[i] - f.mean_h;
        f.shh += dh * dh;
        sxh += dh * (s.x[i] - s.mean_x);
    }
    f.b = f.shh > 0 ? sxh / f.shh : 0.0;
    f.a = s.mean_x - f.b * f.mean_h;
    f.sse = std::max(0.0, s.sxx - f.b * sxh);
    return f;
}

struct engine_series {
    double life = 0.0;
    std::vector<series> sensors;  // one per informative sensor
};

// Sum over the engine's informative sensors of the fraction of its variance the curve leaves
// unexplained: normalising makes T30 (hundreds of K) and BPR (hundredths) count alike.
double wear_objective(const engine_series& e, double k) {
    double total = 0.0;
    for (const auto& s : e.sensors)
        if (s.sxx > 0) total += fit_line(s, e.life, k).sse / s.sxx;
    return total;
}

// The engine's k: a scan over a geometric grid finds the basin (the objective need not be
// convex far out), golden-section search between the neighbouring grid points refines it.
// k > 0: wear accelerates toward failure, as in every FD001 engine.
double fit_wear_k(const engine_series& e) {
    constexpr double k_min = 0.25, k_max = 20.0;
    constexpr int grid = 48;
    const double ratio = std::pow(k_max / k_min, 1.0 / grid);
    int best_i = 0;
    double best = wear_objective(e, k_min);
    for (int i = 1; i <= grid; ++i) {
        const double v = wear_objective(e, k_min * std::pow(ratio, i));
        if (v < best) {
            best = v;
            best_i = i;
        }
    }
    const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
    double lo = k_min * std::pow(ratio, std::max(best_i - 1, 0)), hi = k_min * std::pow(ratio, std::min(best_i + 1, grid));
    double c = hi - phi * (hi - lo), d = lo + phi * (hi - lo);
    double fc = wear_objective(e, c), fd = wear_objective(e, d);
    for (int it = 0; it < 30; ++it) {
        if (fc < fd) {
            hi = d;
            d = c;
            fd = fc;
            c = hi - phi * (hi - lo);
            fc = wear_objective(e, c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + phi * (hi - lo);
            fd = wear_objective(e, d);
        }
    }
    return (lo + hi) / 2.0;
}

Result<simulator_params> invalid_fit_input(std::string what) { return {errc::invalid_argument, std::move(what)}; }

}  // namespace

Result<simulator_params> fit_simulator(const std::vector<dataset::engine_trajectory>& run_to_failure) {
    if (run_to_failure.size() < min_engines)
        return invalid_fit_input("need at least " + std::to_string(min_engines) + " run-to-failure engines, got " +
                                 std::to_string(run_to_failure.size()));
    for (const auto& e : run_to_failure) {
        const std::string unit = "unit " + std::to_string(e.unit);
        if (e.cycles.size() < min_cycles_per_engine)
            return invalid_fit_input(unit + " has " + std::to_string(e.cycles.size()) + " cycles, need at least " +
                                     std::to_string(min_cycles_per_engine));
        if (e.cycles.front().cycle < 1) return invalid_fit_input(unit + " has a cycle below 1");
        for (std::size_t i = 1; i < e.cycles.size(); ++i)
            if (e.cycles[i].cycle <= e.cycles[i - 1].cycle) return invalid_fit_input(unit + ": cycles must increase");
        if (e.cycles.back().cycle > max_cycle) return invalid_fit_input(unit + ": cycle beyond " + std::to_string(max_cycle));
    }

    simulator_params p;
    p.fitted_engines = static_cast<int>(run_to_failure.size());
    auto value_at = [](const reading& r, std::size_t column) {
        return column < setting_count ? r.settings[column] : r.sensors[column - setting_count];
    };

    // Columns: printed precision, constant or not; settings fitted here as white noise.
    std::vector<std::size_t> informative;  // column indices of the sensors that wear
    for (std::size_t i = 0; i < column_count; ++i) {
        auto& c = p.column(i);
        double sum = 0.0, sum_sq = 0.0;
        std::size_t n = 0;
        c.decimals = 0;
        for (const auto& e : run_to_failure)
            for (const auto& r : e.cycles) {
                const double v = value_at(r, i);
                if (!std::isfinite(v)) continue;
                c.decimals = std::max(c.decimals, decimals_of(v));
                sum += v;
                ++n;
            }
        if (n == 0) return invalid_fit_input("column " + std::string(column_name(i)) + " has no readings");
        const double mean = sum / static_cast<double>(n);
        for (const auto& e : run_to_failure)
            for (const auto& r : e.cycles)
                if (const double v = value_at(r, i); std::isfinite(v)) sum_sq += (v - mean) * (v - mean);
        const double sd = std::sqrt(sum_sq / static_cast<double>(n));
        const double quantum = 1.0 / detail::pow10(c.decimals);
        if (sd < quantum / 2) {
            // Below half the last printed digit the column is a constant with the odd flicker
            // (FD001's P15 reads 21.61 and now and then 21.60); the mode is what it reads.
            std::map<long long, std::size_t> counts;
            for (const auto& e : run_to_failure)
                for (const auto& r : e.cycles)
                    if (const double v = value_at(r, i); std::isfinite(v)) ++counts[std::llround(v / quantum)];
            auto mode = counts.begin();
            for (auto it = counts.begin(); it != counts.end(); ++it)
                if (it->second > mode->second) mode = it;
            c.constant = true;
            c.value = static_cast<double>(mode->first) / detail::pow10(c.decimals);
        } else if (i < setting_count) {
            c.initial_mean = mean;
            c.noise_sd = std::sqrt(std::max(0.0, sd * sd - quantum * quantum / 12.0));
        } else {
            informative.push_back(i);
        }
    }

    // Life: log-normal over every engine; the bounds only stop absurd tails.
    double sum_log = 0.0, sum_log_sq = 0.0;
    int shortest = static_cast<int>(max_cycle), longest = 0;
    for (const auto& e : run_to_failure) {
        const auto life = static_cast<int>(e.cycles.back().cycle);
        sum_log += std::log(life);
        shortest = std::min(shortest, life);
        longest = std::max(longest, life);
    }
    const auto engines_n = static_cast<double>(run_to_failure.size());
    p.life.log_mean = sum_log / engines_n;
    for (const auto& e : run_to_failure) {
        const double dl = std::log(static_cast<double>(e.cycles.back().cycle)) - p.life.log_mean;
        sum_log_sq += dl * dl;
    }
    p.life.log_sd = std::sqrt(sum_log_sq / (engines_n - 1));
    p.life.min_cycles = std::max(min_life_cycles, static_cast<int>(std::floor(0.8 * shortest)));
    p.life.max_cycles = std::max(p.life.min_cycles, static_cast<int>(std::ceil(1.2 * longest)));

    // Per-engine series of the informative sensors.
    const std::size_t ns = informative.size();
    std::vector<engine_series> engines;
    for (const auto& e : run_to_failure) {
        engine_series es;
        es.life = static_cast<double>(e.cycles.back().cycle);
        bool complete = true;
        for (std::size_t column : informative) {
            series s;
            for (const auto& r : e.cycles)
                if (const double v = value_at(r, column); std::isfinite(v)) {
                    s.t.push_back(static_cast<double>(r.cycle));
                    s.x.push_back(v);
                }
            if (s.x.size() < min_readings_per_sensor) {
                complete = false;
                break;
            }
            double sum = 0.0;
            for (double v : s.x) sum += v;
            s.mean_x = sum / static_cast<double>(s.x.size());
            for (double v : s.x) s.sxx += (v - s.mean_x) * (v - s.mean_x);
            es.sensors.push_back(std::move(s));
        }
        if (complete) engines.push_back(std::move(es));
    }
    if (ns > 0 && engines.size() < min_engines)
        return invalid_fit_input("fewer than " + std::to_string(min_engines) + " engines have readings of every informative sensor");

    std::vector<double> k(engines.size(), p.wear.k);
    if (ns > 0)
        for (std::size_t e = 0; e < engines.size(); ++e) k[e] = fit_wear_k(engines[e]);

    // Per-engine fits at the engine's k, and the noise around them.
    std::vector<std::vector<line_fit>> fits(engines.size(), std::vector<line_fit>(ns));
    std::vector<double> noise_var(ns, 0.0);  // as measured: noise plus rounding
    for (std::size_t s = 0; s < ns; ++s) {
        double sum_sq = 0.0;
        std::size_t count = 0;
        for (std::size_t e = 0; e < engines.size(); ++e) {
            const auto& ser = engines[e].sensors[s];
            const auto f = fit_line(ser, engines[e].life, k[e]);
            fits[e][s] = f;
            std::vector<double> res(ser.x.size());
            for (std::size_t i = 0; i < res.size(); ++i)
                res[i] = ser.x[i] - f.a - f.b * wear_fraction(ser.t[i], engines[e].life, k[e]);
            const std::size_t w = 2 * noise_half_window + 1;
            for (std::size_t i = noise_half_window; i + noise_half_window < res.size(); ++i) {
                double local = 0.0;
                for (std::size_t j = i - noise_half_window; j <= i + noise_half_window; ++j) local += res[j];
                const double d = res[i] - local / static_cast<double>(w);
                sum_sq += d * d;
                ++count;
            }
        }
        // For white noise, x_i minus the mean of the w values around it has variance
        // sigma^2 (1 - 1/w).
        const double w = 2.0 * noise_half_window + 1.0;
        noise_var[s] = count > 0 ? sum_sq / static_cast<double>(count) * w / (w - 1.0) : 0.0;
        auto& c = p.column(informative[s]);
        const double quantum = 1.0 / detail::pow10(c.decimals);
        // Rounding to the printed digit adds q^2/12 (Sheppard); the simulator rounds too, so the
        // noise it draws is what is left.
        c.noise_sd = std::sqrt(std::max(0.0, noise_var[s] - quantum * quantum / 12.0));
    }

    // Engine variables: ln(life), ln(k), then (initial, drift) per informative sensor.
    const std::size_t nv = 2 + 2 * ns;
    const std::size_t ne = engines.size();
    std::vector<std::vector<double>> v(ne, std::vector<double>(nv));
    for (std::size_t e = 0; e < ne; ++e) {
        v[e][0] = std::log(engines[e].life);
        v[e][1] = std::log(k[e]);
        for (std::size_t s = 0; s < ns; ++s) {
            v[e][2 + 2 * s] = fits[e][s].a;
            v[e][3 + 2 * s] = fits[e][s].b;
        }
    }
    if (ns == 0 || ne < 2) {
        // Nothing wears: no engine variables beyond the life, already fitted.
        return p;
    }
    std::vector<double> mean(nv, 0.0);
    for (const auto& row : v)
        for (std::size_t j = 0; j < nv; ++j) mean[j] += row[j] / static_cast<double>(ne);
    std::vector<std::vector<double>> cov(nv, std::vector<double>(nv, 0.0));
    for (const auto& row : v)
        for (std::size_t i = 0; i < nv; ++i)
            for (std::size_t j = 0; j <= i; ++j) cov[i][j] += (row[i] - mean[i]) * (row[j] - mean[j]);
    for (std::size_t i = 0; i < nv; ++i)
        for (std::size_t j = 0; j <= i; ++j) cov[i][j] /= static_cast<double>(ne - 1);
    // Each engine's (a, b) carries least-squares error sigma^2 (X'X)^-1 on top of the real
    // engine-to-engine spread; subtract its fleet mean so the simulator does not add the fit's
    // own noise as extra variation (about 6% of T50's drift variance in FD001).
    for (std::size_t s = 0; s < ns; ++s) {
        double var_a = 0.0, var_b = 0.0;
        for (std::size_t e = 0; e < ne; ++e) {
            const auto& f = fits[e][s];
            if (!(f.shh > 0)) continue;
            var_b += noise_var[s] / f.shh;
            var_a += noise_var[s] * (1.0 / static_cast<double>(f.n) + f.mean_h * f.mean_h / f.shh);
        }
        const std::size_t ia = 2 + 2 * s, ib = 3 + 2 * s;
        cov[ia][ia] -= var_a / static_cast<double>(ne);
        cov[ib][ib] -= var_b / static_cast<double>(ne);
    }
    std::vector<double> sd(nv);
    for (std::size_t i = 0; i < nv; ++i) sd[i] = std::sqrt(std::max(0.0, cov[i][i]));

    p.life.log_mean = mean[0];  // same engines as the correlation (all of them unless some lack data)
    p.life.log_sd = sd[0];
    p.wear.k = std::exp(mean[1]);
    p.wear.log_k_sd = sd[1];
    for (std::size_t s = 0; s < ns; ++s) {
        auto& c = p.column(informative[s]);
        c.initial_mean = mean[2 + 2 * s];
        c.initial_sd = sd[2 + 2 * s];
        c.drift_mean = mean[3 + 2 * s];
        c.drift_sd = sd[3 + 2 * s];
    }

    // Correlation of the variables that vary, from the corrected covariance (without the
    // correction, the drifts' correlations come out about 0.1 weaker than those of the fleet a
    // re-fit recovers). Corrected, the 0.99 correlations of the initial levels can pass 1, so
    // the matrix goes back to the nearest positive definite one, with eigenvalues of at least
    // min_eigenvalue, which also survives rounding to 3 decimals in the params file.
    constexpr double min_eigenvalue = 5e-3;
    std::vector<std::size_t> varying;
    for (std::size_t i = 0; i < nv; ++i)
        if (sd[i] > 0) varying.push_back(i);
    detail::matrix r(varying.size(), std::vector<double>(varying.size(), 0.0));
    for (std::size_t i = 0; i < varying.size(); ++i)
        for (std::size_t j = 0; j <= i; ++j) {
            const std::size_t a = varying[i], b = varying[j];
            r[i][j] = r[j][i] = i == j ? 1.0 : cov[a][b] / (sd[a] * sd[b]);
        }
    r = detail::nearest_correlation(r, min_eigenvalue);
    auto slot_of = [&](std::size_t var) {
        if (var == 0) return detail::life_slot;
        if (var == 1) return detail::wear_k_slot;
        const std::size_t column = informative[(var - 2) / 2];
        return var % 2 == 0 ? detail::initial_slot(column) : detail::drift_slot(column);
    };
    for (std::size_t i : varying) p.correlation.variables.push_back(detail::variable_name(slot_of(i)));
    p.correlation.matrix = std::move(r);
    return p;
}

}  // namespace turbotwin::simulation
