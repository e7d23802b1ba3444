#include "turbotwin/app/rest_api.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/stream_hub.hpp"
#include "turbotwin/core/reading.hpp"
#include "wall_clock.hpp"

namespace turbotwin::app {

using nlohmann::json;

namespace {

http::response json_ok(const json& j, unsigned status = 200) {
    http::response r;
    r.status = status;
    r.body = j.dump();
    return r;
}

http::response json_ok_text(std::string body) {
    http::response r;
    r.status = 200;
    r.body = std::move(body);
    return r;
}

// {"items":[asset...],"next_cursor":...}, as json_ok of the same json would write it.
std::string page_text(const std::vector<asset_summary>& items, const std::optional<std::string>& next_cursor) {
    std::string out = "{\"items\":[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        out += asset_json_text(items[i]);
    }
    out += "],\"next_cursor\":";
    out += next_cursor ? json(*next_cursor).dump() : "null";
    out += '}';
    return out;
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

// The route a path matched, as a metrics label: ids are replaced, unknown paths are "other", so
// the label set stays small whatever clients send.
std::string_view route_template(std::string_view path) {
    static constexpr std::string_view exact[] = {"/", "/index.html", "/healthz", "/readyz", "/metrics", "/api/v1/fleet", "/api/v1/assets",
                                                 "/api/v1/alerts", "/api/v1/stream", "/api/v1/openapi.json",
                                                 "/api/v1/models", "/api/v1/models/shadow/report", "/api/v1/models/promote",
                                                 "/api/v1/models/rollback", "/api/v1/fleet/forecast", "/api/v1/fleet/plan",
                                                 "/api/v1/scenarios"};
    for (auto e : exact)
        if (path == e) return e;
    auto under = [&](std::string_view prefix, std::string_view suffix) {
        return path.size() > prefix.size() + suffix.size() && path.substr(0, prefix.size()) == prefix &&
               path.substr(path.size() - suffix.size()) == suffix &&
               path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()).find('/') == std::string_view::npos;
    };
    if (under("/api/v1/assets/", "/history")) return "/api/v1/assets/{id}/history";
    if (under("/api/v1/assets/", "/events")) return "/api/v1/assets/{id}/events";
    if (under("/api/v1/assets/", "")) return "/api/v1/assets/{id}";
    if (under("/api/v1/alerts/", "/ack")) return "/api/v1/alerts/{id}/ack";
    if (under("/api/v1/alerts/", "")) return "/api/v1/alerts/{id}";
    return "other";
}

std::uint64_t fnv1a64(std::string_view s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// If-None-Match: "*" or a comma-separated list of tags; weak comparison (W/ ignored).
bool etag_matches(std::string_view header, std::string_view tag) {
    auto strip = [](std::string_view t) {
        while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
        while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
        if (t.substr(0, 2) == "W/") t.remove_prefix(2);
        return t;
    };
    const auto want = strip(tag);
    while (!header.empty()) {
        const auto comma = header.find(',');
        const auto item = strip(header.substr(0, comma));
        if (item == "*" || item == want) return true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

rest_api::rest_api(const fleet_view& view, metrics& counters, server_status status, access_policy access,
                   command_port commands, model_port models, planning_port planning)
    : view_(view),
      metrics_(counters),
      status_(std::move(status)),
      access_(std::move(access)),
      commands_(std::move(commands)),
      models_(std::move(models)),
      planning_(std::move(planning)) {}

http::response rest_api::operator()(const http::request& req) const {
    http::response r = route(req);
    // Polling dashboards: a weak ETag over the body, and 304 when the client has it already.
    if (req.method == "GET" && r.status == 200 && r.content_type == "application/json") {
        char tag[32];
        std::snprintf(tag, sizeof tag, "W/\"%016llx\"", static_cast<unsigned long long>(fnv1a64(r.body)));
        r.headers.emplace_back("ETag", tag);
        if (auto match = req.header("if-none-match"); match && etag_matches(*match, tag)) {
            r.status = 304;
            r.body.clear();
        }
    }
    metrics_.count_http(route_template(req.path), r.status);
    return r;
}

http::response rest_api::route(const http::request& req) const {
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
            // Ready: broker connected, model loaded (serve does not start without one), store taking
            // commits, and what the journal held at start-up applied (REST is current).
            const bool broker = status_.broker_connected && status_.broker_connected();
            const bool store_ok = !status_.store_healthy || status_.store_healthy();
            const bool recovering = status_.recovering && status_.recovering();
            const bool ready = broker && store_ok && !recovering;
            return json_ok({{"ready", ready},
                            {"recovering", recovering},
                            {"broker_connected", broker},
                            {"model_loaded", !status_.model_name.empty()},
                            {"model", status_.model_name},
                            {"store", !status_.store_healthy ? "disabled" : store_ok ? "open" : "failing"}},
                           ready ? 200 : 503);
        });
    if (path == "/api/v1/openapi.json")
        return open([&] {
            http::response r;  // application/json: gets an ETag like any JSON read
            r.body = openapi_json();
            return r;
        });
    if (path == "/" || path == "/index.html")
        return open([&] {
            http::response r;
            r.content_type = "text/html; charset=utf-8";
            r.body = dashboard_html();
            return r;
        });
    if (path == "/metrics") return read([&] { return metrics_text(); });
    if (path == "/api/v1/fleet") return read([&] { return fleet(); });
    if ((path == "/api/v1/fleet/forecast" || path == "/api/v1/fleet/plan" || path == "/api/v1/scenarios") && !planning_.snapshot)
        return http::json_error(404, "not_found", "no such route");
    if (path == "/api/v1/fleet/forecast") return read([&] { return forecast(req); });
    if (path == "/api/v1/fleet/plan") return read([&] { return plan(req); });
    if (path == "/api/v1/scenarios") {
        // A POST that changes nothing (it runs on copies): a viewer may ask.
        if (req.method != "POST") return not_allowed("POST");
        if (auto denied = access_.require_read(req)) return std::move(*denied);
        return scenarios(req);
    }
    if (path == "/api/v1/assets") return read([&] { return assets(req); });
    if (path == "/api/v1/alerts") return read([&] { return alerts(req); });
    if (path == "/api/v1/models") {
        if (!models_.describe) return http::json_error(404, "not_found", "no such route");
        return read([&] { return json_ok(models_.describe()); });
    }
    if (path == "/api/v1/models/shadow/report") {
        if (!models_.shadow_report) return http::json_error(404, "not_found", "the shadow report needs the store (durability on)");
        return read([&] {
            auto r = models_.shadow_report();
            if (!r) return r.error() == errc::conflict ? http::json_error(409, "conflict", r.detail())
                                                      : http::json_error(500, "internal_error", r.detail());
            return json_ok(*r);
        });
    }
    if (path == "/api/v1/models/promote" || path == "/api/v1/models/rollback") {
        const bool promote = path == "/api/v1/models/promote";
        const auto& action = promote ? models_.promote : models_.rollback;
        if (!action) return http::json_error(404, "not_found", "no such route");
        if (req.method != "POST") return not_allowed("POST");
        if (auto denied = access_.require(req, role::operator_)) return std::move(*denied);
        const auto who = access_.identify(req);
        auto r = action(who ? who->name : "anonymous");
        if (!r) {
            switch (r.error()) {
                case errc::conflict: return http::json_error(409, "conflict", r.detail());
                case errc::unavailable: return http::json_error(503, "unavailable", r.detail());
                default: return http::json_error(500, "internal_error", r.detail());
            }
        }
        return json_ok(*r);
    }
    if (path == "/api/v1/stream")
        return read([&] {
            // Server-Sent Events of RUL updates and alert changes; ?asset=ID narrows it to one engine.
            if (!status_.streams) return http::json_error(404, "not_found", "no such route");
            auto asset = req.query_param("asset");
            if (asset && !valid_asset_id(*asset))
                return http::json_error(400, "bad_request", "asset must be 1..64 of [A-Za-z0-9._-]");
            return status_.streams->open(std::move(asset));
        });
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
    constexpr std::string_view history_suffix = "/history";
    constexpr std::string_view events_suffix = "/events";
    if (path.size() > asset_prefix.size() && path.compare(0, asset_prefix.size(), asset_prefix) == 0) {
        std::string rest = path.substr(asset_prefix.size());
        if (rest.size() > events_suffix.size() && rest.compare(rest.size() - events_suffix.size(), events_suffix.size(), events_suffix) == 0) {
            if (req.method != "POST") return not_allowed("POST");
            if (auto denied = access_.require(req, role::operator_)) return std::move(*denied);
            return record_event(req, rest.substr(0, rest.size() - events_suffix.size()));
        }
        if (rest.size() > history_suffix.size() &&
            rest.compare(rest.size() - history_suffix.size(), history_suffix.size(), history_suffix) == 0)
            return read([&] { return history(req, rest.substr(0, rest.size() - history_suffix.size())); });
        return read([&] { return asset(rest); });
    }
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
}  // namespace

http::response rest_api::alert(const std::string& id) const {
    if (!asset_of_alert(id)) return http::json_error(400, "bad_request", alert_id_error);
    const auto a = view_.alert(id);
    if (!a) return http::json_error(404, "not_found", "no alert " + id);
    return json_ok(alert_json(*a, /*with_state=*/true));
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
    asset_query q;
    q.limit = *limit;
    q.cursor = req.query_param("cursor");
    if (auto v = req.query_param("sort")) {
        if (*v == "id") q.sort = asset_query::order::id;
        else if (*v == "rul") q.sort = asset_query::order::rul;
        else if (*v == "-risk") q.sort = asset_query::order::risk_desc;
        else return http::json_error(400, "bad_request", "sort must be id, rul or -risk");
    }
    if (auto v = req.query_param("severity")) {
        q.level = alerting::parse_severity(*v);
        if (!q.level) return http::json_error(400, "bad_request", "severity must be normal, warning or critical");
    }
    if (auto v = req.query_param("confidence")) {
        if (*v == "high") q.trust = twin::confidence::high;
        else if (*v == "low") q.trust = twin::confidence::low;
        else return http::json_error(400, "bad_request", "confidence must be high or low");
    }
    if (auto v = req.query_param("rul_lt")) {
        double x = 0;
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
        if (ec != std::errc{} || p != v->data() + v->size() || !std::isfinite(x))
            return http::json_error(400, "bad_request", "rul_lt must be a number");
        q.rul_lt = x;
    }
    const auto p = view_.assets(q);
    if (!p) return http::json_error(400, "bad_request", "cursor is not valid for this sort order");
    return json_ok_text(page_text(p->items, p->next_cursor));
}

namespace {
// A whole number in [lo, hi] from the query, or the fallback when absent; nullopt: bad value.
std::optional<std::int64_t> int_param(const http::request& req, std::string_view name, std::int64_t fallback, std::int64_t lo,
                                      std::int64_t hi) {
    auto v = req.query_param(name);
    if (!v) return fallback;
    std::int64_t n = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || p != v->data() + v->size() || n < lo || n > hi) return std::nullopt;
    return n;
}
}  // namespace

http::response rest_api::history(const http::request& req, const std::string& id) const {
    if (!valid_asset_id(id)) return http::json_error(400, "bad_request", "asset id must be 1..64 of [A-Za-z0-9._-]");
    constexpr std::int64_t max_cycle = 1000000;
    const auto from = int_param(req, "from_cycle", 1, 1, max_cycle);
    const auto to = int_param(req, "to_cycle", max_cycle, 1, max_cycle);
    const auto max_points = int_param(req, "max_points", 500, 2, 10000);
    if (!from || !to) return http::json_error(400, "bad_request", "from_cycle and to_cycle must be whole numbers in 1..1000000");
    if (*from > *to) return http::json_error(400, "bad_request", "from_cycle must not exceed to_cycle");
    if (!max_points) return http::json_error(400, "bad_request", "max_points must be a whole number in 2..10000");
    // fields: RUL columns and sensor names; default all.
    const std::vector<std::string> rul_fields = {"rul", "rul_lo", "rul_hi", "severity"};
    std::vector<std::string> fields;
    if (auto f = req.query_param("fields")) {
        std::string_view list = *f;
        while (!list.empty()) {
            const auto comma = list.find(',');
            std::string name(list.substr(0, comma));
            list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
            if (name.empty()) continue;
            const bool known = std::find(rul_fields.begin(), rul_fields.end(), name) != rul_fields.end() ||
                               std::find(status_.channel_names.begin(), status_.channel_names.end(), name) != status_.channel_names.end();
            if (!known) return http::json_error(400, "bad_request", "unknown field '" + name.substr(0, 40) + "'");
            fields.push_back(std::move(name));
        }
    } else {
        fields = rul_fields;
        fields.insert(fields.end(), status_.channel_names.begin(), status_.channel_names.end());
    }
    if (!view_.asset(id)) return http::json_error(404, "not_found", "unknown asset " + id);
    if (!status_.history) return http::json_error(503, "unavailable", "history needs durable state (durability.enabled)");
    auto rows = status_.history(id, *from, *to);
    if (!rows) return http::json_error(503, "unavailable", "the history store cannot be read now");
    auto want = [&](std::string_view name) { return std::find(fields.begin(), fields.end(), name) != fields.end(); };
    // Downsampled to max_points rows evenly spread over the range, first and last kept.
    const std::size_t n = rows->size(), m = std::min<std::size_t>(n, std::size_t(*max_points));
    json points = json::array();
    for (std::size_t k = 0; k < m; ++k) {
        const std::size_t i = m == 1 ? 0 : (k * (n - 1) + (m - 1) / 2) / (m - 1);
        const auto& r = (*rows)[i];
        json p = {{"cycle", r.cycle}};
        if (want("rul")) p["rul"] = r.rul;
        if (want("rul_lo")) p["rul_lo"] = r.rul_lo;
        if (want("rul_hi")) p["rul_hi"] = r.rul_hi;
        if (want("severity")) p["severity"] = alerting::to_string(r.level);
        json sensors = json::object();
        for (std::size_t c = 0; c < status_.channel_names.size() && c < r.levels.size(); ++c)
            if (want(status_.channel_names[c])) sensors[status_.channel_names[c]] = double(r.levels[c]);
        if (!sensors.empty()) p["sensors"] = std::move(sensors);
        points.push_back(std::move(p));
    }
    return json_ok({{"asset", id}, {"from_cycle", *from}, {"to_cycle", *to}, {"total_points", n}, {"points", points}});
}

http::response rest_api::record_event(const http::request& req, const std::string& id) const {
    if (!valid_asset_id(id)) return http::json_error(400, "bad_request", "asset id must be 1..64 of [A-Za-z0-9._-]");
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object())
        return http::json_error(400, "bad_request", "the body must be a JSON object like {\"type\":\"maintenance\",\"cycle\":212,\"note\":\"...\"}");
    codec::event_command e;
    if (!body.contains("type") || !body["type"].is_string()) return http::json_error(400, "bad_request", "type must be maintenance, failure or removal");
    e.type = body["type"].get<std::string>();
    if (e.type != "maintenance" && e.type != "failure" && e.type != "removal")
        return http::json_error(400, "bad_request", "type must be maintenance, failure or removal");
    if (!body.contains("cycle") || !body["cycle"].is_number_integer() || body["cycle"].get<std::int64_t>() < 1 ||
        body["cycle"].get<std::int64_t>() > 1000000)
        return http::json_error(400, "bad_request", "cycle must be a whole number in 1..1000000");
    e.cycle = body["cycle"].get<std::int64_t>();
    if (body.contains("note")) {
        if (!body["note"].is_string()) return http::json_error(400, "bad_request", "note must be a string");
        e.note = body["note"].get<std::string>();
        if (e.note.size() > max_comment_bytes) return http::json_error(400, "bad_request", "note is longer than 2000 bytes");
    }
    if (!commands_.record_event) return http::json_error(503, "unavailable", "this server does not take commands");
    const auto who = access_.identify(req);
    e.by = who ? who->name : "anonymous";
    e.at_ms = wall_ms();
    auto done = commands_.record_event(id, e);
    if (!done) {
        switch (done.error()) {
            case errc::not_found: return http::json_error(404, "not_found", done.detail());
            case errc::conflict: return http::json_error(409, "conflict", done.detail());
            case errc::invalid_argument: return http::json_error(400, "bad_request", done.detail());
            case errc::unavailable: return http::json_error(503, "unavailable", done.detail());
            default: return http::json_error(500, "internal_error", "the event could not be recorded");
        }
    }
    json event = {{"asset", id}, {"type", e.type}, {"cycle", e.cycle}, {"note", e.note}, {"by", e.by}, {"at_ms", e.at_ms}};
    json answer = {{"event", event}, {"asset", done->asset ? asset_json(*done->asset) : json(nullptr)},
                   {"cleared_alert", done->alert ? alert_json(*done->alert) : json(nullptr)}};
    return json_ok(answer, 201);
}

