#include <algorithm>
#include <cstdint>
#include <tuple>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "turbotwin/app/rest_api.hpp"

#ifndef TURBOTWIN_VERSION
#define TURBOTWIN_VERSION "dev"
#endif

namespace turbotwin::app {

// The OpenAPI 3.0 document of the REST API, served at GET /api/v1/openapi.json.
//
// Built with small helpers rather than kept as one JSON literal: every read shares the same
// ETag/304/401 answers and every object schema lists its keys once (required and closed follow
// from the list), so a new field or route is one line and cannot get half-documented.
// tests/integration/test_openapi.py calls every route documented here against the real server
// and validates each answer against its schema; json_out.cpp and rest_api.cpp are the sources
// of truth this follows. Objects are closed (additionalProperties: false) where we mean it:
// a field the server adds without documenting it fails that test.

namespace {

using oj = nlohmann::ordered_json;  // keeps keys in the order written: a readable document

oj schema_ref(std::string_view name) { return {{"$ref", "#/components/schemas/" + std::string(name)}}; }
oj response_ref(std::string_view name) { return {{"$ref", "#/components/responses/" + std::string(name)}}; }
oj parameter_ref(std::string_view name) { return {{"$ref", "#/components/parameters/" + std::string(name)}}; }

oj typed(const char* type, const char* description = nullptr) {
    oj s = {{"type", type}};
    if (description) s["description"] = description;
    return s;
}
oj nullable(oj s) {
    s["nullable"] = true;
    return s;
}
// OpenAPI 3.0 ignores siblings of $ref, so a nullable reference wraps it in allOf.
oj nullable_ref(std::string_view name, const char* description) {
    return {{"description", description}, {"nullable", true}, {"allOf", oj::array({schema_ref(name)})}};
}
oj enum_of(std::vector<std::string> values, const char* description = nullptr) {
    oj s = {{"type", "string"}, {"enum", std::move(values)}};
    if (description) s["description"] = description;
    return s;
}
oj array_of(oj items) { return {{"type", "array"}, {"items", std::move(items)}}; }
oj array_of(oj items, const char* description) {
    oj a = array_of(std::move(items));
    a["description"] = description;
    return a;
}
oj map_of(oj values, const char* description) {
    return {{"type", "object"}, {"description", description}, {"additionalProperties", std::move(values)}};
}

using fields = std::vector<std::pair<std::string, oj>>;

// A closed object: every listed key present unless named in `optional`, no other key allowed.
oj object(const fields& props, std::vector<std::string> optional = {}, const char* description = nullptr) {
    oj s = {{"type", "object"}};
    if (description) s["description"] = description;
    oj required = oj::array();
    oj properties = oj::object();
    for (const auto& [name, schema] : props) {
        properties[name] = schema;
        if (std::find(optional.begin(), optional.end(), name) == optional.end()) required.push_back(name);
    }
    if (!required.empty()) s["required"] = std::move(required);
    s["properties"] = std::move(properties);
    s["additionalProperties"] = false;
    return s;
}

// An object that may grow: the listed keys are documented, others may appear.
oj open_object(const fields& props, std::vector<std::string> optional = {}, const char* description = nullptr) {
    oj s = object(props, std::move(optional), description);
    s.erase("additionalProperties");
    return s;
}

const char* const asset_id_pattern = "^[A-Za-z0-9._-]{1,64}$";

fields asset_fields() {
    return {
        {"id", {{"type", "string"}, {"pattern", asset_id_pattern}, {"example", "ENG-001"}}},
        {"last_cycle", {{"type", "integer"}, {"minimum", 0}, {"description", "last cycle applied"}}},
        {"rul", typed("number", "remaining useful life, cycles (point estimate)")},
        {"rul_lo", typed("number", "lower end of the 90% interval, cycles")},
        {"rul_hi", typed("number", "upper end of the 90% interval, cycles")},
        {"severity", enum_of({"normal", "warning", "critical"})},
        {"confidence", enum_of({"high", "low"}, "low: the engine left the training fleet's degradation path, or the "
                                                "readings stopped matching the filter (intervals are widened)")},
        {"confidence_reason", nullable(typed("string", "why confidence is low; null when high"))},
        {"risk", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"description", "P(failure within the critical horizon)"}}},
        {"risk_rul", typed("number", "the alerting quantile of the RUL distribution, cycles")},
        {"novelty", nullable(typed("number", "novelty score; null before the engine's baseline is known"))},
        {"readings", {{"type", "integer"}, {"minimum", 0}, {"description", "readings applied"}}},
        {"active_alert", nullable(typed("string", "id of the alert in force, if any"))},
        {"fault", nullable(typed("string", "numerical fault of the twin, if any"))},
        {"updated_ms", typed("integer", "server wall clock of the last update, ms since the Unix epoch")},
        {"life_start_cycle", {{"type", "integer"}, {"minimum", 0}, {"description", "cycle of the last maintenance event; 0 in the first life"}}},
        {"closed", nullable(object({{"type", enum_of({"failure", "removal"})}, {"cycle", typed("integer")}}, {},
                                   "recorded failure or removal: telemetry is refused until a maintenance event"))},
    };
}

