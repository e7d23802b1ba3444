#include "turbotwin/app/runtime.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <memory>
#include <algorithm>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "turbotwin/app/access.hpp"
#include "turbotwin/store/database.hpp"

#ifndef TURBOTWIN_VERSION
#define TURBOTWIN_VERSION "dev"
#endif
#ifndef TURBOTWIN_GIT_COMMIT
#define TURBOTWIN_GIT_COMMIT "unknown"
#endif

namespace turbotwin::app {

namespace {
std::optional<std::string> file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

// The config's provenance covers the sensor catalogue it names: the catalogue's plausible ranges
// decide which readings a twin applies.
std::string config_hash(const std::string& config_path, const std::string& catalogue_path) {
    auto config = file_bytes(config_path);
    auto catalogue = file_bytes(catalogue_path);
    if (!config || !catalogue) return {};
    return "sha256:" + to_hex(sha256(*config + "\n" + *catalogue));
}

// The config's optional "sensor_faults" object: thresholds of the sensor fault rules
// (twin/sensor_health.hpp), each checked against the range its rule and counters allow.
Result<bool> apply_sensor_fault_rules(const std::string& config_path, twin::twin_config& twin) {
    auto text = file_bytes(config_path);
    if (!text) return {errc::io_error, "cannot read " + config_path};
    const auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("sensor_faults")) return true;
    const auto& o = j.at("sensor_faults");
    if (!o.is_object()) return {errc::parse_error, config_path + ": sensor_faults must be an object"};
    auto& r = twin.sensor_rules;
    struct number_key {
        const char* name;
        double lo, hi;
        std::function<void(double)> set;
    };
    const number_key keys[] = {
        {"gate_sigmas", 2, 50, [&](double v) { r.gate_sigmas = v; }},
        {"jump_readings", 1, 7, [&](double v) { r.jump_readings = std::uint8_t(v); }},
        {"stuck_repeats", 2, 31, [&](double v) { r.stuck_repeats = std::uint8_t(v); }},
        {"stuck_chance", 1e-12, 0.1, [&](double v) { r.stuck_chance = v; }},
        {"dropout_readings", 1, 3, [&](double v) { r.dropout_readings = std::uint8_t(v); }},
        {"drift_cycles", 1, 7, [&](double v) { r.drift_cycles = std::uint8_t(v); }},
        {"late_drift_cycles", 1, 7, [&](double v) { r.late_drift_cycles = std::uint8_t(v); }},
        {"drift_share", 0.3, 1, [&](double v) { r.drift_share = v; }},
        {"late_drift_share", 0.3, 1, [&](double v) { r.late_drift_share = v; }},
        {"recovery_readings", 1, 7, [&](double v) { r.recovery_readings = std::uint8_t(v); }},
        {"recovery_sigmas", 0.5, 50, [&](double v) { r.recovery_sigmas = v; }},
        {"drift_recovery_sigmas", 0.5, 50, [&](double v) { r.drift_recovery_sigmas = v; }},
        {"max_isolated", 1, 21, [&](double v) { r.max_isolated = std::uint8_t(v); }},
    };
    const std::set<std::string_view> whole = {"jump_readings", "stuck_repeats", "dropout_readings", "drift_cycles", "late_drift_cycles",
                                              "recovery_readings", "max_isolated"};
    for (auto item = o.begin(); item != o.end(); ++item) {
        // Named copies, not structured bindings: a lambda below captures the name (clang 14).
        const std::string name = item.key();
        const auto& value = item.value();
        if (name == "_comment") continue;
        if (name == "isolate") {
            if (!value.is_boolean()) return {errc::parse_error, config_path + ": sensor_faults.isolate must be true or false"};
            twin.isolate_sensor_faults = value.get<bool>();
            continue;
        }
        const auto* key = std::find_if(std::begin(keys), std::end(keys), [&](const number_key& k) { return name == k.name; });
        if (key == std::end(keys)) return {errc::parse_error, config_path + ": sensor_faults." + name + " is not a setting (docs/trust.md)"};
        const bool integral = whole.count(key->name) > 0;
        if (!value.is_number() || (integral && !value.is_number_integer()) || value.get<double>() < key->lo || value.get<double>() > key->hi)
            return {errc::parse_error, config_path + ": sensor_faults." + name + " must be " + (integral ? "a whole number" : "a number") +
                                           " in " + round_trip(key->lo) + ".." + round_trip(key->hi)};
        key->set(value.get<double>());
    }
    return true;
}
}  // namespace

std::string file_hash(const std::string& path) {
    auto bytes = file_bytes(path);
    return bytes ? "sha256:" + to_hex(sha256(*bytes)) : std::string();
}

std::string archived_path(const std::string& data_dir, const std::string& kind, const std::string& hash) {
    constexpr std::string_view prefix = "sha256:";
    const std::string hex = hash.rfind(prefix, 0) == 0 ? hash.substr(prefix.size()) : hash;
    return (std::filesystem::path(data_dir) / kind / (hex + ".json")).string();
}

