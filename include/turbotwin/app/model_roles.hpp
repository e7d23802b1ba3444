#pragma once
/// Which model is active, which one shadows it, and the promotion and rollback that swap them:
/// the state behind the REST model routes. One owner (this object) for the roles and the audit;
/// each fleet shard switches at its own place in its stream.
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

class durable_state;

class model_roles {
public:
    /// `config_model_hash`: the hash of the model the config names (a promotion back to it is no
    /// longer one to resume at the next start). `durable` may be null (no store: no report, no
    /// audit beyond this process).
    model_roles(fleet& engines, const twin::twin_config& active, const twin::twin_config* shadow, std::string config_model_hash,
                durable_state* durable);

    nlohmann::json describe() const;
    /// The candidate becomes active for every engine, atomically per engine and without a restart;
    /// the previous one keeps running as the shadow (for a rollback). conflict: no shadow.
    Result<nlohmann::json> promote(const std::string& by);
    /// Undoes the last promotion. conflict: the last change was not a promotion to this model.
    Result<nlohmann::json> rollback(const std::string& by);
    Result<nlohmann::json> shadow_report() const;
    /// The active model (planning reads its calibration).
    std::shared_ptr<const prognostics::rul_model> active_model() const;

private:
    Result<nlohmann::json> swap(const std::string& action, const std::string& by);

    fleet& engines_;
    std::string config_model_hash_;
    durable_state* durable_;
    mutable std::mutex mu_;  ///< guards the fields below, and makes swaps one at a time
    const twin::twin_config* active_;
    const twin::twin_config* shadow_;
    std::vector<store::model_audit_row> audit_;  ///< newest first
};

/// {"model","model_hash","trees","trained_on"} of a config's model.
nlohmann::json model_json(const twin::twin_config& c);

}  // namespace turbotwin::app
