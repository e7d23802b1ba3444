#pragma once
// The simulator params committed with the source (models/simulator.json), for the tests that
// generate fleets from them.
#include <string>

namespace turbotwin::testing_support {

inline const std::string committed_simulator_params_path = std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json";

}  // namespace turbotwin::testing_support
