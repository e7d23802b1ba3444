#include "turbotwin/app/server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/rest_api.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/mqtt/client.hpp"

namespace turbotwin::app {

namespace {

/// Publishes results on MQTT: RUL at QoS 0 (superseded every cycle), alerts at QoS 1 (each one
/// matters), rejections on the errors topic at most `errors_per_second`.
class mqtt_sink final : public output_sink {
public:
    mqtt_sink(mqtt::client& client, metrics& counters) : client_(client), metrics_(counters) {}

    void rul(const std::string& asset, const twin::twin_update& u) override {
        if (client_.publish(codec::rul_topic(asset), rul_message(asset, u), 0)) metrics_.rul_published.fetch_add(1, std::memory_order_relaxed);
        else metrics_.publish_failures.fetch_add(1, std::memory_order_relaxed);
    }

    void alert(const alerting::alert& a) override {
        if (client_.publish(codec::alert_topic(a.asset), alert_json(a).dump(), 1)) metrics_.alerts_published.fetch_add(1, std::memory_order_relaxed);
        else metrics_.publish_failures.fetch_add(1, std::memory_order_relaxed);
    }

    void rejected(const std::string& topic, const std::string& reason) override {
        spdlog::debug("rejected message on '{}': {}", topic.substr(0, 200), reason);
        const auto now = std::chrono::steady_clock::now();
        {
            std::lock_guard lock(mu_);
            if (now - window_start_ >= std::chrono::seconds(1)) {
                window_start_ = now;
                in_window_ = 0;
            }
            if (++in_window_ > errors_per_second) return;
        }
        // The topic may be hostile: report a bounded, JSON-escaped prefix.
        nlohmann::json j = {{"topic", topic.substr(0, 200)}, {"reason", reason}};
        client_.publish(codec::errors_topic, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 0);
    }

private:
    static constexpr int errors_per_second = 10;
    mqtt::client& client_;
    metrics& metrics_;
    std::mutex mu_;
    std::chrono::steady_clock::time_point window_start_{};
    int in_window_ = 0;
};

}  // namespace

Result<bool> run_server(const runtime& rt, const std::atomic<bool>& stop) {
    const auto& cfg = rt.config;
    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir, ec);
    if (ec) return {errc::io_error, "cannot create data dir " + cfg.data_dir + ": " + ec.message()};
    auto listen = codec::parse_host_port(cfg.http_listen);
    if (!listen) return {listen.error(), listen.detail()};

    metrics counters;
    fleet_view view;
    mqtt::client_options mo;
    mo.broker_url = cfg.broker_url;
    mo.client_id = cfg.client_id;
    mo.clean_session = cfg.clean_session;
    mqtt::client broker(mo);
    mqtt_sink sink(broker, counters);
    codec::telemetry_limits limits;
    limits.max_payload_bytes = cfg.max_payload_bytes;
    fleet engines(rt.twin, cfg.workers, limits, view, counters, sink);

    broker.on_message([&engines](mqtt::message&& m) { engines.submit(std::move(m.topic), std::move(m.payload)); });
    // Subscribe before HTTP comes up: once /healthz answers, no telemetry is missed.
    (void)broker.subscribe(std::string(codec::telemetry_subscription), 1);
    if (auto c = broker.connect(std::chrono::seconds(5)); !c)
        spdlog::warn("{}; retrying in the background", c.message());
    else
        spdlog::info("connected to {}", cfg.broker_url);
    std::thread reconnector;
    if (!broker.connected()) {
        reconnector = std::thread([&] {
            while (!stop.load() && !broker.connected()) {
                if (broker.connect(std::chrono::seconds(2))) {
                    spdlog::info("connected to {}", cfg.broker_url);
                    break;
                }
                for (int i = 0; i < 20 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
    }

    server_status status;
    status.broker_connected = [&broker] { return broker.connected(); };
    status.broker_reconnects = [&broker] { return broker.reconnects(); };
    status.ingest_backlog = [&engines] { return engines.backlog(); };
    status.model_name = rt.twin.model->name;
    status.version = TURBOTWIN_VERSION;
    rest_api api(view, counters, status);
    http::server_options ho;
    ho.host = listen->first;
    ho.port = listen->second;
    ho.max_body_bytes = cfg.http_max_body_bytes;
    http::server web(ho, [&api](const http::request& r) { return api(r); });
    auto port = web.start();
    if (!port) {
        engines.stop();
        if (reconnector.joinable()) reconnector.join();
        return {port.error(), port.detail()};
    }
    spdlog::info("REST API and dashboard on http://{}:{}/", ho.host, *port);

    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));

    spdlog::info("shutting down: draining {} queued messages", engines.backlog());
    if (reconnector.joinable()) reconnector.join();
    // Finish in-flight work while the broker can still take its alerts, then stop intake.
    for (int i = 0; i < 100 && !engines.idle(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    broker.disconnect(std::chrono::seconds(2));
    engines.stop();
    web.stop();
    spdlog::info("stopped: {} readings applied, {} rejected", counters.readings_applied.load(), counters.rejected_total());
    return true;
}

}  // namespace turbotwin::app