http::response rest_api::fleet() const {
    const auto c = view_.counts(10);
    json top = json::array();
    for (const auto& a : c.most_at_risk) top.push_back(asset_json(a));
    const bool broker = status_.broker_connected && status_.broker_connected();
    return json_ok({{"assets", c.assets},
                    {"by_severity", {{"normal", c.by_severity[0]}, {"warning", c.by_severity[1]}, {"critical", c.by_severity[2]}}},
                    {"by_confidence", {{"high", c.by_confidence[0]}, {"low", c.by_confidence[1]}}},
                    {"alerts", {{"active", c.alerts_active}, {"acknowledged", c.alerts_acknowledged}, {"cleared", c.alerts_cleared}}},
                    {"most_at_risk", top},
                    {"ingest",
                     {{"broker_connected", broker},
                      {"messages_received", metrics_.messages_received.load()},
                      {"readings_applied", metrics_.readings_applied.load()},
                      {"rejected", metrics_.rejected_total()},
                      {"backlog", status_.ingest_backlog ? status_.ingest_backlog() : 0}}},
                    {"model", status_.model_name}});
}

http::response rest_api::asset(const std::string& id) const {
    if (!valid_asset_id(id)) return http::json_error(400, "bad_request", "asset id must be 1..64 of [A-Za-z0-9._-]");
    const auto a = view_.asset(id);
    if (!a) return http::json_error(404, "not_found", "unknown asset " + id);
    return json_ok_text(asset_json_text(*a, status_.channel_names));
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
    if (auto v = req.query_param("type")) {
        filter.type = alerting::parse_alert_type(*v);
        if (!filter.type) return http::json_error(400, "bad_request", "type must be rul or sensor_fault");
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
    gauge("turbotwin_alerts_active", "RUL alerts in force (active or acknowledged).", double(view_.active_alert_count()));
    {
        const auto c = view_.counts(0);
        gauges += "# HELP turbotwin_alerts Alerts in the log, by state.\n# TYPE turbotwin_alerts gauge\n";
        gauges += "turbotwin_alerts{state=\"active\"} " + std::to_string(c.alerts_active) + "\n";
        gauges += "turbotwin_alerts{state=\"acknowledged\"} " + std::to_string(c.alerts_acknowledged) + "\n";
        gauges += "turbotwin_alerts{state=\"cleared\"} " + std::to_string(c.alerts_cleared) + "\n";
        gauges += "# HELP turbotwin_assets Engines by severity.\n# TYPE turbotwin_assets gauge\n";
        const char* names[] = {"normal", "warning", "critical"};
        for (int i = 0; i < 3; ++i) gauges += std::string("turbotwin_assets{severity=\"") + names[i] + "\"} " + std::to_string(c.by_severity[i]) + "\n";
    }
    gauge("turbotwin_ingest_backlog", "Telemetry messages queued for the workers.", status_.ingest_backlog ? double(status_.ingest_backlog()) : 0.0);
    gauge("turbotwin_mqtt_connected", "1 when connected to the broker.", status_.broker_connected && status_.broker_connected() ? 1.0 : 0.0);
    gauge("turbotwin_mqtt_reconnects", "Reconnects to the broker since start.", status_.broker_reconnects ? double(status_.broker_reconnects()) : 0.0);
    if (status_.extra_metrics) gauges += status_.extra_metrics();
    if (status_.streams) gauges += status_.streams->prometheus();
    http::response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.prometheus(gauges);
    return r;
}

namespace {

/// A number query parameter in [lo, hi], or `fallback` when absent; the error names it.
Result<double> number_param(const http::request& req, const char* name, double fallback, double lo, double hi) {
    const auto v = req.query_param(name);
    if (!v) return fallback;
    double x = 0;
    const auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
    if (ec != std::errc() || p != v->data() + v->size() || !(x >= lo && x <= hi))
        return {errc::invalid_argument, std::string(name) + " must be a number in " + json(lo).dump() + ".." + json(hi).dump()};
    return x;
}

template <class T>
http::response planning_error(const Result<T>& s) {
    return s.error() == errc::not_found ? http::json_error(404, "not_found", s.detail()) : http::json_error(400, "bad_request", s.detail());
}

}  // namespace

http::response rest_api::forecast(const http::request& req) const {
    planning::forecast_options o;
    auto days = number_param(req, "days", 90, 1, 3650);
    auto rate = number_param(req, "cycles_per_day", 4, 0.01, 1000);
    auto samples = number_param(req, "samples", 2000, 1, 20000);
    for (const auto* r : {&days, &rate, &samples})
        if (!*r) return http::json_error(400, "bad_request", r->detail());
    if (*samples != std::floor(*samples)) return http::json_error(400, "bad_request", "samples must be a whole number");
    // The seed is a 64-bit integer: read as a double, two seeds above 2^53 would give one forecast.
    if (auto seed = req.query_param("seed")) {
        const auto [p, ec] = std::from_chars(seed->data(), seed->data() + seed->size(), o.seed);
        if (ec != std::errc() || p != seed->data() + seed->size())
            return http::json_error(400, "bad_request", "seed must be an integer in 0..18446744073709551615");
    }
    o.days = *days;
    o.use.default_cycles_per_day = *rate;
    o.samples = int(*samples);
    if (auto overrides = req.query_param("overrides"))
        if (auto ok = parse_overrides(*overrides, o.use); !ok) return http::json_error(400, "bad_request", ok.detail());
    const auto format = req.query_param("format").value_or("json");
    const auto table = req.query_param("table").value_or("engines");
    if (format != "json" && format != "csv") return http::json_error(400, "bad_request", "format must be json or csv");
    if (table != "engines" && table != "weeks") return http::json_error(400, "bad_request", "table must be engines or weeks");
    const auto in = planning_.snapshot();
    if (auto ok = overrides_in_fleet(in, o.use); !ok) return planning_error(ok);
    o.critical_rul = in.critical_rul;
    auto f = planning::forecast(in.calibration, in.fleet, o);
    if (!f) return planning_error(f);
    if (format == "csv") {
        http::response r;
        r.content_type = "text/csv; charset=utf-8";
        r.body = forecast_csv(forecast_json(*f), table == "weeks");
        return r;
    }
    return json_ok(forecast_json(*f));
}

http::response rest_api::scenarios(const http::request& req) const {
    const auto body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) return http::json_error(400, "bad_request", "the body must be a JSON scenario (docs/scenarios.md)");
    auto r = run_scenario_request(planning_.snapshot(), body);
    if (!r) return planning_error(r);
    return json_ok(*r);
}

