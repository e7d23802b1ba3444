#include "turbotwin/app/rest_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api_tokens.hpp"

namespace turbotwin::app {
namespace {

using nlohmann::json;

using testing_support::op_token;
using testing_support::view_token;

alerting::alert make_alert(std::string asset, int n, alerting::severity level, alerting::alert_state state) {
    alerting::alert a;
    a.id = asset + "-" + std::to_string(n);
    a.asset = std::move(asset);
    a.level = level;
    a.state = state;
    a.raised_cycle = a.cycle = 100 + n;
    return a;
}

struct api_fixture : ::testing::Test {
    fleet_view view;
    metrics counters;
    std::vector<std::pair<std::string, codec::ack_command>> commands;  // what reached the port
    std::optional<errc> port_fails;                                   // makes the port fail so

    rest_api make(bool reads_need_auth = false) {
        view.record_alert(make_alert("ENG-1", 1, alerting::severity::warning, alerting::alert_state::cleared));
        view.record_alert(make_alert("ENG-1", 2, alerting::severity::critical, alerting::alert_state::active));
        view.record_alert(make_alert("ENG-2", 1, alerting::severity::warning, alerting::alert_state::active));
        command_port port;
        port.acknowledge = [this](const std::string& asset, codec::ack_command c) -> Result<alerting::alert> {
            commands.emplace_back(asset, c);
            if (port_fails) return {*port_fails, "as told"};
            auto a = make_alert(asset, 2, alerting::severity::critical, alerting::alert_state::acknowledged);
            a.ack = c.ack;
            return a;
        };
        auto tokens = parse_token_list("operator:" + op_token + ",viewer:" + view_token);
        return rest_api(view, counters, server_status{}, access_policy(*tokens, reads_need_auth), port);
    }

