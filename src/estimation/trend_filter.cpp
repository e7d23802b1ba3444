#include "turbotwin/estimation/trend_filter.hpp"

#include <cmath>

namespace turbotwin::estimation {

trend_state::trend_state(const trend_filter_params& params) {
    level_ = params.initial_level;
    slope_ = 0.0;
    p00_ = params.initial_level_var;
    p11_ = params.initial_slope_var;
}

bool trend_state::step(const trend_filter_params& params, double dt, double z, update_info& info) noexcept {
    info = {};
    if (!(dt >= 0) || !std::isfinite(dt)) return false;
    // Written out for the 2x2 case (the same algebra as the matrix form in the header): this
    // runs once per channel per reading, and Eigen's general products cost twice as much here.
    double x0 = level_, x1 = slope_;
    double p00 = p00_, p01 = p01_, p10 = p01_, p11 = p11_;
    if (dt > 0) {
        // x = F x, P = F P F' + Q with F = [1 dt; 0 1].
        const double q = params.slope_process_var, dt2 = dt * dt;
        x0 += dt * x1;
        const double q01 = q * dt2 / 2.0;
        const double n00 = p00 + dt * (p01 + p10) + dt2 * p11 + params.level_process_var * dt + q * dt2 * dt / 3.0;
        const double n01 = p01 + dt * p11 + q01;
        const double n10 = p10 + dt * p11 + q01;
        p11 += q * dt;
        p00 = n00, p01 = n01, p10 = n10;
    }
    if (!std::isnan(z)) {
        const double r = params.measurement_var;
        const double s = p00 + r;
        const double nu = z - x0;
        if (!(s > 0.0) || !std::isfinite(s) || !std::isfinite(nu)) return false;
        const double k0 = p00 / s, k1 = p10 / s;
        x0 += k0 * nu;
        x1 += k1 * nu;
        // Joseph form, P = (I - K H) P (I - K H)' + K R K', keeps P symmetric positive
        // semi-definite in finite precision. With H = [1 0]: A = (I - K H) P, then A (I - K H)'.
        const double a00 = (1.0 - k0) * p00, a01 = (1.0 - k0) * p01;
        const double a10 = p10 - k1 * p00, a11 = p11 - k1 * p01;
        p00 = a00 * (1.0 - k0) + k0 * r * k0;
        p01 = a01 - a00 * k1 + k0 * r * k1;
        p10 = a10 * (1.0 - k0) + k1 * r * k0;
        p11 = a11 - a10 * k1 + k1 * r * k1;
        info.applied = true;
        info.innovation = nu;
        info.innovation_var = s;
    }
    if (!std::isfinite(x0) || !std::isfinite(x1) || !std::isfinite(p00) || !std::isfinite(p01) || !std::isfinite(p10) ||
        !std::isfinite(p11) || p00 < 0.0 || p11 < 0.0)
        return false;
    level_ = x0;
    slope_ = x1;
    p00_ = p00;
    p01_ = 0.5 * (p01 + p10);  // equal but for rounding
    p11_ = p11;
    return true;
}

expected_reading trend_state::expect(const trend_filter_params& params, double dt) const noexcept {
    // The level row of F P F' + Q, written out: the same numbers step() computes.
    const double q = params.slope_process_var;
    const double p00 = p00_ + dt * (p01_ + p01_) + dt * dt * p11_ + params.level_process_var * dt + q * dt * dt * dt / 3.0;
    return {level_ + dt * slope_, p00 + params.measurement_var};
}

bool trend_state::set_state(const state_vector& x, const state_matrix& p) noexcept {
    if (!x.allFinite() || !p.allFinite()) return false;
    level_ = x(idx::level);
    slope_ = x(idx::slope);
    p00_ = p(0, 0);
    p01_ = 0.5 * (p(0, 1) + p(1, 0));
    p11_ = p(1, 1);
    return true;
}

double trend_state::level_std() const noexcept { return std::sqrt(p00_); }
double trend_state::slope_std() const noexcept { return std::sqrt(p11_); }

}  // namespace turbotwin::estimation
