#pragma once
/// Loading what every command needs: the config, the sensor catalogue and the model.
#include <optional>
#include <string>

#include "turbotwin/codec/config.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

struct runtime {
    codec::serve_config config;
    twin::twin_config twin;  ///< model, catalogue and alert thresholds shared by every twin
    std::string config_path; ///< the config file it was loaded from
    std::string config_model_hash;  ///< the hash of the model the config (or --model) names, whatever a promotion made active
    /// A candidate model run beside the active one on the live stream (serve --shadow-model):
    /// the same catalogue, thresholds and rules, its own model and provenance.
    std::optional<twin::twin_config> shadow;
    std::string shadow_model_path;
};

/// Loads `model_path` as rt's shadow model. invalid_argument when it filters other sensors than
/// the active model (REST and the history name the filtered sensors by the active model's).
Result<bool> load_shadow(runtime& rt, const std::string& model_path);

/// The model roles a data dir's server last ran with: after a promotion the promoted model (kept
/// in DATA_DIR/models/) is the active one whatever the config names, and the previous one its
/// shadow (for a rollback) unless `shadow_model_path` names another. Logs what it resumed.
Result<bool> resume_model_roles(runtime& rt, const std::string& data_dir, const std::string& shadow_model_path);

/// The keys under which the store keeps the roles (meta table). A promotion or rollback writes
/// the promoted model (empty when it is the config's own) and the shadow; a start writes what it
/// serves (for shadow-report).
inline constexpr const char* promoted_model_key = "promoted_model_hash";
inline constexpr const char* shadow_model_key = "shadow_model_hash";
inline constexpr const char* serving_model_key = "serving_model_hash";
inline constexpr const char* serving_shadow_key = "serving_shadow_hash";

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
