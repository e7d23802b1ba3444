#pragma once
/// A local linear trend Kalman filter for one sensor: the state is the sensor's true level and
/// its trend (change per cycle); the reading is the level plus white noise.
///   x_k = F(dt) x_{k-1} + w,  F = [1 dt; 0 1],  w ~ N(0, Q(dt))
///   z_k = [1 0] x_k + v,      v ~ N(0, R)
/// Q(dt) is the continuous white-noise-acceleration discretisation plus a level random walk
/// (Bar-Shalom, Li & Kirubarajan, Estimation with Applications to Tracking, eq. 6.2.2-12).
#include <Eigen/Core>

namespace turbotwin::estimation {

/// Named indices into the filter state.
struct idx {
    static constexpr Eigen::Index level = 0;  ///< sensor level, units
    static constexpr Eigen::Index slope = 1;  ///< trend, units per cycle
};

using state_vector = Eigen::Matrix<double, 2, 1>;
using state_matrix = Eigen::Matrix<double, 2, 2>;

/// Noise and prior of one sensor's filter; fitted by `turbotwin train` (maximum likelihood).
struct trend_filter_params {
    double measurement_var = 1.0;     ///< R, sensor units^2
    double level_process_var = 0.0;   ///< random walk of the level, units^2 per cycle
    double slope_process_var = 1e-6;  ///< white noise on the trend's rate, units^2 per cycle^3
    double initial_level = 0.0;       ///< prior mean of the level at the first reading
    double initial_level_var = 1.0;   ///< prior variance of the level
    double initial_slope_var = 1e-4;  ///< prior variance of the slope, (units/cycle)^2
};

/// Result of incorporating (or skipping) one reading.
struct update_info {
    bool applied = false;         ///< false when the reading was missing
    double innovation = 0.0;      ///< z - predicted level
    double innovation_var = 0.0;  ///< S = H P H' + R
};

/// The reading a filter expects next: the predicted level and the innovation variance
/// S = H P H' + R a reading would be judged against (before it is applied).
struct expected_reading {
    double level = 0.0;
    double innovation_var = 0.0;
};

/// The filter's state alone, stepped with parameters the caller keeps: what a twin stores per
/// channel (40 bytes: five doubles, the covariance being symmetric; a fleet holds a million of
/// them, all sharing the model's parameters).
class trend_state {
public:
    explicit trend_state(const trend_filter_params& params);  ///< the prior
    /// Advances the state by dt_cycles (>= 0) and incorporates z unless it is NaN.
    /// Returns false, leaving the state untouched, on a negative or non-finite dt and on
    /// numerical trouble (non-finite or non-positive innovation variance).
    bool step(const trend_filter_params& params, double dt_cycles, double z, update_info& info) noexcept;
    /// What step() would compare a reading with after dt_cycles (>= 0), without changing the
    /// state: lets a caller gate an outlier before applying it.
    expected_reading expect(const trend_filter_params& params, double dt_cycles) const noexcept;
    state_vector state() const noexcept { return {level_, slope_}; }
    state_matrix covariance() const noexcept {
        state_matrix p;
        p << p00_, p01_, p01_, p11_;
        return p;
    }
    double level() const noexcept { return level_; }
    double slope() const noexcept { return slope_; }
    double level_std() const noexcept;
    double slope_std() const noexcept;
    /// Replaces the state (restoring a snapshot); no check beyond finiteness. The covariance's
    /// off-diagonal is taken as the mean of p(0,1) and p(1,0).
    bool set_state(const state_vector& x, const state_matrix& p) noexcept;

private:
    // Plain doubles, not Eigen types: a Vector2d member would align the state to 16 bytes
    // and pad it from 40 to 48.
    double level_ = 0, slope_ = 0;         ///< the state: level (units), slope (units/cycle)
    double p00_ = 0, p01_ = 0, p11_ = 0;   ///< state covariance, upper triangle
};

/// A filter with its parameters: trend_state plus a reference to them (tests, training).
class trend_filter {
public:
    /// Keeps a reference to `params`, which must outlive the filter.
    explicit trend_filter(const trend_filter_params& params) : params_(&params), state_(params) {}
    trend_filter(trend_filter_params&&) = delete;  ///< would dangle
    bool step(double dt_cycles, double z, update_info& info) noexcept { return state_.step(*params_, dt_cycles, z, info); }
    state_vector state() const noexcept { return state_.state(); }
    state_matrix covariance() const noexcept { return state_.covariance(); }
    double level() const noexcept { return state_.level(); }
    double slope() const noexcept { return state_.slope(); }
    double level_std() const noexcept { return state_.level_std(); }
    double slope_std() const noexcept { return state_.slope_std(); }
    bool set_state(const state_vector& x, const state_matrix& p) noexcept { return state_.set_state(x, p); }
    const trend_state& core() const noexcept { return state_; }

private:
    const trend_filter_params* params_;  ///< not owned: see the constructor
    trend_state state_;
};

}  // namespace turbotwin::estimation
