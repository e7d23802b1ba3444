#pragma once
/// Loading what every command needs: the config, the sensor catalogue and the model.
#include <string>

#include "turbotwin/codec/config.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

struct runtime {
    codec::serve_config config;
    twin::twin_config twin;  ///< model, catalogue and alert thresholds shared by every twin
};

/// Loads config_path, then the catalogue and the model it names (model_override wins when set).
Result<runtime> load_runtime(const std::string& config_path, const std::string& model_override = {});

/// turbotwin's version and the git commit it was configured from, e.g. "0.1.0+932be41c0a1f".
std::string code_version();

/// Shortest decimal text that parses back to the same double ("nan"/"inf" never occur here).
std::string round_trip(double v);

}  // namespace turbotwin::app
