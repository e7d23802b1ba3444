#include "turbotwin/app/rest_api.hpp"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "turbotwin/app/json_out.hpp"
#include "turbotwin/core/reading.hpp"

namespace turbotwin::app {

using nlohmann::json;

namespace {

http::response json_ok(const json& j, unsigned status = 200) {
    http::response r;
    r.status = status;
    r.body = j.dump();
    return r;
}

// Parses ?limit=N (1..1000, default 100); nullopt means a 400 is due.
std::optional<std::size_t> parse_limit(const http::request& req) {
    auto v = req.query_param("limit");
    if (!v) return 100;
    std::size_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || p != v->data() + v->size() || n < 1 || n > 1000) return std::nullopt;
    return n;
}

const char* const limit_error = "limit must be an integer in 1..1000";
constexpr std::size_t max_comment_bytes = 2000;

}  // namespace

rest_api::rest_api(const fleet_view& view, const metrics& counters, server_status status, access_policy access,
                   command_port commands)
    : view_(view), metrics_(counters), status_(std::move(status)), access_(std::move(access)), commands_(std::move(commands)) {}

http::response rest_api::operator()(const http::request& req) const {
    const std::string& path = req.path;
    const bool get = req.method == "GET";
    auto not_allowed = [&](const char* allow) {
        auto r = http::json_error(405, "method_not_allowed", req.method + " is not allowed on " + path);
        r.headers.emplace_back("Allow", allow);
        return r;
    };
    // Open to all: the probes, and the dashboard page (it holds no data; its scripts call the API).
    auto open = [&](auto&& fn) -> http::response { return get ? fn() : not_allowed("GET, HEAD"); };
    // Reads need a viewer token when http.require_auth_for_reads is set.
    auto read = [&](auto&& fn) -> http::response {
        if (!get) return not_allowed("GET, HEAD");
        if (auto denied = access_.require_read(req)) return std::move(*denied);
        return fn();
    };
    if (path == "/healthz") return open([&] { return json_ok({{"status", "ok"}, {"version", status_.version}}); });
    if (path == "/readyz")
        return open([&] {
            const bool broker = status_.broker_connected && status_.broker_connected();
            return json_ok({{"ready", broker}, {"broker_connected", broker}, {"model", status_.model_name}}, broker ? 200 : 503);
        });
    if (path == "/" || path == "/index.html")
        return open([&] {
            http::response r;
            r.content_type = "text/html; charset=utf-8";
            r.body = dashboard_html();
            return r;
        });
    if (path == "/metrics") return read([&] { return metrics_text(); });
    if (path == "/api/v1/assets") return read([&] { return assets(req); });
    if (path == "/api/v1/alerts") return read([&] { return alerts(req); });
    constexpr std::string_view alert_prefix = "/api/v1/alerts/";
    constexpr std::string_view ack_suffix = "/ack";
    if (path.size() > alert_prefix.size() && path.compare(0, alert_prefix.size(), alert_prefix) == 0) {
        std::string rest = path.substr(alert_prefix.size());
        if (rest.size() > ack_suffix.size() && rest.compare(rest.size() - ack_suffix.size(), ack_suffix.size(), ack_suffix) == 0) {
            if (req.method != "POST") return not_allowed("POST");
            if (auto denied = access_.require(req, role::operator_)) return std::move(*denied);
            return acknowledge(req, rest.substr(0, rest.size() - ack_suffix.size()));
        }
        return read([&] { return alert(rest); });
    }
    constexpr std::string_view asset_prefix = "/api/v1/assets/";
    if (path.size() > asset_prefix.size() && path.compare(0, asset_prefix.size(), asset_prefix) == 0)
        return read([&] { return asset(path.substr(asset_prefix.size())); });
    return http::json_error(404, "not_found", "no such route");
}

