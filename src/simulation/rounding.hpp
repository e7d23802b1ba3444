#pragma once
// Rounding to a column's printed decimals, shared by the fleet generator and the fault injector
// so that a value in memory is the value write_fleet_cmapss prints.
#include <cmath>

namespace turbotwin::simulation::detail {

inline double round_to_decimals(double x, int decimals) {
    const double p = std::pow(10.0, decimals);
    return std::round(x * p) / p;
}

}  // namespace turbotwin::simulation::detail
