#include "turbotwin/estimation/trend_filter.hpp"

#include <cmath>

namespace turbotwin::estimation {

trend_state::trend_state(const trend_filter_params& params) {
    x_ << params.initial_level, 0.0;
    p_ << params.initial_level_var, 0.0, 0.0, params.initial_slope_var;
}

bool trend_state::step(const trend_filter_params& params, double dt, double z, update_info& info) noexcept {
    info = {};
    if (!(dt >= 0) || !std::isfinite(dt)) return false;
    state_vector x = x_;
    state_matrix p = p_;
    if (dt > 0) {
        state_matrix f;
        f << 1.0, dt, 0.0, 1.0;
        const double q = params.slope_process_var;
        state_matrix qm;
        qm << params.level_process_var * dt + q * dt * dt * dt / 3.0, q * dt * dt / 2.0,
              q * dt * dt / 2.0, q * dt;
        x = f * x;
        p = f * p * f.transpose() + qm;
    }
    if (!std::isnan(z)) {
        const double s = p(idx::level, idx::level) + params.measurement_var;
        const double nu = z - x(idx::level);
        if (!(s > 0.0) || !std::isfinite(s) || !std::isfinite(nu)) return false;
        const state_vector k = p.col(idx::level) / s;
        x += k * nu;
        // Joseph form keeps P symmetric positive semi-definite in finite precision.
        state_matrix i_kh = state_matrix::Identity();
        i_kh.col(idx::level) -= k;
        p = i_kh * p * i_kh.transpose() + k * params.measurement_var * k.transpose();
        info.applied = true;
        info.innovation = nu;
        info.innovation_var = s;
    }
    if (!x.allFinite() || !p.allFinite() || p(idx::level, idx::level) < 0.0 || p(idx::slope, idx::slope) < 0.0) return false;
    x_ = x;
    p_ = p;
    return true;
}

expected_reading trend_state::expect(const trend_filter_params& params, double dt) const noexcept {
    // The level row of F P F' + Q, written out: the same numbers step() computes.
    const double q = params.slope_process_var;
    const double p00 = p_(0, 0) + dt * (p_(0, 1) + p_(1, 0)) + dt * dt * p_(1, 1) + params.level_process_var * dt + q * dt * dt * dt / 3.0;
    return {x_(idx::level) + dt * x_(idx::slope), p00 + params.measurement_var};
}

bool trend_state::set_state(const state_vector& x, const state_matrix& p) noexcept {
    if (!x.allFinite() || !p.allFinite()) return false;
    x_ = x;
    p_ = p;
    return true;
}

double trend_state::level_std() const noexcept { return std::sqrt(p_(idx::level, idx::level)); }
double trend_state::slope_std() const noexcept { return std::sqrt(p_(idx::slope, idx::slope)); }

}  // namespace turbotwin::estimation
