// stream_hub and GET /api/v1/stream: the SSE frames a dashboard receives, per-engine filtering,
// forgetting clients that left, the tee in front of the MQTT sink, and the route's checks.
// Frames are read off a real http::server over loopback.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/rest_api.hpp"
#include "turbotwin/app/stream_hub.hpp"

namespace turbotwin::app {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

/// Reads a streaming answer's raw bytes. A pushed frame is never split across chunks, so a
/// frame's text shows up whole in the raw bytes.
class raw_reader {
public:
    raw_reader(unsigned short port, const std::string& target) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect");
        }
        const std::string req = "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
        if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) throw std::runtime_error("send");
    }
    ~raw_reader() { close(); }
    raw_reader(const raw_reader&) = delete;
    raw_reader& operator=(const raw_reader&) = delete;

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    /// Reads until the bytes so far contain `needle`.
    bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = 3000ms) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (data_.find(needle) == std::string::npos) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
            char buf[16384];
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) return false;
            data_.append(buf, static_cast<std::size_t>(n));
        }
        return true;
    }

    const std::string& data() const { return data_; }

private:
    int fd_ = -1;
    std::string data_;
};

twin::twin_update update(std::int64_t cycle, double rul) {
    twin::twin_update u;
    u.cycle = cycle;
    u.estimate.rul = rul;
    u.estimate.rul_lo = rul - 10;
    u.estimate.rul_hi = rul + 12.5;
    u.level = alerting::severity::warning;
    u.trust = twin::confidence::high;
    return u;
}

alerting::alert make_alert(const std::string& asset, int n) {
    alerting::alert a;
    a.id = asset + "-" + std::to_string(n);
    a.asset = asset;
    a.level = alerting::severity::critical;
    a.raised_cycle = a.cycle = 150;
    a.rul = 8;
    return a;
}

/// The frame text of one event, as clients must see it.
std::string frame(const std::string& event, const std::string& data) { return "event: " + event + "\ndata: " + data + "\n\n"; }

template <class Cond>
bool eventually(Cond cond) {
    for (int i = 0; i < 600 && !cond(); ++i) std::this_thread::sleep_for(5ms);
    return cond();
}

struct hub_fixture : ::testing::Test {
    stream_hub hub;
    std::unique_ptr<http::server> web;
    unsigned short port = 0;

    void SetUp() override {
        web = std::make_unique<http::server>(http::server_options{.port = 0}, [this](const http::request& req) {
            auto asset = req.query_param("asset");
            return hub.open(std::move(asset));
        });
        auto p = web->start();
        ASSERT_TRUE(p.ok()) << p.message();
        port = *p;
    }
    void TearDown() override { web->stop(); }
};

TEST_F(hub_fixture, rul_and_alert_frames_carry_the_mqtt_documents) {
    raw_reader c(port, "/api/v1/stream");
    ASSERT_TRUE(c.wait_for("\r\n\r\n"));
    EXPECT_NE(c.data().find("Content-Type: text/event-stream"), std::string::npos);
    ASSERT_TRUE(eventually([&] { return hub.clients() == 1; }));

    hub.publish_rul("ENG-1", update(112, 41.5));
    const std::string rul_frame = frame("rul", rul_message("ENG-1", update(112, 41.5)));
    ASSERT_TRUE(c.wait_for(rul_frame)) << c.data();
    const auto data = json::parse(rul_frame.substr(rul_frame.find("data: ") + 6));
    EXPECT_EQ(data["asset"], "ENG-1");
    EXPECT_EQ(data["cycle"], 112);
    EXPECT_EQ(data["rul"], 41.5);
    EXPECT_EQ(data["rul_lo"], 31.5);
    EXPECT_EQ(data["rul_hi"], 54.0);
    EXPECT_EQ(data["severity"], "warning");
    EXPECT_EQ(data["confidence"], "high");

    const auto a = make_alert("ENG-1", 3);
    hub.publish_alert(a);
    ASSERT_TRUE(c.wait_for(frame("alert", alert_json(a).dump()))) << c.data();
    // In publication order.
    EXPECT_LT(c.data().find("event: rul"), c.data().find("event: alert"));
}