oj schemas() {
    oj s = oj::object();
    s["Error"] = object({{"error", object({{"code", {{"type", "string"}, {"example", "not_found"}}},
                                           {"message", typed("string", "for people; may change")}})}},
                        {}, "Every error answer: a stable machine code and a message.");
    s["Health"] = object({{"status", enum_of({"ok"})}, {"version", typed("string", "server version")}});
    s["Readiness"] = object({{"ready", typed("boolean", "broker connected, store taking commits, start-up recovery done")},
                             {"recovering", typed("boolean", "journal entries from before the restart are still being re-applied")},
                             {"broker_connected", typed("boolean")},
                             {"model_loaded", typed("boolean")},
                             {"model", typed("string", "model name")},
                             {"store", enum_of({"disabled", "open", "failing"}, "durable state: disabled (durability.enabled false), "
                                                                                "open, or failing to commit")}});
    s["Asset"] = object(asset_fields(), {}, "One engine's latest state (listings).");
    s["ModelInfo"] = object({{"model", typed("string", "model name")},
                             {"model_hash", typed("string", "sha256:<hex> of the model file")},
                             {"trees", typed("integer", "boosted trees")},
                             {"trained_on", typed("string", "what it was trained on")}});
    s["ModelChange"] = object({{"action", enum_of({"promote", "rollback"})},
                               {"by", typed("string", "name of the operator token")},
                               {"at_ms", typed("integer", "ms since the Unix epoch")},
                               {"from", object({{"model", typed("string")}, {"model_hash", typed("string")}})},
                               {"to", object({{"model", typed("string")}, {"model_hash", typed("string")}})},
                               {"engines", typed("integer", "engines switched")},
                               {"fresh_engines", typed("integer", "of which the candidate had no state (they start afresh)")}});
    s["Models"] = object({{"active", schema_ref("ModelInfo")},
                          {"shadow", nullable_ref("ModelInfo", "the candidate run beside the active model (serve --shadow-model); null: none")},
                          {"rollback_available", typed("boolean", "the last change was a promotion from the model now in shadow")},
                          {"audit", array_of(schema_ref("ModelChange"), "promotions and rollbacks, newest first (at most 50)")}});
    s["ShadowReport"] = open_object(
        {{"active", schema_ref("ModelInfo")},
         {"shadow", schema_ref("ModelInfo")},
         {"engines", typed("integer", "engines both models estimated in these roles")},
         {"readings", typed("integer")},
         {"disagreement", open_object({}, {}, "shadow - active RUL in cycles: mean_abs, p90_abs, max_abs, mean_shadow_minus_active")},
         {"alerts", open_object({}, {}, "per severity (warning, critical): engines where the shadow's first alert came earlier, later, "
                                        "the same, only_active, only_shadow, neither; mean_lead_cycles (positive: the shadow earlier)")},
         {"ground_truth", open_object({}, {}, "engines with a recorded failure or removal: both models' RMSE against the true RUL "
                                              "(capped at rul_cap), overall and per_engine")},
         {"per_engine", array_of(open_object({}, {}, "asset, readings, mean_abs_difference, max_abs_difference, "
                                                     "mean_shadow_minus_active, alerts {warning, critical: active_first, shadow_first, verdict}"))}});
    s["Provenance"] = object({{"model", typed("string", "model name")},
                              {"model_hash", typed("string", "sha256:<hex> of the model file")},
                              {"config_hash", typed("string", "sha256:<hex> of the config file")},
                              {"code_version", typed("string", "turbotwin version + the git commit it was built from")}},
                             {}, "What produced it. Empty strings in alerts stored before provenance was recorded.");
    s["SensorFault"] = object({{"sensor", typed("string", "sensor name")},
                               {"status", enum_of({"suspect", "failed"}, "failed: excluded from the state and the prediction "
                                                                       "(imputed from the other sensors) until it reads plausibly again")},
                               {"reason", enum_of({"spike", "jump", "stuck", "dropout", "drift"})},
                               {"since", typed("integer", "cycle at which this status began")}},
                              {}, "A sensor judged not ok (docs/trust.md).");
    s["SensorState"] = object({{"health", enum_of({"ok", "suspect", "failed"}, "the probe's health; details in sensor_faults")},
                               {"level", typed("number", "filtered level")},
                               {"level_std", typed("number", "its standard deviation")},
                               {"slope", typed("number", "trend, units per cycle")},
                               {"slope_std", typed("number", "its standard deviation")}});
    auto detail = asset_fields();
    detail.emplace_back("sensors", map_of(schema_ref("SensorState"), "the filtered state of each informative sensor, by name"));
    detail.emplace_back("sensor_faults", array_of(schema_ref("SensorFault"), "the sensors not ok; empty for a healthy engine"));
    s["AssetDetail"] = object(detail, {}, "One engine with its filtered sensors.");
    s["AssetPage"] = object({{"items", array_of(schema_ref("Asset"))},
                             {"next_cursor", nullable(typed("string", "pass back as cursor for the next page; null on the last"))}});
    s["Alert"] = object(
        {{"id", {{"type", "string"}, {"description", "<asset>-<n> (rul) or <asset>-<sensor>-<cycle it failed at> (sensor_fault)"}, {"example", "ENG-001-1"}}},
         {"asset", {{"type", "string"}, {"pattern", asset_id_pattern}}},
         {"type", enum_of({"rul", "sensor_fault"}, "sensor_fault: a probe judged failed (docs/trust.md); it clears when the probe "
                                                   "reads plausibly again or at a maintenance event, and never sets the engine's severity")},
         {"sensor", nullable(typed("string", "sensor_fault: the probe; null for rul"))},
         {"reason", nullable(typed("string", "sensor_fault: stuck, dropout, drift or jump; null for rul"))},
         {"severity", enum_of({"warning", "critical"})},
         {"state", enum_of({"active", "acknowledged", "cleared"})},
         {"cycle", typed("integer", "cycle of the latest change")},
         {"raised_cycle", typed("integer")},
         {"cleared_cycle", nullable(typed("integer"))},
         {"rul", typed("number")},
         {"rul_lo", typed("number")},
         {"rul_hi", typed("number")},
         {"risk_rul", typed("number", "the RUL quantile the thresholds apply to")},
         {"acknowledged", nullable(object({{"by", typed("string", "name of the operator token")},
                                           {"at_ms", typed("integer", "ms since the Unix epoch")},
                                           {"comment", typed("string")}}))},
         {"provenance", schema_ref("Provenance")},
         {"twin_state",
          nullable(open_object(
              {{"cycle", typed("integer", "the cycle the alert fired at")},
               {"life_start", typed("integer", "cycle the engine's current life began")},
               {"estimate", open_object({}, {}, "rul, rul_lo, rul_hi, raw, widening, risk_rul, risk, severity, confidence, "
                                                "confidence_reason, novelty, innovation_ratio")},
               {"channels", array_of(open_object({}, {}, "sensor, level, level_std, slope, slope_std, baseline, health {status, reason, since}"))},
               {"contributions", nullable(open_object({}, {}, "method (tree_shap), bias, top_features [{feature, value, contribution}], "
                                                              "by_sensor [{sensor, contribution}]; cycles of RUL"))}},
              {}, "GET /api/v1/alerts/{id} only: the twin the moment the alert fired (`turbotwin explain` reproduces it); null "
                  "for alerts stored before it was kept"))}},
        {"twin_state"}, "An alert and its lifecycle; also the data of an `alert` stream event and of turbotwin/v1/alerts/{asset}.");
    s["AlertPage"] = object({{"items", array_of(schema_ref("Alert"))},
                             {"next_cursor", nullable(typed("string", "pass back as cursor for the next page; null on the last"))}});
    s["Fleet"] = object(
        {{"assets", typed("integer", "engines with a twin")},
         {"by_severity", object({{"normal", typed("integer")}, {"warning", typed("integer")}, {"critical", typed("integer")}})},
         {"by_confidence", object({{"high", typed("integer")}, {"low", typed("integer")}})},
         {"alerts", object({{"active", typed("integer")}, {"acknowledged", typed("integer")}, {"cleared", typed("integer")}})},
         {"most_at_risk", array_of(schema_ref("Asset"))},
         {"ingest", object({{"broker_connected", typed("boolean")},
                            {"messages_received", typed("integer")},
                            {"readings_applied", typed("integer")},
                            {"rejected", typed("integer")},
                            {"backlog", typed("integer", "telemetry messages queued for the workers")}})},
         {"model", typed("string")}},
        {}, "Fleet summary: counts, the 10 engines most at risk, ingest status.");
    s["HistoryPoint"] = object({{"cycle", typed("integer")},
                                {"rul", typed("number")},
                                {"rul_lo", typed("number")},
                                {"rul_hi", typed("number")},
                                {"severity", enum_of({"normal", "warning", "critical"})},
                                {"sensors", map_of(typed("number"), "filtered levels of the sensors asked for, by name")}},
                               {"rul", "rul_lo", "rul_hi", "severity", "sensors"},
                               "One stored cycle; only the fields asked for (cycle always).");
    s["History"] = object({{"asset", typed("string")},
                           {"from_cycle", typed("integer")},
                           {"to_cycle", typed("integer")},
                           {"total_points", typed("integer", "stored cycles in the range, before downsampling")},
                           {"points", array_of(schema_ref("HistoryPoint"))}});
    s["RulUpdate"] = object({{"asset", typed("string")},
                             {"cycle", typed("integer")},
                             {"rul", typed("number")},
                             {"rul_lo", typed("number")},
                             {"rul_hi", typed("number")},
                             {"risk", typed("number", "probability of reaching the critical RUL within the alert horizon")},
                             {"risk_rul", typed("number", "the RUL quantile the alerts use")},
                             {"novelty", nullable(typed("number", "1 = edge of the training fleet; null before the engine's baseline"))},
                             {"severity", enum_of({"normal", "warning", "critical"})},
                             {"confidence", enum_of({"high", "low"})},
                             {"confidence_reason", nullable(typed("string"))},
                             {"sensor_faults", array_of(schema_ref("SensorFault"), "the sensors not ok after this reading")},
                             {"provenance", schema_ref("Provenance")},
                             {"ts", typed("integer", "the reading's timestamp, echoed when it had one")}},
                            {"ts"}, "Data of an `rul` stream event; also turbotwin/v1/engines/{id}/rul.");
    s["AckRequest"] = open_object({{"comment", {{"type", "string"}, {"maxLength", 2000}, {"description", "at most 2000 bytes of UTF-8"}}}},
                                  {"comment"});
    s["EventRequest"] = open_object({{"type", enum_of({"maintenance", "failure", "removal"})},
                                     {"cycle", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000000}, {"description", "engine cycle the event happened at"}}},
                                     {"note", {{"type", "string"}, {"maxLength", 2000}, {"description", "at most 2000 bytes of UTF-8"}}}},
                                    {"note"});
    s["AssetEvent"] = object({{"asset", typed("string")},
                              {"type", enum_of({"maintenance", "failure", "removal"})},
                              {"cycle", typed("integer")},
                              {"note", typed("string", "empty when none was given")},
                              {"by", typed("string", "name of the operator token")},
                              {"at_ms", typed("integer", "server wall clock, ms since the Unix epoch")}},
                             {}, "A recorded engine event.");
    s["EventRecorded"] = object({{"event", schema_ref("AssetEvent")},
                                 {"asset", schema_ref("Asset")},
                                 {"cleared_alert", nullable_ref("Alert", "the alert in force that the event cleared, if any")}});
    // Planning (docs/scenarios.md): planning_json.cpp writes these documents.
    const auto probability = [](const char* description) {
        return oj{{"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"description", description}};
    };
    const auto overrides = map_of(typed("number"), "per-engine cycles per day, as asked (overrides)");
    s["ForecastEngine"] = object({{"asset", typed("string")},
                                  {"cycles_per_day", typed("number", "the utilisation used for this engine")},
                                  {"rul", typed("number", "point RUL now, cycles")},
                                  {"p_critical", probability("P(RUL reaches critical_rul within the horizon), exact from the "
                                                             "engine's predictive distribution")},
                                  {"median_days_to_critical", typed("number", "days until the median RUL reaches critical_rul; 0: there already")}});
    s["ForecastWeek"] = object({{"week", {{"type", "integer"}, {"minimum", 0}, {"description", "0: the week starting now"}}},
                                {"from_day", typed("number")},
                                {"to_day", typed("number", "the last week ends at the horizon")},
                                {"removals_mean", typed("number", "expected engines reaching critical this week (Monte Carlo mean)")},
                                {"removals_lo", typed("number", "5% of the draws")},
                                {"removals_hi", typed("number", "95% of the draws")}});
    s["Forecast"] = object(
        {{"horizon_days", typed("number")},
         {"cycles_per_day", typed("number", "the fleet default")},
         {"overrides", overrides},
         {"critical_rul", typed("number", "the alerts' critical threshold: an engine is removed on reaching it")},
         {"samples", typed("integer", "Monte Carlo draws of the fleet")},
         {"seed", {{"type", "integer"}, {"minimum", 0}}},
         {"method", typed("string", "how the numbers were made, for people")},
         {"removals", object({{"mean", typed("number")}, {"lo", typed("number", "5% of the draws")}, {"hi", typed("number", "95% of the draws")}},
                             {}, "engines reaching critical within the horizon; the weeks' means add up to mean")},
         {"weeks", array_of(schema_ref("ForecastWeek"), "ceil(horizon_days / 7) weeks")},
         {"engines", array_of(schema_ref("ForecastEngine"), "every engine in service, most likely to reach critical first")}},
        {}, "Fleet forecast: per engine exactly, per week by seeded Monte Carlo (the same request gives the same numbers).");
    const auto cycles_per_day = oj{{"type", "number"}, {"minimum", 0}, {"description", "flights per day; must be > 0"}};
    const auto visit_in_days = nullable(oj{{"type", "number"}, {"minimum", 0}, {"description", "next shop visit, days from now; null: none"}});
    s["EnginePlan"] = object({{"cycles_per_day", cycles_per_day},
                              {"visit_in_days", nullable(oj{{"type", "number"}, {"minimum", 0},
                                                            {"description", "next shop visit, days from now; null or left out: the baseline's"}})}},
                             {"cycles_per_day", "visit_in_days"}, "One engine's plan; a key left out (or null) takes the baseline's.");
    s["ScenarioChange"] = object(
        {{"type", enum_of({"utilisation", "defer_visit", "swap", "fleet_plan"})},
         {"asset", {{"type", "string"}, {"description", "utilisation, defer_visit: the engine"}}},
         {"assets", array_of(typed("string"), "swap: exactly two different engines, which exchange utilisations (visits stay)")},
         {"cycles_per_day", {{"type", "number"}, {"minimum", 0}, {"description", "utilisation (required), fleet_plan: must be > 0"}}},
         {"cycles", {{"type", "number"}, {"minimum", 0}, {"description", "defer_visit: postpone by this many cycles, flown at the engine's utilisation"}}},
         {"days", {{"type", "number"}, {"minimum", 0}, {"description", "defer_visit: and/or by this many days (not both 0)"}}},
         {"visit_in_days", {{"type", "number"}, {"minimum", 0}, {"description", "fleet_plan: every engine's visit"}}}},
        {"asset", "assets", "cycles_per_day", "cycles", "days", "visit_in_days"},
        "One change, applied in order. Each type takes only its own keys (any other is refused by name): utilisation "
        "{asset, cycles_per_day}; defer_visit {asset, cycles and/or days} (the engine needs a planned visit); swap {assets}; "
        "fleet_plan {cycles_per_day and/or visit_in_days}.");
    s["ScenarioRequest"] = object(
        {{"baseline", object({{"cycles_per_day", {{"type", "number"}, {"minimum", 0}, {"default", 4}, {"description", "fleet default; > 0"}}},
                              {"visit_in_days", visit_in_days},
                              {"engines", map_of(schema_ref("EnginePlan"), "per-engine plans, by asset id (404 for an engine not in the fleet)")}},
                             {"cycles_per_day", "visit_in_days", "engines"}, "the plan as it stands")},
         {"changes", array_of(schema_ref("ScenarioChange"), "at most 10000")},
         {"horizon_days", {{"type", "number"}, {"minimum", 0}, {"maximum", 3650}, {"default", 180},
                           {"description", "engines without a visit are judged over this horizon; > 0"}}}},
        {"baseline", "changes", "horizon_days"}, "A what-if scenario: a baseline plan and changes to it. Unknown keys are refused (400 naming the key).");
    s["EngineRisk"] = object({{"cycles_per_day", typed("number")},
                              {"visit_in_days", nullable(typed("number", "the planned visit; null: none"))},
                              {"cycles_to_visit", typed("number", "cycles flown until the visit (or the horizon, whichever is first)")},
                              {"risk", probability("P(in-service failure before the visit) = P(RUL < cycles_to_visit)")}});
    s["ScenarioEngine"] = object({{"asset", typed("string")},
                                  {"rul", typed("number", "point RUL now, cycles")},
                                  {"changed", typed("boolean", "a change touched this engine's plan")},
                                  {"baseline", schema_ref("EngineRisk")},
                                  {"scenario", schema_ref("EngineRisk")},
                                  {"risk_change", typed("number", "scenario risk - baseline risk")}});
    s["ScenarioResult"] = object(
        {{"method", typed("string", "how the numbers were made, for people")},
         {"expected_failures", object({{"baseline", typed("number")}, {"scenario", typed("number")}, {"change", typed("number")}},
                                      {}, "expected in-service failures of the fleet (the sum of the risks)")},
         {"engines_changed", {{"type", "integer"}, {"minimum", 0}}},
         {"engines", array_of(schema_ref("ScenarioEngine"), "every engine in service, highest scenario risk first")}},
        {}, "The scenario against its baseline, computed on copies of the twins (live state is untouched).");
    s["PlannedRemoval"] = object({{"asset", typed("string")},
                                  {"week", {{"type", "integer"}, {"minimum", 0}, {"description", "removed at the start of this week (0: now)"}}},
                                  {"risk", probability("P(in-service failure before the removal)")},
                                  {"risk_if_kept", probability("P(in-service failure within the horizon) without it")}});
    s["Schedule"] = object({{"method", typed("string")},
                            {"expected_failures", typed("number", "sum over the fleet of P(in-service failure before removal, or within the horizon)")},
                            {"removal_count", {{"type", "integer"}, {"minimum", 0}}},
                            {"removals", array_of(schema_ref("PlannedRemoval"), "by week, then asset; at most capacity_per_week a week")},
                            {"kept", array_of(typed("string"), "engines not removed within the horizon")}});
    s["Plans"] = object({{"weeks", typed("integer")},
                         {"capacity_per_week", typed("integer")},
                         {"cycles_per_day", typed("number", "the fleet default")},
                         {"overrides", overrides},
                         {"min_risk_reduction", typed("number")},
                         {"threshold_rul", typed("number")},
                         {"optimal", schema_ref("Schedule")},
                         {"threshold", schema_ref("Schedule")}},
                        {}, "Two removal schedules side by side: optimal (exact min-cost assignment) and threshold (point RUL).");
    s["OpenApiDocument"] = open_object({{"openapi", typed("string")}, {"info", typed("object")}, {"paths", typed("object")}},
                                       {}, "This document.");
    return s;
}

oj error_response(const char* description, bool with_www_authenticate = false) {
    oj r = {{"description", description}};
    if (with_www_authenticate) r["headers"] = {{"WWW-Authenticate", {{"$ref", "#/components/headers/WWW-Authenticate"}}}};
    r["content"] = {{"application/json", {{"schema", schema_ref("Error")}}}};
    return r;
}

oj components() {
    oj c = oj::object();
    c["schemas"] = schemas();
    c["parameters"] = {
        {"AssetId",
         {{"name", "id"}, {"in", "path"}, {"required", true}, {"description", "asset id: 1..64 of [A-Za-z0-9._-]"},
          {"schema", {{"type", "string"}, {"pattern", asset_id_pattern}}}, {"example", "ENG-001"}}},
        {"AlertId",
         {{"name", "id"}, {"in", "path"}, {"required", true}, {"description", "alert id: <asset>-<n>"},
          {"schema", {{"type", "string"}, {"pattern", "^[A-Za-z0-9._-]+-[0-9]+$"}, {"maxLength", 64}}}, {"example", "ENG-001-1"}}},
        {"Limit",
         {{"name", "limit"}, {"in", "query"}, {"description", "page size"},
          {"schema", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}, {"default", 100}}}, {"example", 5}}},
        {"Cursor",
         {{"name", "cursor"}, {"in", "query"}, {"description", "next_cursor of the previous page (opaque)"},
          {"schema", {{"type", "string"}}}}},
        {"IfNoneMatch",
         {{"name", "If-None-Match"}, {"in", "header"}, {"description", "an ETag from an earlier answer: 304 if it still matches"},
          {"schema", {{"type", "string"}}}}},
    };
    c["headers"] = {
        {"ETag", {{"description", "weak tag over the body; send it back in If-None-Match"}, {"schema", {{"type", "string"}}}}},
        {"WWW-Authenticate", {{"description", "Bearer realm=\"turbotwin\" (with error=\"invalid_token\" for an unknown token)"},
                              {"schema", {{"type", "string"}}}}},
    };
    c["responses"] = {
        {"NotModified", {{"description", "the If-None-Match tag matches: no body"},
                         {"headers", {{"ETag", {{"$ref", "#/components/headers/ETag"}}}}}}},
        {"BadRequest", error_response("bad query, path or body (code bad_request)")},
        {"Unauthorized", error_response("no token or an unknown token (code unauthorized)", true)},
        {"Forbidden", error_response("the token's role is too weak (code forbidden)")},
        {"NotFound", error_response("unknown route, asset or alert (code not_found)")},
        {"Conflict", error_response("the change does not apply to the current state (code conflict)")},
        {"Unavailable", error_response("cannot be served now (code unavailable)")},
        {"PayloadTooLarge", error_response("body larger than http.max_body_bytes (code payload_too_large)")},
    };
    c["securitySchemes"] = {
        {"bearerAuth",
         {{"type", "http"}, {"scheme", "bearer"},
          {"description", "Tokens from TURBOTWIN_API_TOKENS (role:token,...) or http.tokens (SHA-256 hashes); roles viewer and "
                          "operator. See docs/security.md."}}},
    };
    return c;
}

