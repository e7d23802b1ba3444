#pragma once
// The shipped model (models/fd001.json), loaded once per test binary, and FD001-like sea-level
// values of every sensor: what the twin tests build their engines from.
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/prognostics/model.hpp"

namespace turbotwin::testing_support {

/// FD001-like sea-level values of every sensor, in column order.
inline constexpr std::array<double, sensor_count> fd001_nominal = {518.67, 642.0, 1590.0, 1408.0, 14.62, 21.61, 553.0,
                                                                   2388.0, 9060.0, 1.3,    47.5,  521.5,  2388.0, 8140.0,
                                                                   8.44,   0.03,  393.0,  2388.0, 100.0,  38.8,   23.3};

/// The shipped model; null (with a test failure recorded) if it cannot be loaded.
inline std::shared_ptr<const prognostics::rul_model> shipped_model() {
    static const auto loaded = []() -> std::shared_ptr<const prognostics::rul_model> {
        auto m = prognostics::load_model(std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json");
        if (!m) {
            ADD_FAILURE() << m.message();
            return nullptr;
        }
        return std::make_shared<const prognostics::rul_model>(std::move(*m));
    }();
    return loaded;
}

}  // namespace turbotwin::testing_support
