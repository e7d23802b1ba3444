#pragma once
// A column's printed decimals, shared by the fit, the params file, the fleet generator and the
// fault injector: how many there may be, and rounding to them so that a value in memory is the
// value write_fleet_cmapss prints.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>

namespace turbotwin::simulation::detail {

/// The most decimals a column may print: what the params file accepts and the fit infers at most.
inline constexpr int max_decimals = 6;

/// 10^d from a table, exact for d in 0..9 (d is clamped to that range), so that dividing by it
/// gives the double nearest a short decimal.
inline double pow10(int d) {
    static constexpr std::array<double, 10> table = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    return table[static_cast<std::size_t>(std::clamp(d, 0, 9))];
}

inline double round_to_decimals(double x, int decimals) {
    const double p = std::pow(10.0, decimals);
    return std::round(x * p) / p;
}

}  // namespace turbotwin::simulation::detail
