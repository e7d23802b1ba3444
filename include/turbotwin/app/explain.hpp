#pragma once
/// `turbotwin explain`: re-runs an engine's stored history up to the cycle an alert fired, with
/// the model and config that fired it, and compares the twin's state with what the alert kept.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::app {

struct explain_options {
    /// Used only when the data dir has no archived copy of the file the alert names (e.g. alerts
    /// from before archiving); the re-run then says which hashes differ.
    std::string fallback_config;
    std::string fallback_model;
};

/// One value that differs: its JSON path, e.g. "/channels/3/level", and both values.
struct state_difference {
    std::string path;
    nlohmann::json stored, recomputed;
};

struct explanation {
    alerting::alert alert;           ///< the change that raised it (its provenance and state then)
    std::string model_file, config_file;  ///< what the re-run loaded
    bool model_archived = false, config_archived = false;  ///< found by the alert's hashes
    std::vector<std::string> provenance_notes;  ///< how the re-run's model, config or code differ from the alert's
    bool same_inputs = true;         ///< the re-run's model and config have the alert's hashes (the code may differ)
    std::size_t readings = 0;        ///< readings re-applied
    std::size_t readings_missing = 0;///< stored rows without their reading (written before schema 6)
    std::size_t events = 0;          ///< operator events re-applied
    bool raised_again = false;       ///< the re-run raised the same alert at the same cycle
    nlohmann::json stored;           ///< twin state the alert kept (null: stored before it was kept)
    nlohmann::json recomputed;       ///< twin state after the re-run
    std::vector<state_difference> differences;
    std::size_t values_compared = 0;
    /// Every number and string equal, the same alert raised, and the same model and config.
    bool reproduced() const noexcept {
        return !stored.is_null() && differences.empty() && raised_again && same_inputs && readings_missing == 0;
    }
};

/// Reads DATA_DIR/turbotwin.db (read-only: works beside a running server, which sees only its
/// committed state) and re-runs the alert's engine. not_found: no such alert.
Result<explanation> explain_alert(const std::string& data_dir, const std::string& alert_id, const explain_options& options);

/// Paths where two JSON documents differ (numbers compared exactly); counts the leaves compared.
std::vector<state_difference> compare_states(const nlohmann::json& stored, const nlohmann::json& recomputed, std::size_t& values_compared);

}  // namespace turbotwin::app
