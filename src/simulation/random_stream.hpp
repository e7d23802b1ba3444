#pragma once
// Portable random numbers for the simulator. std::mt19937_64's output sequence is fixed by the
// standard, but std::normal_distribution and friends are not (libstdc++ and libc++ give
// different numbers), and a committed golden replay file must not change with the toolchain.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <random>
#include <utility>
#include <vector>

namespace turbotwin::simulation::detail {

/// SplitMix64 finaliser: spreads a seed and a stream number over all 64 bits, so that seeds 1
/// and 2 or units 7 and 8 do not start correlated Mersenne Twister states.
inline std::uint64_t mix64(std::uint64_t z) noexcept {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

class random_stream {
public:
    random_stream(std::uint64_t seed, std::uint64_t stream) : engine_(mix64(mix64(seed) ^ mix64(~stream))) {}

    /// Uniform on [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

    /// Uniform integer on [lo, hi] (hi >= lo); the bias of scaling is below 2^-40 for our ranges.
    std::int64_t uniform_int(std::int64_t lo, std::int64_t hi) {
        const auto span = static_cast<double>(hi - lo + 1);
        const auto k = static_cast<std::int64_t>(uniform() * span);
        return lo + (k > hi - lo ? hi - lo : k);
    }

    /// Standard normal by Box-Muller, keeping the second value for the next call.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double u1 = 1.0 - uniform();  // (0, 1]: log stays finite
        const double u2 = uniform();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double a = 2.0 * std::numbers::pi * u2;
        spare_ = r * std::sin(a);
        has_spare_ = true;
        return r * std::cos(a);
    }

private:
    std::mt19937_64 engine_;
    double spare_ = 0.0;
    bool has_spare_ = false;
};

/// Exactly `count` of `n` items (count <= n), chosen uniformly: a Fisher-Yates shuffle of 0..n-1,
/// the first `count` marked true. Always draws n - 1 numbers, whatever `count` is.
inline std::vector<bool> choose_exactly(std::size_t n, std::size_t count, random_stream& rng) {
    std::vector<bool> chosen(n, false);
    if (n == 0) return chosen;
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    for (std::size_t i = n - 1; i > 0; --i)
        std::swap(order[i], order[static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(i)))]);
    for (std::size_t i = 0; i < count && i < n; ++i) chosen[order[i]] = true;
    return chosen;
}

}  // namespace turbotwin::simulation::detail
