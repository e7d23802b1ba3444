#include "turbotwin/app/rest_api.hpp"

#include <charconv>
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

}  // namespace

rest_api::rest_api(const fleet_view& view, const metrics& counters, server_status status)
    : view_(view), metrics_(counters), status_(std::move(status)) {}

http::response rest_api::operator()(const http::request& req) const {
    const std::string& path = req.path;
    const bool get = req.method == "GET";
    auto only_get = [&](auto&& fn) -> http::response {
        if (!get) {
            auto r = http::json_error(405, "method_not_allowed", req.method + " is not allowed on " + path);
            r.headers.emplace_back("Allow", "GET, HEAD");
            return r;
        }
        return fn();
    };
    if (path == "/healthz") return only_get([&] { return json_ok({{"status", "ok"}, {"version", status_.version}}); });
    if (path == "/readyz")
        return only_get([&] {
            const bool broker = status_.broker_connected && status_.broker_connected();
            return json_ok({{"ready", broker}, {"broker_connected", broker}, {"model", status_.model_name}}, broker ? 200 : 503);
        });
    if (path == "/metrics") return only_get([&] { return metrics_text(); });
    if (path == "/api/v1/assets") return only_get([&] { return assets(req); });
    if (path == "/api/v1/alerts") return only_get([&] { return alerts(req); });
    constexpr std::string_view asset_prefix = "/api/v1/assets/";
    if (path.size() > asset_prefix.size() && path.compare(0, asset_prefix.size(), asset_prefix) == 0)
        return only_get([&] { return asset(path.substr(asset_prefix.size())); });
    if (path == "/" || path == "/index.html")
        return only_get([&] {
            http::response r;
            r.content_type = "text/html; charset=utf-8";
            r.body = dashboard_html();
            return r;
        });
    return http::json_error(404, "not_found", "no such route");
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
    const auto p = view_.alerts(cursor, *limit);
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