    static http::request req(std::string method, std::string path, std::string token = {}, std::string body = {},
                             std::vector<std::pair<std::string, std::string>> query = {}) {
        http::request r;
        r.method = std::move(method);
        r.path = std::move(path);
        r.target = r.path;
        r.query = std::move(query);
        if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
        r.body = std::move(body);
        return r;
    }
};

TEST_F(api_fixture, ack_needs_an_operator) {
    auto api = make();
    EXPECT_EQ(api(req("POST", "/api/v1/alerts/ENG-1-2/ack")).status, 401u);
    EXPECT_EQ(api(req("POST", "/api/v1/alerts/ENG-1-2/ack", view_token)).status, 403u);
    EXPECT_TRUE(commands.empty()) << "a refused request must not reach the fleet";
    auto ok = api(req("POST", "/api/v1/alerts/ENG-1-2/ack", op_token, R"({"comment":"borescope booked"})"));
    ASSERT_EQ(ok.status, 200u) << ok.body;
    ASSERT_EQ(commands.size(), 1u);
    EXPECT_EQ(commands[0].first, "ENG-1") << "the asset comes from the alert id";
    EXPECT_EQ(commands[0].second.alert_id, "ENG-1-2");
    EXPECT_EQ(commands[0].second.ack.comment, "borescope booked");
    EXPECT_EQ(commands[0].second.ack.by.rfind("operator-", 0), 0u) << "who acked is the token's name";
    EXPECT_GT(commands[0].second.ack.at_ms, 1700000000000);
    const auto body = json::parse(ok.body);
    EXPECT_EQ(body["state"], "acknowledged");
    EXPECT_EQ(body["acknowledged"]["comment"], "borescope booked");
}

TEST_F(api_fixture, ack_maps_fleet_outcomes_and_bad_requests_to_statuses) {
    auto api = make();
    EXPECT_EQ(api(req("GET", "/api/v1/alerts/ENG-1-2/ack", op_token)).status, 405u);
    EXPECT_EQ(api(req("POST", "/api/v1/alerts/ENG-1-x/ack", op_token)).status, 400u);
    EXPECT_EQ(api(req("POST", "/api/v1/alerts/ENG-1-2/ack", op_token, "not json")).status, 400u);
    EXPECT_EQ(api(req("POST", "/api/v1/alerts/ENG-1-2/ack", op_token, R"({"comment":5})")).status, 400u);
    EXPECT_EQ(api(req("POST", "/api/v1/alerts/ENG-1-2/ack", op_token, json{{"comment", std::string(2001, 'x')}}.dump())).status, 400u);
    EXPECT_TRUE(commands.empty());
    for (auto [e, status] : {std::pair{errc::not_found, 404u}, {errc::conflict, 409u}, {errc::unavailable, 503u}, {errc::io_error, 500u}}) {
        port_fails = e;
        auto r = api(req("POST", "/api/v1/alerts/ENG-1-2/ack", op_token));
        EXPECT_EQ(r.status, status) << reason_label(e);
        EXPECT_NE(json::parse(r.body)["error"]["message"].get<std::string>(), "");
    }
}

TEST_F(api_fixture, alerts_filter_by_state_severity_and_asset) {
    auto api = make();
    auto ids = [&](std::vector<std::pair<std::string, std::string>> q) {
        auto r = api(req("GET", "/api/v1/alerts", {}, {}, std::move(q)));
        EXPECT_EQ(r.status, 200u) << r.body;
        std::vector<std::string> out;
        const auto body = json::parse(r.body);
        for (const auto& a : body["items"]) out.push_back(a["id"]);
        return out;
    };
    EXPECT_EQ(ids({}), (std::vector<std::string>{"ENG-2-1", "ENG-1-2", "ENG-1-1"}));
    EXPECT_EQ(ids({{"state", "active"}}), (std::vector<std::string>{"ENG-2-1", "ENG-1-2"}));
    EXPECT_EQ(ids({{"state", "cleared"}}), (std::vector<std::string>{"ENG-1-1"}));
    EXPECT_EQ(ids({{"severity", "critical"}}), (std::vector<std::string>{"ENG-1-2"}));
    EXPECT_EQ(ids({{"asset", "ENG-1"}, {"state", "active"}}), (std::vector<std::string>{"ENG-1-2"}));
    EXPECT_EQ(api(req("GET", "/api/v1/alerts", {}, {}, {{"state", "open"}})).status, 400u);
    EXPECT_EQ(api(req("GET", "/api/v1/alerts", {}, {}, {{"severity", "normal"}})).status, 400u);
    // Paging with a filter: one per page, and the last page has no cursor.
    auto first = json::parse(api(req("GET", "/api/v1/alerts", {}, {}, {{"state", "active"}, {"limit", "1"}})).body);
    ASSERT_FALSE(first["next_cursor"].is_null());
    auto second = json::parse(api(req("GET", "/api/v1/alerts", {}, {}, {{"state", "active"}, {"limit", "1"}, {"cursor", first["next_cursor"]}})).body);
    ASSERT_EQ(second["items"].size(), 1u);
    EXPECT_EQ(second["items"][0]["id"], "ENG-1-2");
    EXPECT_TRUE(second["next_cursor"].is_null()) << "no active alert is left below ENG-1-2";
}

TEST_F(api_fixture, one_alert_by_id) {
    auto api = make();
    auto r = api(req("GET", "/api/v1/alerts/ENG-1-2"));
    ASSERT_EQ(r.status, 200u);
    EXPECT_EQ(json::parse(r.body)["severity"], "critical");
    EXPECT_EQ(api(req("GET", "/api/v1/alerts/ENG-9-1")).status, 404u);
    EXPECT_EQ(api(req("GET", "/api/v1/alerts/..%2f")).status, 400u);
}

TEST_F(api_fixture, reads_need_a_viewer_only_when_configured_and_probes_stay_open) {
    auto open_api = make(false);
    EXPECT_EQ(open_api(req("GET", "/api/v1/alerts")).status, 200u);
    auto closed = make(true);
    EXPECT_EQ(closed(req("GET", "/api/v1/alerts")).status, 401u);
    EXPECT_EQ(closed(req("GET", "/api/v1/assets")).status, 401u);
    EXPECT_EQ(closed(req("GET", "/metrics")).status, 401u);
    EXPECT_EQ(closed(req("GET", "/api/v1/alerts", view_token)).status, 200u);
    EXPECT_EQ(closed(req("GET", "/api/v1/alerts", op_token)).status, 200u);
    EXPECT_EQ(closed(req("GET", "/healthz")).status, 200u);
    EXPECT_EQ(closed(req("GET", "/")).status, 200u) << "the page itself holds no data";
}

}  // namespace
}  // namespace turbotwin::app

