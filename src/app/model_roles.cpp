#include "turbotwin/app/model_roles.hpp"

#include <chrono>
#include <future>
#include <spdlog/spdlog.h>

#include "durable_state.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/app/shadow_report.hpp"
#include "wall_clock.hpp"

namespace turbotwin::app {

using nlohmann::json;

namespace {
json audit_json(const store::model_audit_row& a) {
    return {{"action", a.action},
            {"by", a.by},
            {"at_ms", a.at_ms},
            {"from", {{"model", a.from_model}, {"model_hash", a.from_hash}}},
            {"to", {{"model", a.to_model}, {"model_hash", a.to_hash}}},
            {"engines", a.engines},
            {"fresh_engines", a.fresh_engines}};
}

constexpr std::size_t audit_kept = 50;
}  // namespace

json model_json(const twin::twin_config& c) {
    return {{"model", c.origin.model}, {"model_hash", c.origin.model_hash}, {"trees", c.model->trees.trees.size()},
            {"trained_on", c.model->trained_on}};
}

model_roles::model_roles(fleet& engines, const twin::twin_config& active, const twin::twin_config* shadow, std::string config_model_hash,
                         durable_state* durable)
    : engines_(engines), config_model_hash_(std::move(config_model_hash)), durable_(durable), active_(&active), shadow_(shadow) {
    if (durable_) {
        if (auto db = store::database::open_reader(durable_->database_path()))
            if (auto rows = (*db)->model_audit(audit_kept)) audit_ = std::move(*rows);
    }
}

json model_roles::describe() const {
    std::lock_guard lock(mu_);
    json audit = json::array();
    for (const auto& a : audit_) audit.push_back(audit_json(a));
    const bool can_roll_back = shadow_ && !audit_.empty() && audit_.front().action == "promote" && audit_.front().from_hash == shadow_->origin.model_hash;
    return {{"active", model_json(*active_)},
            {"shadow", shadow_ ? model_json(*shadow_) : json(nullptr)},
            {"rollback_available", can_roll_back},
            {"audit", std::move(audit)}};
}

Result<json> model_roles::promote(const std::string& by) { return swap("promote", by); }

Result<json> model_roles::rollback(const std::string& by) {
    {
        std::lock_guard lock(mu_);
        if (!shadow_ || audit_.empty() || audit_.front().action != "promote" || audit_.front().from_hash != shadow_->origin.model_hash)
            return {errc::conflict, "nothing to roll back: the last model change was not a promotion from the model now in shadow"};
    }
    return swap("rollback", by);
}

Result<json> model_roles::swap(const std::string& action, const std::string& by) {
    std::lock_guard lock(mu_);
    if (!shadow_) return {errc::conflict, "no shadow model is running: start serve with --shadow-model PATH"};
    store::model_audit_row row;
    row.action = action;
    row.by = by;
    row.from_model = active_->origin.model;
    row.from_hash = active_->origin.model_hash;
    row.to_model = shadow_->origin.model;
    row.to_hash = shadow_->origin.model_hash;
    auto done = std::make_shared<std::promise<model_swap>>();
    auto finished = done->get_future();
    const std::string promoted = row.to_hash == config_model_hash_ ? std::string() : row.to_hash;
    auto started = engines_.swap_models([done, row, promoted](const model_swap& s, store::change_set& cs) mutable {
        row.at_ms = wall_ms();
        row.engines = std::int64_t(s.engines);
        row.fresh_engines = std::int64_t(s.fresh_engines);
        // In the batch of the last shard to switch: the audit and the roles to resume are
        // committed with the snapshots that switch.
        cs.audits.push_back(row);
        cs.meta.emplace_back(promoted_model_key, promoted);
        cs.meta.emplace_back(shadow_model_key, row.from_hash);
        cs.meta.emplace_back(serving_model_key, row.to_hash);
        cs.meta.emplace_back(serving_shadow_key, row.from_hash);
        cs.meta.emplace_back("model", row.to_model);
        done->set_value(s);
    });
    if (!started) return {errc::conflict, started.detail()};
    // The workers switch after the messages queued ahead; ingest goes on meanwhile.
    if (finished.wait_for(std::chrono::seconds(30)) != std::future_status::ready)
        return {errc::unavailable, "the switch is queued behind a long backlog; it completes on its own: check GET /api/v1/models"};
    const auto result = finished.get();
    active_ = result.active;
    shadow_ = result.shadow;
    row.engines = std::int64_t(result.engines);
    row.fresh_engines = std::int64_t(result.fresh_engines);
    row.at_ms = wall_ms();
    audit_.insert(audit_.begin(), row);
    if (audit_.size() > audit_kept) audit_.pop_back();
    spdlog::warn("models: {} by {}: '{}' {} is active (was '{}' {}), {} engines switched ({} started afresh)", action, by, row.to_model,
                 row.to_hash, row.from_model, row.from_hash, result.engines, result.fresh_engines);
    return audit_json(row);
}

Result<json> model_roles::shadow_report() const {
    std::string active_hash, shadow_hash;
    json active, shadow;
    double rul_cap = 125;
    {
        std::lock_guard lock(mu_);
        if (!shadow_) return {errc::conflict, "no shadow model is running: start serve with --shadow-model PATH"};
        active_hash = active_->origin.model_hash;
        shadow_hash = shadow_->origin.model_hash;
        rul_cap = active_->model->rul_cap;
        active = model_json(*active_);
        shadow = model_json(*shadow_);
    }
    if (!durable_) return {errc::conflict, "the shadow report needs the store (durability on)"};
    auto db = store::database::open_reader(durable_->database_path());
    if (!db) return {db.error(), db.detail()};
    auto report = app::shadow_report(**db, active_hash, shadow_hash, rul_cap);
    if (!report) return report;
    (*report)["active"] = std::move(active);
    (*report)["shadow"] = std::move(shadow);
    return report;
}

std::shared_ptr<const prognostics::rul_model> model_roles::active_model() const {
    std::lock_guard lk(mu_);
    return active_->model;
}

}  // namespace turbotwin::app
