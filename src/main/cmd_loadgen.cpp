// `turbotwin loadgen`: argument parsing and output only; the work is turbotwin::replay::run_loadgen.
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/replay/loadgen.hpp"

namespace turbotwin::cli {

namespace {

struct loadgen_args {
    std::string broker;
    std::string config;
    int assets = 1000;
    std::string prefix = "LG-";
    std::string rate = "1000";
    double duration_s = 10;
    int qos = 1;
    bool passthrough = false;
    bool json = false;
    std::size_t window = 256;
    double drain_s = 5;
    std::uint64_t seed = 1;
    double start_rate = 2000;
    std::string params = std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json";
};

[[noreturn]] void loadgen_usage_error(const std::string& message) {
    std::cerr << "turbotwin loadgen: " << message << '\n';
    throw CLI::RuntimeError(2);
}

nlohmann::json to_json(const replay::loadgen_report& r) {
    return {{"mode", r.mode},
            {"assets", r.assets},
            {"qos", r.qos},
            {"target_rate", r.target_rate},
            {"duration_s", r.duration_s},
            {"sent", r.sent},
            {"publish_failures", r.publish_failures},
            {"received", r.received},
            {"lost", r.lost},
            {"duplicates", r.duplicates},
            {"ts_mismatches", r.ts_mismatches},
            {"send_seconds", r.send_seconds},
            {"achieved_rate", r.achieved_rate},
            {"drain_seconds", r.drain_seconds},
            {"latency_ms", {{"p50", r.latency.p50_ms}, {"p90", r.latency.p90_ms}, {"p99", r.latency.p99_ms}, {"max", r.latency.max_ms}}},
            {"sustained", r.sustained}};
}

void print_text(std::ostream& out, const replay::loadgen_report& r) {
    out << std::fixed << std::setprecision(0) << r.mode << ": " << r.assets << " engines, QoS " << r.qos << ", target " << r.target_rate
        << "/s for " << std::setprecision(1) << r.duration_s << " s: sent " << r.sent << " at " << std::setprecision(0) << r.achieved_rate
        << "/s, received " << r.received << ", lost " << r.lost;
    if (r.publish_failures) out << ", publish failures " << r.publish_failures;
    if (r.duplicates) out << ", duplicates " << r.duplicates;
    if (r.ts_mismatches) out << ", ts mismatches " << r.ts_mismatches;
    out << std::setprecision(2) << "; latency ms p50 " << r.latency.p50_ms << " p90 " << r.latency.p90_ms << " p99 " << r.latency.p99_ms
        << " max " << r.latency.max_ms << "; " << (r.sustained ? "sustained" : "NOT sustained") << '\n';
}

void run(const loadgen_args& a) {
    auto loaded = client_connection_config(a.config);
    if (!loaded) loadgen_usage_error(loaded.detail());
    codec::serve_config c = std::move(*loaded);
    if (!a.broker.empty()) c.broker_url = a.broker;
    if (c.broker_url.empty()) loadgen_usage_error("--broker URL is required (or $TURBOTWIN_BROKER, or --config FILE)");
    if (a.qos < 0 || a.qos > 1) loadgen_usage_error("--qos must be 0 or 1");
    if (a.window < 1) loadgen_usage_error("--window must be at least 1");

    replay::loadgen_options o;
    o.broker.broker_url = c.broker_url;
    o.broker.username = c.mqtt_username;
    o.broker.password = c.mqtt_password;
    o.broker.tls = {c.mqtt_tls.ca_file, c.mqtt_tls.cert_file, c.mqtt_tls.key_file, c.mqtt_tls.key_password, c.mqtt_tls.verify_server};
    if (auto ok = mqtt::check_options(o.broker); !ok) loadgen_usage_error(ok.detail());
    o.assets = a.assets;
    o.asset_prefix = a.prefix;
    o.duration_s = a.duration_s;
    o.qos = a.qos;
    o.passthrough = a.passthrough;
    o.max_in_flight = a.window;
    o.drain = std::chrono::milliseconds(std::llround(a.drain_s * 1000));
    o.seed = a.seed;
    auto params = simulation::load_simulator_params(a.params);
    if (!params) loadgen_usage_error("--params: " + params.message());

    if (a.rate == "max") {
        auto found = replay::find_max_rate(o, *params, a.start_rate, 400000, 3, [&](const replay::loadgen_report& r) {
            if (!a.json) print_text(std::cout, r);
        });
        if (!found) {
            std::cerr << "turbotwin loadgen: " << found.message() << '\n';
            throw CLI::RuntimeError(1);
        }
        if (a.json) {
            nlohmann::json trials = nlohmann::json::array();
            for (const auto& t : found->trials) trials.push_back(to_json(t));
            std::cout << nlohmann::json{{"mode", o.passthrough ? "passthrough" : "twin"}, {"max_sustained_rate", found->max_sustained_rate}, {"trials", trials}}.dump(2) << '\n';
        } else {
            std::cout << "max sustained rate: " << std::fixed << std::setprecision(0) << found->max_sustained_rate << " messages/s\n";
        }
        if (found->max_sustained_rate <= 0) throw CLI::RuntimeError(3);
        return;
    }
    char* end = nullptr;
    o.rate = std::strtod(a.rate.c_str(), &end);
    if (a.rate.empty() || *end != '\0' || !(o.rate > 0) || o.rate > 1e7) loadgen_usage_error("--rate must be a positive number of messages per second or 'max', not '" + a.rate + "'");
    auto report = replay::run_loadgen(o, *params);
    if (!report) {
        std::cerr << "turbotwin loadgen: " << report.message() << '\n';
        throw CLI::RuntimeError(1);
    }
    if (a.json) std::cout << to_json(*report).dump(2) << '\n';
    else print_text(std::cout, *report);
    if (report->lost > 0) throw CLI::RuntimeError(3);
}

}  // namespace

void register_loadgen(CLI::App& app) {
    auto args = std::make_shared<loadgen_args>();
    auto* sub = app.add_subcommand("loadgen", "Publish simulated telemetry for N engines at a fixed rate and measure the twin's answers");
    sub->add_option("--broker", args->broker, "Broker URL, e.g. tcp://127.0.0.1:1883 (or $TURBOTWIN_BROKER, or --config)");
    sub->add_option("--config", args->config, "Take the broker URL, user, password and TLS files from this config file, as serve does");
    sub->add_option("--assets", args->assets, "Engines, PREFIX000001 .. PREFIX<N>, sending in turn")->check(CLI::Range(1, 999999))->capture_default_str();
    sub->add_option("--prefix", args->prefix,
                    "Engine id prefix. Each run starts its engines' cycles afresh and a twin refuses cycles it already has: "
                    "give every run against the same server its own prefix")
        ->capture_default_str();
    sub->add_option("--rate", args->rate,
                    "Messages per second (all engines together), or 'max': trials of --duration each, doubling the rate until one "
                    "is not sustained, then bisecting")
        ->capture_default_str();
    sub->add_option("--start-rate", args->start_rate, "First trial's rate with --rate max")->check(CLI::PositiveNumber)->capture_default_str();
    sub->add_option("--duration", args->duration_s, "Seconds of publishing (per trial)")->check(CLI::PositiveNumber)->capture_default_str();
    sub->add_option("--qos", args->qos, "QoS of the telemetry and of the subscription")->capture_default_str();
    sub->add_flag("--passthrough", args->passthrough,
                  "Broker alone: publish to loadgen/v1/engines/ID/telemetry and subscribe to it, no twin in the loop (the baseline)");
    sub->add_flag("--json", args->json, "Print the report as JSON");
    sub->add_option("--window", args->window, "Unacknowledged QoS 1 publishes in flight at most")->capture_default_str();
    sub->add_option("--drain", args->drain_s, "Seconds to wait for answers after the last publish")->check(CLI::NonNegativeNumber)->capture_default_str();
    sub->add_option("--seed", args->seed, "Simulated engines and their starting ages")->capture_default_str();
    sub->add_option("--params", args->params, "Simulator parameters")->capture_default_str();
    sub->footer("Each message carries \"ts\" (epoch ms), echoed by the twin's RUL message; latency is measured from the publish "
                "to the matching answer (same engine and cycle). Exit status: 0 nothing lost, 1 broker error, 2 usage error, "
                "3 messages lost (or, with --rate max, no rate sustained).");
    sub->callback([args] { run(*args); });
}

}  // namespace turbotwin::cli