namespace turbotwin::app {
namespace {

struct events_fixture : ::testing::Test {
    fleet_view view;
    metrics counters;
    std::vector<codec::event_command> seen;

    rest_api make() {
        command_port port;
        port.record_event = [this](const std::string& asset, codec::event_command e) -> Result<command_outcome> {
            seen.push_back(e);
            if (asset == "GONE") return {errc::not_found, "unknown asset GONE"};
            if (e.cycle < 50) return {errc::conflict, "before the last reading"};
            asset_summary s;
            s.id = asset;
            s.life_start = e.cycle;
            return command_outcome{std::nullopt, s};
        };
        auto tokens = parse_token_list("operator:op-0123456789abcdef,viewer:view-0123456789abcdef");
        return rest_api(view, counters, server_status{}, access_policy(*tokens, false), port);
    }
    static http::request post(std::string path, std::string body, std::string token = "op-0123456789abcdef") {
        http::request r;
        r.method = "POST";
        r.path = r.target = std::move(path);
        r.body = std::move(body);
        r.headers.emplace_back("authorization", "Bearer " + token);
        return r;
    }
};

TEST_F(events_fixture, records_an_event_as_operator_only_with_a_valid_body) {
    auto api = make();
    EXPECT_EQ(api(post("/api/v1/assets/ENG-1/events", R"({"type":"maintenance","cycle":60})", "view-0123456789abcdef")).status, 403u);
    EXPECT_EQ(api(post("/api/v1/assets/ENG-1/events", R"({"type":"maintenance","cycle":60})", "nope-nope-nope-nope")).status, 401u);
    for (std::string bad : {"", "[]", R"({"cycle":60})", R"({"type":"overhaul","cycle":60})", R"({"type":"failure"})",
                            R"({"type":"failure","cycle":0})", R"({"type":"failure","cycle":1.5})", R"({"type":"failure","cycle":"60"})",
                            R"({"type":"failure","cycle":60,"note":7})"})
        EXPECT_EQ(api(post("/api/v1/assets/ENG-1/events", bad)).status, 400u) << bad;
    EXPECT_TRUE(seen.empty());
    auto ok = api(post("/api/v1/assets/ENG-1/events", R"({"type":"maintenance","cycle":60,"note":"HPC wash"})"));
    ASSERT_EQ(ok.status, 201u) << ok.body;
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].note, "HPC wash");
    EXPECT_EQ(seen[0].by.rfind("operator-", 0), 0u);
    const auto body = nlohmann::json::parse(ok.body);
    EXPECT_EQ(body["event"]["type"], "maintenance");
    EXPECT_EQ(body["asset"]["life_start_cycle"], 60);
    EXPECT_EQ(api(post("/api/v1/assets/ENG-1/events", R"({"type":"failure","cycle":10})")).status, 409u);
    EXPECT_EQ(api(post("/api/v1/assets/GONE/events", R"({"type":"failure","cycle":60})")).status, 404u);
    auto get = post("/api/v1/assets/ENG-1/events", "");
    get.method = "GET";
    EXPECT_EQ(api(get).status, 405u);
}

}  // namespace
}  // namespace turbotwin::app