enum class access { open, read, operator_ };

oj security(access a) {
    switch (a) {
        case access::open: return oj::array();
        // {} first: the token is optional unless http.require_auth_for_reads is set.
        case access::read: return oj::array({oj::object(), {{"bearerAuth", oj::array()}}});
        case access::operator_: return oj::array({{{"bearerAuth", oj::array()}}});
    }
    return oj::array();
}

oj json_body(oj schema) { return {{"application/json", {{"schema", std::move(schema)}}}}; }

// A GET: ETag on its JSON 200, 304 on If-None-Match, 401 when reads need a token.
oj get_op(const char* id, const char* tag, const char* summary, access a, oj params, oj responses, const char* description = nullptr) {
    oj op = {{"operationId", id}, {"tags", oj::array({tag})}, {"summary", summary}};
    if (description) op["description"] = description;
    // rest_api::operator() tags every JSON 200 of a GET, and nothing else.
    if (responses.contains("200") && responses["200"].contains("content") && responses["200"]["content"].contains("application/json")) {
        responses["200"]["headers"] = {{"ETag", {{"$ref", "#/components/headers/ETag"}}}};
        responses["304"] = response_ref("NotModified");
        params.push_back(parameter_ref("IfNoneMatch"));
    }
    if (!params.empty()) op["parameters"] = std::move(params);
    if (a == access::read) responses["401"] = response_ref("Unauthorized");
    op["responses"] = std::move(responses);
    op["security"] = security(a);
    return op;
}

