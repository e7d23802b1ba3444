#include "turbotwin/app/explain.hpp"

#include <algorithm>
#include <filesystem>

#include "turbotwin/app/history_rerun.hpp"
#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/twin/state_record.hpp"

namespace turbotwin::app {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
void compare(const json& a, const json& b, const std::string& path, std::vector<state_difference>& out, std::size_t& compared) {
    if (a.is_object() && b.is_object()) {
        for (const auto& [key, value] : a.items()) {
            if (b.contains(key)) compare(value, b.at(key), path + "/" + key, out, compared);
            else out.push_back({path + "/" + key, value, nullptr});
        }
        for (const auto& [key, value] : b.items())
            if (!a.contains(key)) out.push_back({path + "/" + key, nullptr, value});
        return;
    }
    if (a.is_array() && b.is_array()) {
        for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i)
            compare(i < a.size() ? a[i] : json(nullptr), i < b.size() ? b[i] : json(nullptr), path + "/" + std::to_string(i), out, compared);
        return;
    }
    ++compared;
    if (a != b) out.push_back({path.empty() ? "/" : path, a, b});
}
}  // namespace

std::vector<state_difference> compare_states(const json& stored, const json& recomputed, std::size_t& values_compared) {
    std::vector<state_difference> out;
    values_compared = 0;
    compare(stored, recomputed, "", out, values_compared);
    return out;
}

Result<explanation> explain_alert(const std::string& data_dir, const std::string& alert_id, const explain_options& options) {
    const auto db_path = (fs::path(data_dir) / "turbotwin.db").string();
    if (!fs::exists(db_path)) return {errc::not_found, "no turbotwin.db in " + data_dir + " (the folder `serve --data-dir` wrote)"};
    auto db = store::database::open_reader(db_path);
    if (!db) return {db.error(), db.detail()};
    auto changes = (*db)->alert_changes(alert_id);
    if (!changes) return {changes.error(), changes.detail()};
    const auto raised = std::find_if(changes->begin(), changes->end(), [](const alerting::alert& a) { return a.state == alerting::alert_state::active; });
    if (raised == changes->end()) return {errc::not_found, "no alert " + alert_id + " in " + db_path};

    explanation x;
    x.alert = *raised;
    if (x.alert.fired_state) {
        x.stored = json::parse(x.alert.fired_state->get(), nullptr, false);
        if (x.stored.is_discarded()) x.stored = nullptr;
    }

    // The files the alert names, from the data dir's archive; else the fallbacks.
    auto pick = [&](const std::string& kind, const std::string& hash, const std::string& fallback, bool& archived) {
        const auto kept = archived_path(data_dir, kind, hash);
        archived = !hash.empty() && fs::exists(kept);
        return archived ? kept : fallback;
    };
    x.model_file = pick("models", x.alert.model_hash, options.fallback_model, x.model_archived);
    x.config_file = pick("configs", x.alert.config_hash, options.fallback_config, x.config_archived);
    // An archived config's relative paths point nowhere: its catalogue was archived beside it.
    bool catalogue_archived = false;
    const auto catalogue = x.config_archived ? pick("catalogues", x.alert.config_hash, "", catalogue_archived) : std::string();
    auto rt = load_runtime(x.config_file, x.model_file, catalogue);
    if (!rt) return {rt.error(), "loading the model and config to re-run with: " + rt.detail()};
    const auto& origin = rt->twin.origin;
    if (origin.model_hash != x.alert.model_hash) {
        x.same_inputs = false;
        x.provenance_notes.push_back("model: the alert was raised by " + x.alert.model + " " + x.alert.model_hash + ", the re-run uses " +
                                     origin.model + " " + origin.model_hash + " (" + x.model_file + ")");
    }
    if (origin.config_hash != x.alert.config_hash) {
        x.same_inputs = false;
        x.provenance_notes.push_back("config: the alert was raised with " + x.alert.config_hash + ", the re-run uses " + origin.config_hash +
                                     " (" + x.config_file + ")");
    }
    if (origin.code_version != x.alert.code_version)
        x.provenance_notes.push_back("code: the alert was raised by " + x.alert.code_version + ", this is " + origin.code_version);

    // The change that raised it was made at `cycle` (a sensor fault's raised_cycle is when the
    // probe's fault began, some readings before it was judged).
    const std::int64_t fired_at = x.alert.cycle;
    // Events at the firing cycle came after the reading that fired it: not part of the state then.
    auto rebuilt = rebuild_twin(**db, x.alert.asset, fired_at, rt->twin, &x.readings_missing, /*events_at_upto=*/false);
    if (!rebuilt) return {rebuilt.error(), rebuilt.detail()};
    auto& [tw, rerun] = *rebuilt;
    x.readings = rerun.readings + rerun.refused;
    x.events = rerun.events;
    const auto& last = rerun.last;
    if (!last || last->cycle != fired_at)
        return {errc::not_found, "the store has no reading of " + x.alert.asset + " at cycle " + std::to_string(fired_at) +
                                     " (the alert's cycle) to re-run up to"};

    if (x.alert.type == alerting::alert_type::rul) {
        x.raised_again = last->alerts.raised && last->alerts.raised->id == x.alert.id && last->alerts.raised->level == x.alert.level;
    } else {
        x.raised_again = std::any_of(last->sensor_changes.begin(), last->sensor_changes.end(), [&](const twin::sensor_report& c) {
            return c.status == twin::sensor_status::failed && c.sensor == x.alert.sensor && twin::to_string(c.reason) == x.alert.reason;
        });
    }
    // Through text and back, as the stored state went: both sides then hold the same JSON types.
    x.recomputed = json::parse(state_json(twin::record_state(tw)).dump());
    if (!x.stored.is_null()) x.differences = compare_states(x.stored, x.recomputed, x.values_compared);
    return x;
}

}  // namespace turbotwin::app