TEST_F(hub_fixture, asset_filter_passes_only_that_engine) {
    raw_reader all(port, "/api/v1/stream");
    raw_reader one(port, "/api/v1/stream?asset=ENG-2");
    ASSERT_TRUE(all.wait_for("\r\n\r\n") && one.wait_for("\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return hub.clients() == 2; }));
    hub.publish_rul("ENG-1", update(5, 100));
    hub.publish_alert(make_alert("ENG-1", 1));
    hub.publish_rul("ENG-2", update(6, 90));
    ASSERT_TRUE(one.wait_for("\"asset\":\"ENG-2\""));
    ASSERT_TRUE(all.wait_for("\"asset\":\"ENG-2\""));
    EXPECT_EQ(one.data().find("ENG-1"), std::string::npos) << one.data();
    EXPECT_NE(all.data().find("\"asset\":\"ENG-1\""), std::string::npos);
}

TEST_F(hub_fixture, clients_that_leave_are_forgotten) {
    {
        raw_reader c(port, "/api/v1/stream");
        ASSERT_TRUE(c.wait_for("\r\n\r\n"));
        ASSERT_TRUE(eventually([&] { return hub.clients() == 1; }));
    }
    // The server notices the close; the hub drops the stream on its next look.
    EXPECT_TRUE(eventually([&] { return hub.clients() == 0; }));
    hub.publish_rul("ENG-1", update(1, 100));  // nobody listens: nothing to do
    const auto text = hub.prometheus();
    EXPECT_NE(text.find("turbotwin_stream_clients 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("turbotwin_stream_dropped_total 0\n"), std::string::npos) << text;
}

TEST_F(hub_fixture, close_all_ends_the_streams) {
    raw_reader c(port, "/api/v1/stream");
    ASSERT_TRUE(c.wait_for("\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return hub.clients() == 1; }));
    hub.publish_alert(make_alert("ENG-9", 1));
    hub.close_all();
    EXPECT_EQ(hub.clients(), 0u);
    // What was queued still arrives, then the body ends.
    EXPECT_TRUE(c.wait_for("event: alert"));
    EXPECT_TRUE(c.wait_for("0\r\n\r\n"));
}

/// Records what passes through (our own three-method interface, not a vendor's).
struct recording_sink final : output_sink {
    std::vector<std::string> seen;
    void rul(const std::string& asset, const twin::twin_update& u) override { seen.push_back("rul " + asset + " " + std::to_string(u.cycle)); }
    void alert(const alerting::alert& a) override { seen.push_back("alert " + a.id); }
    void rejected(const std::string& topic, const std::string& reason) override { seen.push_back("rejected " + topic + " " + reason); }
};

TEST_F(hub_fixture, tee_feeds_the_next_sink_and_the_streams) {
    raw_reader c(port, "/api/v1/stream");
    ASSERT_TRUE(c.wait_for("\r\n\r\n"));
    ASSERT_TRUE(eventually([&] { return hub.clients() == 1; }));
    recording_sink mqtt;
    stream_tee tee(mqtt, hub);
    tee.rul("ENG-4", update(7, 60));
    tee.alert(make_alert("ENG-4", 2));
    tee.rejected("turbotwin/v1/engines/x/telemetry", "malformed_json");
    EXPECT_EQ(mqtt.seen, (std::vector<std::string>{"rul ENG-4 7", "alert ENG-4-2",
                                                   "rejected turbotwin/v1/engines/x/telemetry malformed_json"}));
    EXPECT_TRUE(c.wait_for(frame("alert", alert_json(make_alert("ENG-4", 2)).dump())));
    EXPECT_NE(c.data().find(frame("rul", rul_message("ENG-4", update(7, 60)))), std::string::npos);
    EXPECT_EQ(c.data().find("rejected"), std::string::npos);
}

TEST(stream_route, needs_a_hub_a_valid_asset_and_read_access) {
    fleet_view view;
    metrics counters;
    http::request req;
    req.method = "GET";
    req.path = req.target = "/api/v1/stream";

    rest_api without(view, counters, server_status{});
    EXPECT_EQ(without(req).status, 404u);

    stream_hub hub;
    server_status status;
    status.streams = &hub;
    rest_api api(view, counters, status);
    auto ok = api(req);
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.content_type, "text/event-stream");
    ASSERT_TRUE(ok.stream);
    EXPECT_EQ(hub.clients(), 1u);
    EXPECT_TRUE(ok.headers.end() == std::find_if(ok.headers.begin(), ok.headers.end(),
                                                 [](const auto& h) { return h.first == "ETag"; }));
    ok.stream->close();
    EXPECT_EQ(hub.clients(), 0u);

    auto bad = req;
    bad.query = {{"asset", "../etc"}};
    EXPECT_EQ(api(bad).status, 400u);
    auto post = req;
    post.method = "POST";
    EXPECT_EQ(api(post).status, 405u);

    auto tokens = parse_token_list("viewer:view-0123456789abcdef");
    ASSERT_TRUE(tokens.ok());
    rest_api guarded(view, counters, status, access_policy(*tokens, /*reads_need_auth=*/true));
    EXPECT_EQ(guarded(req).status, 401u);
    auto with_token = req;
    with_token.headers = {{"authorization", "Bearer view-0123456789abcdef"}};
    auto granted = guarded(with_token);
    EXPECT_EQ(granted.status, 200u);
    ASSERT_TRUE(granted.stream);
    granted.stream->close();

    const auto metrics_text = api([] {
        http::request m;
        m.method = "GET";
        m.path = m.target = "/metrics";
        return m;
    }()).body;
    EXPECT_NE(metrics_text.find("turbotwin_stream_clients 0"), std::string::npos);
}

}  // namespace
}  // namespace turbotwin::app
