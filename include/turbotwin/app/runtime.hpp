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
    std::string config_path; ///< the config file it was loaded from
};

/// Loads config_path, then the catalogue and the model it names (the overrides win when set).
/// Provenance: the model file's SHA-256, and one over the config file and its catalogue.
Result<runtime> load_runtime(const std::string& config_path, const std::string& model_override = {},
                             const std::string& catalogue_override = {});

/// Keeps a copy of the model and config files under DATA_DIR/models/<sha256>.json and
/// DATA_DIR/configs/<sha256>.json, with the config's catalogue as DATA_DIR/catalogues/<the config's
/// sha256>.json (once per content), so that `turbotwin explain` finds the very
/// files an alert names by hash, however the deployment's files change later.
Result<bool> archive_inputs(const runtime& rt, const std::string& data_dir);

/// Where archive_inputs keeps a file of this "sha256:<hex>" hash: DATA_DIR/<kind>/<hex>.json.
std::string archived_path(const std::string& data_dir, const std::string& kind, const std::string& hash);

/// "sha256:<hex>" of a file's bytes; "" when it cannot be read.
std::string file_hash(const std::string& path);

/// turbotwin's version and the git commit it was configured from, e.g. "0.1.0+932be41c0a1f".
std::string code_version();

/// Shortest decimal text that parses back to the same double ("nan"/"inf" never occur here).
std::string round_trip(double v);

}  // namespace turbotwin::app
