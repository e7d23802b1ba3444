#pragma once
/// The REST API (v1) and the dashboard, as one http::handler.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "turbotwin/app/access.hpp"
#include "turbotwin/app/fleet.hpp"
#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/codec/command.hpp"
#include "turbotwin/app/metrics.hpp"
#include "turbotwin/app/planning_json.hpp"
#include "turbotwin/http/server.hpp"
#include "turbotwin/store/database.hpp"

namespace turbotwin::app {

class stream_hub;

/// Live facts the API reports that it does not own.
struct server_status {
    std::function<bool()> broker_connected;
    std::function<std::uint64_t()> broker_reconnects;
    std::function<std::size_t()> ingest_backlog;
    std::function<bool()> store_healthy;   ///< empty: durability off
    /// True while journal entries from before a restart are still being re-applied (REST then
    /// lags the journal): not ready yet. Empty: never.
    std::function<bool()> recovering;
    std::function<std::string()> extra_metrics;  ///< more Prometheus text (durable state), may be empty
    std::string model_name;
    std::string version;
    /// An engine's stored RUL history, oldest first (empty function: no store, no history).
    std::function<Result<std::vector<store::rul_row>>(const std::string& asset, std::int64_t from, std::int64_t to)> history;
    std::vector<std::string> channel_names;  ///< names of rul_row::levels, in order
    stream_hub* streams = nullptr;  ///< serves GET /api/v1/stream (null: that route is 404)
};

/// Operator commands the API hands to the fleet (set by the server). Each blocks until the
/// engine's worker has applied the command, or fails (unavailable) when it cannot.
struct command_port {
    std::function<Result<alerting::alert>(const std::string& asset, codec::ack_command)> acknowledge;
    std::function<Result<command_outcome>(const std::string& asset, codec::event_command)> record_event;
};

/// The models the server runs and their promotion (set by the server; unset: the routes 404).
struct model_port {
    std::function<nlohmann::json()> describe;                          ///< GET /api/v1/models
    std::function<Result<nlohmann::json>()> shadow_report;             ///< GET /api/v1/models/shadow/report
    std::function<Result<nlohmann::json>(const std::string& by)> promote;   ///< POST /api/v1/models/promote
    std::function<Result<nlohmann::json>(const std::string& by)> rollback;  ///< POST /api/v1/models/rollback
};

/// Planning on copies of the twins (set by the server; unset: the routes 404).
struct planning_port {
    std::function<planning_input()> snapshot;  ///< every open engine's outlook and the active model's calibration
};

class rest_api {
public:
    rest_api(const fleet_view& view, metrics& counters, server_status status, access_policy access = {},
             command_port commands = {}, model_port models = {}, planning_port planning = {});
    http::response operator()(const http::request& req) const;

private:
    http::response route(const http::request& req) const;
    http::response acknowledge(const http::request& req, const std::string& alert_id) const;
    http::response alert(const std::string& id) const;
    http::response fleet() const;
    http::response history(const http::request& req, const std::string& id) const;
    http::response record_event(const http::request& req, const std::string& id) const;
    http::response assets(const http::request& req) const;
    http::response asset(const std::string& id) const;
    http::response alerts(const http::request& req) const;
    http::response metrics_text() const;
    http::response forecast(const http::request& req) const;
    http::response scenarios(const http::request& req) const;
    http::response plan(const http::request& req) const;

    const fleet_view& view_;
    metrics& metrics_;  ///< counters are atomics: the API only adds its HTTP counts
    server_status status_;
    access_policy access_;
    command_port commands_;
    model_port models_;
    planning_port planning_;
};

/// The dashboard page (served at /), compiled into the binary.
const std::string& dashboard_html();
const std::string& openapi_json();  ///< the OpenAPI 3.0 document of this API (GET /api/v1/openapi.json), compiled in

}  // namespace turbotwin::app
