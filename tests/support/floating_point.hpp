#pragma once
// NaN constants and a bitwise comparison, for tests that check a value is passed on untouched
// (a NaN where a reading is missing, the sign of zero, the last bit of a restored state).
#include <cstring>
#include <limits>

namespace turbotwin::testing_support {

inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();
inline constexpr float fnan = std::numeric_limits<float>::quiet_NaN();

/// Same object representation: NaN matches NaN, 0.0 does not match -0.0.
template <class T>
bool same_bits(const T& a, const T& b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace turbotwin::testing_support
