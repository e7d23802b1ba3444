#pragma once
// The per-engine random variables of the simulator and their correlation: shared by the fit,
// the params file and the fleet generator so that all three agree on names and slots.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::simulation::detail {

using matrix = std::vector<std::vector<double>>;

/// Slot 0 is ln(life), slot 1 ln(wear k); column i has its initial level in slot 2 + 2i and its
/// drift in 3 + 2i.
inline constexpr std::size_t variable_count = 2 + 2 * column_count;
inline constexpr std::size_t life_slot = 0;
inline constexpr std::size_t wear_k_slot = 1;
inline constexpr std::size_t initial_slot(std::size_t column) noexcept { return 2 + 2 * column; }
inline constexpr std::size_t drift_slot(std::size_t column) noexcept { return 3 + 2 * column; }

/// "log_life", "log_wear_k", "T24.initial", "T24.drift", ...
std::string variable_name(std::size_t slot);
std::optional<std::size_t> variable_slot(std::string_view name);

/// A positive definite correlation matrix near a symmetric one with unit diagonal that may not
/// be positive semi-definite (a correlation matrix corrected for measurement error): clips its
/// eigenvalues at `min_eigenvalue`, then rescales to a unit diagonal. Unlike shrinking toward
/// I, this leaves the strong directions (FD001's 0.99 correlations) nearly untouched.
matrix nearest_correlation(const matrix& r, double min_eigenvalue);

/// Lower-triangular L with L L^T = (1 - lambda) R + lambda I for the smallest lambda of a fixed
/// ladder (0, 1e-6, ..., 1) that makes the matrix positive definite. A sample correlation
/// matrix is positive definite, but one rounded to three decimals for the params file may not
/// be when, as in FD001, some variables correlate at 0.99; shrinking toward I keeps every
/// variance and loses the least correlation. `lambda_used` reports the lambda taken.
matrix shrunk_cholesky(const matrix& r, double* lambda_used = nullptr);

}  // namespace turbotwin::simulation::detail