http::response rest_api::plan(const http::request& req) const {
    const auto in = planning_.snapshot();
    planning::schedule_options o;
    auto weeks = number_param(req, "weeks", 26, 1, 520);
    auto capacity = number_param(req, "capacity", 2, 0, 10000);
    auto rate = number_param(req, "cycles_per_day", 4, 0.01, 1000);
    auto min_reduction = number_param(req, "min_risk_reduction", 0.01, 0, 0.999);
    auto threshold = number_param(req, "threshold_rul", in.critical_rul, 0, 10000);
    for (const auto* r : {&weeks, &capacity, &rate, &min_reduction, &threshold})
        if (!*r) return http::json_error(400, "bad_request", r->detail());
    if (*weeks != std::floor(*weeks) || *capacity != std::floor(*capacity))
        return http::json_error(400, "bad_request", "weeks and capacity must be whole numbers");
    o.weeks = int(*weeks);
    o.capacity_per_week = int(*capacity);
    o.use.default_cycles_per_day = *rate;
    o.min_risk_reduction = *min_reduction;
    o.threshold_rul = *threshold;
    if (auto overrides = req.query_param("overrides"))
        if (auto ok = parse_overrides(*overrides, o.use); !ok) return http::json_error(400, "bad_request", ok.detail());
    auto r = run_plan(in, o);
    if (!r) return planning_error(r);
    return json_ok(*r);
}

}  // namespace turbotwin::app