namespace {
// Alert ids are "<asset>-<n>"; the asset part names the worker that owns the alert.
std::optional<std::string> asset_of_alert(const std::string& id) {
    const auto dash = id.rfind('-');
    if (!valid_asset_id(id) || dash == std::string::npos || dash == 0 || dash + 1 == id.size()) return std::nullopt;
    if (id.find_first_not_of("0123456789", dash + 1) != std::string::npos) return std::nullopt;
    return id.substr(0, dash);
}

const char* const alert_id_error = "alert id must look like <asset>-<n>, e.g. ENG-7-2";

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

http::response rest_api::alert(const std::string& id) const {
    if (!asset_of_alert(id)) return http::json_error(400, "bad_request", alert_id_error);
    const auto a = view_.alert(id);
    if (!a) return http::json_error(404, "not_found", "no alert " + id);
    return json_ok(alert_json(*a));
}

http::response rest_api::acknowledge(const http::request& req, const std::string& alert_id) const {
    const auto asset = asset_of_alert(alert_id);
    if (!asset) return http::json_error(400, "bad_request", alert_id_error);
    std::string comment;
    if (!req.body.empty()) {
        const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        if (!body.is_object()) return http::json_error(400, "bad_request", "the body must be a JSON object, e.g. {\"comment\":\"...\"}");
        if (body.contains("comment")) {
            if (!body["comment"].is_string()) return http::json_error(400, "bad_request", "comment must be a string");
            comment = body["comment"].get<std::string>();
            if (comment.size() > max_comment_bytes) return http::json_error(400, "bad_request", "comment is longer than 2000 bytes");
        }
    }
    if (!commands_.acknowledge) return http::json_error(503, "unavailable", "this server does not take commands");
    const auto who = access_.identify(req);
    auto done = commands_.acknowledge(*asset, codec::ack_command{alert_id, {who ? who->name : "anonymous", wall_ms(), comment}});
    if (!done) {
        switch (done.error()) {
            case errc::not_found: return http::json_error(404, "not_found", done.detail());
            case errc::conflict: return http::json_error(409, "conflict", done.detail());
            case errc::unavailable: return http::json_error(503, "unavailable", done.detail());
            default: return http::json_error(500, "internal_error", "the acknowledgement could not be applied");
        }
    }
    return json_ok(alert_json(*done));
}

http::response rest_api::assets(const http::request& req) const {
    const auto limit = parse_limit(req);
    if (!limit) return http::json_error(400, "bad_request", limit_error);
    std::optional<std::string> cursor = req.query_param("cursor");
    if (cursor && !valid_asset_id(*cursor)) return http::json_error(400, "bad_request", "cursor is not valid");
    const auto p = view_.assets(cursor, *limit);
    json items = json::array();
    for (const auto& a : p.items) items.push_back(asset_json(a, false));
    return json_ok({{"items", items}, {"next_cursor", p.next_cursor ? json(*p.next_cursor) : json(nullptr)}});
}

http::response rest_api::asset(const std::string& id) const {
    if (!valid_asset_id(id)) return http::json_error(400, "bad_request", "asset id must be 1..64 of [A-Za-z0-9._-]");
    const auto a = view_.asset(id);
    if (!a) return http::json_error(404, "not_found", "unknown asset " + id);
    return json_ok(asset_json(*a, true));
}

http::response rest_api::alerts(const http::request& req) const {
    const auto limit = parse_limit(req);
    if (!limit) return http::json_error(400, "bad_request", limit_error);
    std::optional<std::uint64_t> cursor;
    if (auto c = req.query_param("cursor")) {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(c->data(), c->data() + c->size(), v);
        if (ec != std::errc{} || p != c->data() + c->size()) return http::json_error(400, "bad_request", "cursor is not valid");
        cursor = v;
    }
    alert_filter filter;
    if (auto v = req.query_param("state")) {
        filter.state = alerting::parse_alert_state(*v);
        if (!filter.state) return http::json_error(400, "bad_request", "state must be active, acknowledged or cleared");
    }
    if (auto v = req.query_param("severity")) {
        filter.level = alerting::parse_severity(*v);
        if (!filter.level || *filter.level == alerting::severity::normal)
            return http::json_error(400, "bad_request", "severity must be warning or critical");
    }
    if (auto v = req.query_param("asset")) {
        if (!valid_asset_id(*v)) return http::json_error(400, "bad_request", "asset must be 1..64 of [A-Za-z0-9._-]");
        filter.asset = *v;
    }
    const auto p = view_.alerts(cursor, *limit, filter);
    json items = json::array();
    for (const auto& a : p.items) items.push_back(alert_json(a));
    return json_ok({{"items", items}, {"next_cursor", p.next_cursor ? json(*p.next_cursor) : json(nullptr)}});
}

http::response rest_api::metrics_text() const {
    std::string gauges;
    auto gauge = [&](const char* name, const char* help, double v) {
        gauges += "# HELP "; gauges += name; gauges += ' '; gauges += help; gauges += "\n# TYPE "; gauges += name;
        gauges += " gauge\n"; gauges += name; gauges += ' ';
        gauges += json(v).dump();
        gauges += '\n';
    };
    gauge("turbotwin_assets_tracked", "Engines with a twin.", double(view_.asset_count()));
    gauge("turbotwin_alerts_active", "RUL alerts currently active.", double(view_.active_alert_count()));
    gauge("turbotwin_ingest_backlog", "Telemetry messages queued for the workers.", status_.ingest_backlog ? double(status_.ingest_backlog()) : 0.0);
    gauge("turbotwin_mqtt_connected", "1 when connected to the broker.", status_.broker_connected && status_.broker_connected() ? 1.0 : 0.0);
    gauge("turbotwin_mqtt_reconnects", "Reconnects to the broker since start.", status_.broker_reconnects ? double(status_.broker_reconnects()) : 0.0);
    if (status_.extra_metrics) gauges += status_.extra_metrics();
    http::response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.prometheus(gauges);
    return r;
}

}  // namespace turbotwin::app