Result<bool> archive_inputs(const runtime& rt, const std::string& data_dir) {
    namespace fs = std::filesystem;
    auto keep = [&](const std::string& kind, const std::string& source, const std::string& hash) -> Result<bool> {
        if (hash.empty() || source.empty()) return true;
        const fs::path target = archived_path(data_dir, kind, hash);
        std::error_code ec;
        if (fs::exists(target, ec)) return true;
        fs::create_directories(target.parent_path(), ec);
        // Copy then rename: a crash never leaves a half-written file under its hash.
        const fs::path partial = target.string() + ".partial";
        if (!ec) fs::copy_file(source, partial, fs::copy_options::overwrite_existing, ec);
        if (!ec) fs::rename(partial, target, ec);
        if (ec) return {errc::io_error, "cannot keep a copy of " + source + " in " + target.string() + ": " + ec.message()};
        return true;
    };
    if (auto r = keep("models", rt.config.model_path, rt.twin.origin.model_hash); !r) return r;
    if (rt.shadow)
        if (auto r = keep("models", rt.shadow_model_path, rt.shadow->origin.model_hash); !r) return r;
    if (auto r = keep("catalogues", rt.config.catalogue_path, rt.twin.origin.config_hash); !r) return r;
    return keep("configs", rt.config_path, rt.twin.origin.config_hash);
}

std::string code_version() { return std::string(TURBOTWIN_VERSION) + "+" + TURBOTWIN_GIT_COMMIT; }

Result<runtime> load_runtime(const std::string& config_path, const std::string& model_override, const std::string& catalogue_override) {
    auto cfg = codec::load_config(config_path);
    if (!cfg) return {cfg.error(), cfg.detail()};
    runtime rt;
    rt.config = std::move(*cfg);
    if (!model_override.empty()) rt.config.model_path = model_override;
    if (!catalogue_override.empty()) rt.config.catalogue_path = catalogue_override;
    auto cat = codec::load_catalogue(rt.config.catalogue_path);
    if (!cat) return {cat.error(), cat.detail()};
    auto model = prognostics::load_model(rt.config.model_path);
    if (!model) return {model.error(), model.detail()};
    rt.twin.model = std::make_shared<const prognostics::rul_model>(std::move(*model));
    rt.twin.catalogue = std::make_shared<const sensor_catalogue>(std::move(*cat));
    rt.twin.alert_thresholds = rt.config.alerts;
    if (auto rules = apply_sensor_fault_rules(config_path, rt.twin); !rules) return {rules.error(), rules.detail()};
    rt.config_path = config_path;
    rt.twin.origin = {rt.twin.model->name, file_hash(rt.config.model_path), config_hash(config_path, rt.config.catalogue_path), code_version()};
    rt.config_model_hash = rt.twin.origin.model_hash;
    return rt;
}

Result<bool> load_shadow(runtime& rt, const std::string& model_path) {
    auto model = prognostics::load_model(model_path);
    if (!model) return {model.error(), "shadow model: " + model.detail()};
    const auto& active = *rt.twin.model;
    bool same_channels = model->channels.size() == active.channels.size();
    for (std::size_t i = 0; same_channels && i < active.channels.size(); ++i) same_channels = model->channels[i].name == active.channels[i].name;
    if (!same_channels)
        return {errc::invalid_argument, "shadow model " + model_path + " filters other sensors than the active model '" + active.name +
                                            "': a candidate must filter the same ones (REST and the history name them)"};
    twin::twin_config c = rt.twin;
    c.origin.model = model->name;
    c.origin.model_hash = file_hash(model_path);
    c.model = std::make_shared<const prognostics::rul_model>(std::move(*model));
    rt.shadow = std::move(c);
    rt.shadow_model_path = model_path;
    return true;
}

Result<bool> resume_model_roles(runtime& rt, const std::string& data_dir, const std::string& shadow_model_path) {
    namespace fs = std::filesystem;
    std::optional<std::string> active_hash, shadow_hash;
    const auto db_path = (fs::path(data_dir) / "turbotwin.db").string();
    if (fs::exists(db_path)) {
        auto db = store::database::open_reader(db_path);
        if (!db) return {db.error(), db.detail()};
        auto a = (*db)->meta(promoted_model_key);
        auto s = (*db)->meta(shadow_model_key);
        // A file from before model roles were kept has no such table row, or no meta at all.
        if (a && *a && !(*a)->empty()) active_hash = **a;
        if (s && *s && !(*s)->empty()) shadow_hash = **s;
    }
    if (active_hash && *active_hash != rt.twin.origin.model_hash) {
        const auto kept = archived_path(data_dir, "models", *active_hash);
        auto model = prognostics::load_model(kept);
        if (!model)
            return {model.error(), "the data dir's active model " + *active_hash + " (promoted) cannot be loaded from " + kept + ": " +
                                       model.detail()};
        spdlog::warn("model '{}' {} is active: it was promoted in {} (the config names {}); POST /api/v1/models/rollback to go back",
                     model->name, *active_hash, data_dir, rt.twin.origin.model_hash);
        rt.twin.origin.model = model->name;
        rt.twin.origin.model_hash = *active_hash;
        rt.twin.model = std::make_shared<const prognostics::rul_model>(std::move(*model));
        rt.config.model_path = kept;
    }
    if (!shadow_model_path.empty()) return load_shadow(rt, shadow_model_path);
    if (shadow_hash && *shadow_hash != rt.twin.origin.model_hash) {
        const auto kept = archived_path(data_dir, "models", *shadow_hash);
        if (fs::exists(kept)) {
            if (auto r = load_shadow(rt, kept); !r) return r;
            spdlog::info("shadow model '{}' {} resumed from {}", rt.shadow->model->name, *shadow_hash, data_dir);
        }
    }
    return true;
}

std::string round_trip(double v) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("nan");
}

}  // namespace turbotwin::app
