#pragma once
// Portable random numbers for the simulator. std::mt19937_64's output sequence is fixed by the
// standard, but std::normal_distribution and friends are not (libstdc++ and libc++ give
// different numbers), and a committed golden replay file must not change with the toolchain.
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

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

}  // namespace turbotwin::simulation::detail
