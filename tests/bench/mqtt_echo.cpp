// The ceiling of any twin that talks MQTT through Paho: a client that does no twin work at all.
// It subscribes to telemetry at QoS 1, as serve does (same client adapter), and republishes
// each payload unchanged as that engine's RUL message at QoS 0, as serve publishes RUL. It
// answers on Paho's receive thread, so it pays no hand-off either. loadgen matches an answer by
// engine, "cycle" and "ts", which a telemetry payload carries, so `loadgen --rate max` against it
// measures what the MQTT hops alone allow.
// scripts/perf.py runs it beside the pass-through and the twin (docs/performance.md).
//
//   mqtt_echo --broker tcp://127.0.0.1:1883      (runs until SIGINT or SIGTERM)
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>
#include <thread>

#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/mqtt/client.hpp"

namespace {

std::atomic<bool> stop_requested{false};

void request_stop(int) { stop_requested = true; }

}  // namespace

int main(int argc, char** argv) {
    namespace codec = turbotwin::codec;
    namespace mqtt = turbotwin::mqtt;  // not Paho's ::mqtt
    if (argc != 3 || std::string_view(argv[1]) != "--broker") {
        std::fprintf(stderr, "usage: %s --broker URL\n", argv[0]);
        return 2;
    }
    std::signal(SIGINT, request_stop);
    std::signal(SIGTERM, request_stop);

    mqtt::client_options options;
    options.broker_url = argv[2];
    options.client_id = "turbotwin-mqtt-echo";
    // A clean session, unlike serve's: a persistent one would stay on the broker after the echo
    // stops, and the broker would queue every later run's telemetry for it.
    options.clean_session = true;
    mqtt::client broker(options);
    std::atomic<std::uint64_t> echoed{0}, refused{0};
    broker.on_message([&](mqtt::message&& m) {
        auto asset = codec::asset_from_telemetry_topic(m.topic);
        if (!asset) {
            refused.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        if (broker.publish(codec::rul_topic(*asset), m.payload, 0)) echoed.fetch_add(1, std::memory_order_relaxed);
        else refused.fetch_add(1, std::memory_order_relaxed);
    });
    if (auto s = broker.subscribe(std::string(codec::telemetry_subscription), 1); !s) {
        std::fprintf(stderr, "mqtt_echo: %s\n", s.message().c_str());
        return 1;
    }
    if (auto c = broker.connect(std::chrono::seconds(5)); !c) {
        std::fprintf(stderr, "mqtt_echo: %s\n", c.message().c_str());
        return 1;
    }
    std::printf("mqtt_echo: ready\n");
    std::fflush(stdout);
    while (!stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    broker.disconnect(std::chrono::seconds(1));
    std::printf("mqtt_echo: echoed %llu, refused %llu\n", static_cast<unsigned long long>(echoed.load()),
                static_cast<unsigned long long>(refused.load()));
    return 0;
}