oj ok_json(const char* description, std::string_view schema) {
    return {{"description", description}, {"content", json_body(schema_ref(schema))}};
}

oj query(const char* name, oj schema, const char* description, oj example = nullptr) {
    oj p = {{"name", name}, {"in", "query"}, {"description", description}, {"schema", std::move(schema)}};
    if (!example.is_null()) p["example"] = std::move(example);
    return p;
}

oj paths() {
    oj p = oj::object();
    p["/healthz"]["get"] = get_op("getHealth", "probes", "Liveness", access::open, oj::array(),
                                  {{"200", ok_json("the process runs", "Health")}});
    p["/readyz"]["get"] = get_op("getReadiness", "probes", "Readiness: broker connected, store healthy, recovery done", access::open, oj::array(),
                                 {{"200", ok_json("ready", "Readiness")},
                                  {"503", ok_json("not connected to the broker, the store is failing, or the journal is still being re-applied", "Readiness")}});
    p["/metrics"]["get"] = get_op(
        "getMetrics", "probes", "Prometheus metrics", access::read, oj::array(),
        {{"200", {{"description", "Prometheus text exposition 0.0.4 (no ETag)"},
                  {"content", {{"text/plain", {{"schema", {{"type", "string"}}}}}}}}}},
        "Messages received, applied and rejected by reason, published, assets, active alerts, backlog, broker connection, "
        "durable state and event streams.");
    const oj dashboard = {{"200", {{"description", "the operator dashboard: one self-contained page (no ETag)"},
                                   {"content", {{"text/html", {{"schema", {{"type", "string"}}}}}}}}}};
    p["/"]["get"] = get_op("getDashboard", "dashboard", "Operator dashboard", access::open, oj::array(), dashboard,
                           "Open to all: the page holds no data; its scripts call the API (with the token typed into it).");
    p["/index.html"]["get"] = get_op("getDashboardIndex", "dashboard", "Operator dashboard (same as /)", access::open, oj::array(), dashboard);
    p["/api/v1/openapi.json"]["get"] = get_op("getOpenApi", "docs", "This OpenAPI document", access::open, oj::array(),
                                              {{"200", ok_json("OpenAPI 3.0 document of every route", "OpenApiDocument")}});
    p["/api/v1/fleet"]["get"] = get_op("getFleet", "assets", "Fleet summary", access::read, oj::array(),
                                       {{"200", ok_json("counts, most at risk, ingest", "Fleet")}});
    p["/api/v1/assets"]["get"] = get_op(
        "listAssets", "assets", "List engines", access::read,
        {parameter_ref("Limit"), parameter_ref("Cursor"),
         query("sort", enum_of({"id", "rul", "-risk"}), "id (default), RUL ascending, or risk descending", "-risk"),
         query("severity", enum_of({"normal", "warning", "critical"}), "only engines at this severity", "critical"),
         query("rul_lt", typed("number"), "only engines with rul below this", 80),
         query("confidence", enum_of({"high", "low"}), "only engines with this confidence", "high")},
        {{"200", ok_json("one page", "AssetPage")}, {"400", response_ref("BadRequest")}},
        "Paging is by key (sort value, then id): a page continues after the last item shown. A cursor belongs to the sort "
        "order that made it (400 otherwise).");
    p["/api/v1/assets/{id}"]["get"] = get_op("getAsset", "assets", "One engine", access::read, oj::array({parameter_ref("AssetId")}),
                                             {{"200", ok_json("the engine and its filtered sensors", "AssetDetail")},
                                              {"400", response_ref("BadRequest")},
                                              {"404", response_ref("NotFound")}});
    p["/api/v1/assets/{id}/history"]["get"] = get_op(
        "getAssetHistory", "assets", "An engine's stored RUL and sensor history", access::read,
        {parameter_ref("AssetId"),
         query("from_cycle", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000000}, {"default", 1}}, "first cycle", 1),
         query("to_cycle", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000000}, {"default", 1000000}}, "last cycle", 1000000),
         query("max_points", {{"type", "integer"}, {"minimum", 2}, {"maximum", 10000}, {"default", 500}},
               "downsample to this many points, evenly spread, first and last kept", 50),
         query("fields", typed("string"), "comma list of rul, rul_lo, rul_hi, severity and sensor names (default: all)", "rul,T30")},
        {{"200", ok_json("points oldest first", "History")},
         {"400", response_ref("BadRequest")},
         {"404", response_ref("NotFound")},
         {"503", response_ref("Unavailable")}},
        "503 when the server keeps no durable state (durability.enabled false) or the store cannot be read.");
    p["/api/v1/assets/{id}/events"]["post"] = {
        {"operationId", "recordAssetEvent"},
        {"tags", oj::array({"assets"})},
        {"summary", "Record an engine event: maintenance, failure or removal (operator)"},
        {"description", "Needs an operator token. Journaled and applied by the engine's worker in order with its readings. "
                        "maintenance: a fresh life starts at `cycle` (filters and estimate reset; the next reading must come "
                        "after it). failure, removal: the twin is closed and its telemetry refused until a maintenance event. "
                        "Either way an alert in force clears at `cycle`. 409 when `cycle` is before the last reading or the "
                        "event is already recorded."},
        {"x-required-role", "operator"},
        {"parameters", oj::array({parameter_ref("AssetId")})},
        {"requestBody", {{"required", true}, {"content", json_body(schema_ref("EventRequest"))}}},
        {"responses",
         {{"201", ok_json("recorded", "EventRecorded")},
          {"400", response_ref("BadRequest")},
          {"401", response_ref("Unauthorized")},
          {"403", response_ref("Forbidden")},
          {"404", response_ref("NotFound")},
          {"409", response_ref("Conflict")},
          {"413", response_ref("PayloadTooLarge")},
          {"503", response_ref("Unavailable")}}},
        {"security", security(access::operator_)},
    };
    p["/api/v1/alerts"]["get"] = get_op(
        "listAlerts", "alerts", "List alerts, newest first", access::read,
        {parameter_ref("Limit"), parameter_ref("Cursor"),
         query("state", enum_of({"active", "acknowledged", "cleared"}), "only alerts in this state", "active"),
         query("severity", enum_of({"warning", "critical"}), "only alerts of this severity", "critical"),
         query("asset", {{"type", "string"}, {"pattern", asset_id_pattern}}, "only this engine's alerts", "ENG-001"),
         query("type", enum_of({"rul", "sensor_fault"}), "only RUL alerts, or only sensor fault alerts", "sensor_fault")},
        {{"200", ok_json("one page", "AlertPage")}, {"400", response_ref("BadRequest")}});
    p["/api/v1/alerts/{id}"]["get"] = get_op("getAlert", "alerts", "One alert", access::read, oj::array({parameter_ref("AlertId")}),
                                             {{"200", ok_json("the alert", "Alert")},
                                              {"400", response_ref("BadRequest")},
                                              {"404", response_ref("NotFound")}});
    p["/api/v1/alerts/{id}/ack"]["post"] = {
        {"operationId", "acknowledgeAlert"},
        {"tags", oj::array({"alerts"})},
        {"summary", "Acknowledge an active alert (operator)"},
        {"description", "Needs an operator token. Journaled, applied by the engine's worker, stored and published on MQTT "
                        "before the answer. 409 when the alert is not active (already acknowledged, or cleared). "
                        "RUL alerts only: a sensor_fault alert clears itself when its probe recovers (404)."},
        {"x-required-role", "operator"},
        {"parameters", oj::array({parameter_ref("AlertId")})},
        {"requestBody", {{"required", false}, {"content", json_body(schema_ref("AckRequest"))}}},
        {"responses",
         {{"200", ok_json("the alert, now acknowledged", "Alert")},
          {"400", response_ref("BadRequest")},
          {"401", response_ref("Unauthorized")},
          {"403", response_ref("Forbidden")},
          {"404", response_ref("NotFound")},
          {"409", response_ref("Conflict")},
          {"413", response_ref("PayloadTooLarge")},
          {"503", response_ref("Unavailable")}}},
        {"security", security(access::operator_)},
    };
    p["/api/v1/models"]["get"] = get_op("getModels", "models", "The active model, its shadow and the promotion audit", access::read,
                                        oj::array(), {{"200", ok_json("the models", "Models")}});
    p["/api/v1/models/shadow/report"]["get"] = get_op(
        "getShadowReport", "models", "How the shadow (candidate) model compares with the active one", access::read, oj::array(),
        {{"200", ok_json("the comparison over every reading both estimated while in these roles", "ShadowReport")},
         {"409", response_ref("Conflict")}},
        "409 when no shadow model runs. 404 when the server runs without its store (durability off).");
    for (const auto& [route, id, summary, description] :
         {std::tuple{"/api/v1/models/promote", "promoteModel", "Make the shadow model the active one (operator)",
                     "Needs an operator token. Each worker switches at its place in its stream, without a restart and without "
                     "losing a message: every engine's candidate twin (which has run on the same readings) becomes the live one "
                     "and takes over its alert state; the previous model keeps running as the shadow, for a rollback. Audited "
                     "(who, when, which hashes) in the store, shown on the dashboard, and kept across restarts. 409 without a shadow."},
          std::tuple{"/api/v1/models/rollback", "rollbackModel", "Undo the last promotion (operator)",
                     "Needs an operator token. The same switch back. 409 when the last change was not a promotion from the model "
                     "now in shadow."}}) {
        p[route]["post"] = {{"operationId", id},
                            {"tags", oj::array({"models"})},
                            {"summary", summary},
                            {"description", description},
                            {"x-required-role", "operator"},
                            {"responses",
                             {{"200", ok_json("the change, as audited", "ModelChange")},
                              {"401", response_ref("Unauthorized")},
                              {"403", response_ref("Forbidden")},
                              {"409", response_ref("Conflict")},
                              {"503", response_ref("Unavailable")}}},
                            {"security", security(access::operator_)}};
    }
    // Planning (docs/scenarios.md): all on copies of the twins' predictive RUL distributions.
    const oj days_param = query("days", {{"type", "number"}, {"minimum", 1}, {"maximum", 3650}, {"default", 90}}, "horizon, days", 90);
    const auto rate_param = [&] {
        return query("cycles_per_day", {{"type", "number"}, {"minimum", 0.01}, {"maximum", 1000}, {"default", 4}},
                     "utilisation of every engine without an override, flights per day", 4);
    };
    const auto overrides_param = [&] {
        return query("overrides", typed("string"),
                     "per-engine cycles per day, ASSET:RATE,...; an engine not in the fleet is 404", "ENG-001:6");
    };
    p["/api/v1/fleet/forecast"]["get"] = get_op(
        "getFleetForecast", "planning", "Removal forecast: per engine P(reaching critical), fleet removals per week", access::read,
        {days_param, rate_param(), overrides_param(),
         query("samples", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20000}, {"default", 2000}}, "Monte Carlo draws", 500),
         query("seed", {{"type", "integer"}, {"minimum", 0}, {"maximum", std::uint64_t(-1)}, {"default", 1}},
               "random seed: the same seed, fleet and parameters give the same numbers", 7),
         query("format", enum_of({"json", "csv"}), "json (default) or csv"),
         query("table", enum_of({"engines", "weeks"}), "format=csv: one row per engine (default) or per week")},
        {{"200", {{"description", "the forecast"},
                  {"content", {{"application/json", {{"schema", schema_ref("Forecast")}}},
                               {"text/csv", {{"schema", {{"type", "string"}, {"description",
                                                          "header line, then one row per engine (asset,cycles_per_day,rul,p_critical,"
                                                          "median_days_to_critical) or per week (week,from_day,to_day,removals_mean,"
                                                          "removals_lo,removals_hi)"}}}}}}}}},
         {"400", response_ref("BadRequest")},
         {"404", response_ref("NotFound")}},
        "Per engine P(RUL <= critical_rul + days x cycles_per_day), exact from its predictive distribution; per week the expected "
        "removals and the 5-95% interval over seeded Monte Carlo draws of the whole fleet (an engine already critical counts in "
        "week 0). Engines in service with at least one reading in their current life. 404: an override names an engine not in the "
        "fleet, or the server runs without planning.");
    // rest_api tags JSON answers only: the CSV comes without an ETag.
    p["/api/v1/fleet/forecast"]["get"]["responses"]["200"]["headers"]["ETag"] = {
        {"description", "weak tag over the body; JSON answers only (none with format=csv)"}, {"schema", {{"type", "string"}}}};
    p["/api/v1/scenarios"]["post"] = {
        {"operationId", "runScenario"},
        {"tags", oj::array({"planning"})},
        {"summary", "What-if: risk of in-service failure before each engine's visit, baseline against scenario"},
        {"description", "Any reader may ask (a viewer token when reads need one): it runs on copies of the twins and never changes "
                        "live state. Changes apply in order to the baseline plan; risk = P(RUL < cycles to the planned visit, or "
                        "to horizon_days without one). 400 names the bad key or change; 404 names an engine not in the fleet."},
        {"x-required-role", "viewer"},
        {"requestBody", {{"required", true}, {"content", json_body(schema_ref("ScenarioRequest"))}}},
        {"responses",
         {{"200", ok_json("both plans' risks per engine and the fleet's expected failures (no ETag: a POST)", "ScenarioResult")},
          {"400", response_ref("BadRequest")},
          {"401", response_ref("Unauthorized")},
          {"404", response_ref("NotFound")},
          {"413", response_ref("PayloadTooLarge")}}},
        {"security", security(access::read)},
    };
    p["/api/v1/fleet/plan"]["get"] = get_op(
        "getFleetPlan", "planning", "Removal schedules within the shop's capacity: optimal and threshold", access::read,
        {query("capacity", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000}, {"default", 2}}, "removals the shop takes per week", 2),
         query("weeks", {{"type", "integer"}, {"minimum", 1}, {"maximum", 520}, {"default", 26}}, "horizon, weeks", 13),
         rate_param(), overrides_param(),
         query("min_risk_reduction", {{"type", "number"}, {"minimum", 0}, {"maximum", 0.999}, {"default", 0.01}},
               "the price of a removal: an engine takes a slot only if that lowers its risk by more", 0.01),
         query("threshold_rul", {{"type", "number"}, {"minimum", 0}, {"maximum", 10000}},
               "the threshold plan removes an engine when its point RUL reaches this (default: the critical threshold)", 20)},
        {{"200", ok_json("both schedules", "Plans")}, {"400", response_ref("BadRequest")}, {"404", response_ref("NotFound")}},
        "optimal: the exact min-cost assignment of engines to week slots (or to no removal) minimising expected in-service "
        "failures plus min_risk_reduction per removal. threshold: remove when the point RUL reaches threshold_rul, first due "
        "first, within the capacity. 404: an override names an engine not in the fleet.");
    p["/api/v1/stream"]["get"] = get_op(
        "streamEvents", "stream", "Live Server-Sent Events", access::read,
        oj::array({query("asset", {{"type", "string"}, {"pattern", asset_id_pattern}}, "only this engine's events", "ENG-001")}),
        {{"200", {{"description", "text/event-stream that stays open: `event: rul` and `event: alert` frames, each with one JSON "
                                  "line of data (schemas in x-events); `: keepalive` comments after 15 s of silence. No replay, "
                                  "no id:. A client more than 1 MiB behind is disconnected."},
                  {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}},
                  {"x-events", {{"rul", schema_ref("RulUpdate")}, {"alert", schema_ref("Alert")}}}}},
         {"400", response_ref("BadRequest")},
         {"503", response_ref("Unavailable")}},
        "503 past 64 open streams (Retry-After: 5).");
    return p;
}

oj document() {
    oj d = oj::object();
    d["openapi"] = "3.0.3";
    d["info"] = {
        {"title", "turbotwin REST API"},
        {"version", TURBOTWIN_VERSION},
        {"description",
         "Digital twins of jet engines: remaining useful life, alerts, live stream. JSON everywhere; every error is "
         "{\"error\":{\"code\",\"message\"}}. Besides the answers listed per route, any request may get 400 (malformed "
         "HTTP or target), 404 (unknown route), 405 (wrong method, with Allow), 413 (body too large), 431 (headers too "
         "large) or 503 (connection cap), all with that body. HEAD works wherever GET does. Guide: docs/api.md."},
    };
    d["tags"] = oj::array({{{"name", "probes"}}, {{"name", "dashboard"}}, {{"name", "docs"}}, {{"name", "assets"}},
                           {{"name", "alerts"}}, {{"name", "stream"}}, {{"name", "models"}},
                           {{"name", "planning"}, {"description", "forecasts, what-if scenarios and removal schedules on copies of the twins"}}});
    d["paths"] = paths();
    d["components"] = components();
    return d;
}

}  // namespace

const std::string& openapi_json() {
    static const std::string text = document().dump();
    return text;
}

}  // namespace turbotwin::app
