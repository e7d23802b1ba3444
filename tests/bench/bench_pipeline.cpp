// Microbenchmarks of the ingest path, each stage alone and one whole reading through the fleet,
// against the floor of parsing the same telemetry JSON. Inputs are simulated FD001-like engines
// (models/simulator.json), encoded as the engines send them. docs/performance.md has the figures.
//
//   cmake -S . -B build/bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DTURBOTWIN_BUILD_BENCHMARKS=ON
//   cmake --build build/bench --target bench_pipeline && build/bench/tests/bench/bench_pipeline
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/metrics.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/simulation/fleet.hpp"

namespace {

using namespace turbotwin;

constexpr int bench_engines = 256;
constexpr std::int64_t ts_base_ms = 1'764'000'000'000;

/// Everything the benchmarks share, built once.
struct inputs {
    app::runtime rt;
    std::vector<reading> readings;       ///< cycle-major: every engine's cycle 1, then cycle 2, ...
    std::vector<int> engine_of;          ///< engine index of each reading
    std::vector<std::string> payloads;   ///< readings encoded as telemetry, with "ts"
    std::vector<std::string> topics;     ///< per engine

    static const inputs& get() {
        static const inputs in = build();
        return in;
    }

private:
    static inputs build() {
        inputs in;
        const std::string source = TURBOTWIN_SOURCE_DIR;
        auto rt = app::load_runtime(source + "/config/turbotwin.json");
        if (!rt) { std::cerr << "bench: " << rt.message() << "\n"; std::exit(1); }
        in.rt = std::move(*rt);
        auto params = simulation::load_simulator_params(source + "/models/simulator.json");
        if (!params) { std::cerr << "bench: " << params.message() << "\n"; std::exit(1); }
        simulation::fleet_options options;
        options.engines = bench_engines;
        options.seed = 7;
        options.cut_short_fraction = 0;
        const auto fleet = simulation::simulate_fleet(*params, options);
        std::size_t longest = 0;
        for (const auto& e : fleet) longest = std::max(longest, e.cycles.size());
        for (std::size_t c = 0; c < longest; ++c)
            for (int e = 0; e < bench_engines; ++e)
                if (c < fleet[e].cycles.size()) {
                    reading r = fleet[e].cycles[c];
                    r.ts_ms = ts_base_ms + std::int64_t(in.readings.size());
                    in.payloads.push_back(codec::encode_telemetry(r));
                    in.readings.push_back(r);
                    in.engine_of.push_back(e);
                }
        for (int e = 0; e < bench_engines; ++e) in.topics.push_back(codec::telemetry_topic(asset_id_for_unit("ENG-", e + 1)));
        return in;
    }
};

// The floor: simdjson parsing the payload into its DOM, nothing else.
void json_parse_floor(benchmark::State& state) {
    const auto& in = inputs::get();
    std::vector<simdjson::padded_string> padded;
    for (std::size_t i = 0; i < 4096; ++i) padded.emplace_back(in.payloads[i]);
    simdjson::dom::parser parser;
    std::size_t i = 0;
    for (auto _ : state) {
        auto doc = parser.parse(padded[i++ % padded.size()]);
        benchmark::DoNotOptimize(doc.error());
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["payload_bytes"] = double(in.payloads[0].size());
}
BENCHMARK(json_parse_floor);

// For scale: the general-purpose parser the rest of the code uses for config and REST bodies.
void json_parse_nlohmann(benchmark::State& state) {
    const auto& in = inputs::get();
    std::size_t i = 0;
    for (auto _ : state) {
        auto doc = nlohmann::json::parse(in.payloads[i++ % 4096]);
        benchmark::DoNotOptimize(doc);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(json_parse_nlohmann);

void telemetry_decode(benchmark::State& state) {
    const auto& in = inputs::get();
    std::size_t i = 0;
    for (auto _ : state) {
        auto decoded = codec::decode_telemetry(in.payloads[i++ % 4096]);
        benchmark::DoNotOptimize(decoded);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(telemetry_decode);

// One Kalman step of one channel (a twin runs one per model channel per reading).
void filter_step(benchmark::State& state) {
    const auto& in = inputs::get();
    const auto& channel = in.rt.twin.model->channels.front();
    estimation::trend_filter filter(channel.filter);
    estimation::update_info info;
    std::size_t i = 0;
    for (auto _ : state) {
        const auto& r = in.readings[(i++ * bench_engines) % in.readings.size()];
        benchmark::DoNotOptimize(filter.step(1.0, r.sensors[channel.sensor], info));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(filter_step);

// Features from the filters, then the boosted trees and the calibrated interval.
void predictor(benchmark::State& state) {
    const auto& in = inputs::get();
    const auto& model = *in.rt.twin.model;
    // Features of real twins at different ages, so the trees take different paths.
    std::vector<std::vector<float>> features;
    twin::asset_twin tw("ENG-001", in.rt.twin);
    for (std::size_t k = 0; k < in.readings.size() && features.size() < 200; ++k)
        if (in.engine_of[k] == 0 && tw.process(in.readings[k])) features.push_back(tw.features());
    std::size_t i = 0;
    for (auto _ : state) {
        auto estimate = prognostics::predict(model, features[i++ % features.size()]);
        benchmark::DoNotOptimize(estimate);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["trees"] = double(model.trees.trees.size());
}
BENCHMARK(predictor);

void alert_rules(benchmark::State& state) {
    const auto& thresholds = inputs::get().rt.twin.alert_thresholds;
    alerting::asset_alerts alerts;
    std::int64_t cycle = 0;
    for (auto _ : state) {
        // A life from RUL 150 down to 0 and again: mostly no change, a raise or clear now and then.
        ++cycle;
        const double rul = double(150 - cycle % 150);
        auto change = alerts.evaluate(thresholds, "ENG-001", cycle, rul, rul - 15, rul + 15);
        benchmark::DoNotOptimize(change);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(alert_rules);

// A whole twin update: sanitize, every channel's filter, novelty, features, trees, risk, alerts.
void twin_process(benchmark::State& state) {
    const auto& in = inputs::get();
    std::vector<std::unique_ptr<twin::asset_twin>> twins;
    std::size_t k = 0;
    auto restart = [&] {
        twins.clear();
        for (int e = 0; e < bench_engines; ++e) twins.push_back(std::make_unique<twin::asset_twin>(asset_id_for_unit("ENG-", e + 1), in.rt.twin));
        k = 0;
    };
    restart();
    for (auto _ : state) {
        if (k == in.readings.size()) {
            state.PauseTiming();
            restart();
            state.ResumeTiming();
        }
        auto update = twins[in.engine_of[k]]->process(in.readings[k]);
        benchmark::DoNotOptimize(update);
        ++k;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(twin_process);

void rul_message_encode(benchmark::State& state) {
    const auto& in = inputs::get();
    twin::asset_twin tw("ENG-001", in.rt.twin);
    std::optional<twin::twin_update> update;
    for (std::size_t k = 0; k < in.readings.size() && k < 5000; ++k)
        if (in.engine_of[k] == 0)
            if (auto u = tw.process(in.readings[k])) update = *u;
    for (auto _ : state) benchmark::DoNotOptimize(app::rul_message(tw.id(), *update));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(rul_message_encode);

/// Does what the server's MQTT sink does with each result, short of the network: encodes it.
class encoding_sink final : public app::output_sink {
public:
    void rul(const std::string& asset, const twin::twin_update& u) override { bytes += app::rul_message(asset, u).size(); }
    void alert(const alerting::alert& a) override { bytes += app::alert_json(a).dump().size(); }
    void rejected(const std::string&, const std::string&) override { ++rejections; }
    std::size_t bytes = 0, rejections = 0;
};

/// Takes the store's batches and drops them (their snapshots are still taken by the worker).
class discarding_changes final : public app::change_sink {
public:
    void batch_done(store::change_set&& changes) override { records += changes.records(); }
    std::size_t records = 0;
};

// One whole reading through the in-process pipeline, as `serve` runs it after the MQTT callback:
// admit and queue (this thread), then on the fleet's one worker: decode, twin update, the REST
// read model, the RUL message, the store's change set with a snapshot per engine per batch.
// Wall time per reading = the worker's cost while it is the bottleneck (one worker: one core).
void pipeline_reading(benchmark::State& state) {
    const auto& in = inputs::get();
    app::fleet_view view;
    app::metrics counters;
    encoding_sink sink;
    discarding_changes changes;
    app::fleet fleet(in.rt.twin, 1, {}, view, counters, sink, &changes);
    int pass = 0;
    for (auto _ : state) {
        // Fresh engine ids each pass (cycles must increase per engine); one pass = every reading.
        state.PauseTiming();
        const std::string prefix = std::string("P").append(std::to_string(pass++)).append("-");
        std::vector<std::string> topics;
        for (int e = 0; e < bench_engines; ++e) topics.push_back(codec::telemetry_topic(prefix + asset_id_for_unit("ENG-", e + 1)));
        std::vector<std::string> payloads = in.payloads;
        state.ResumeTiming();
        for (std::size_t k = 0; k < payloads.size(); ++k) fleet.submit(topics[in.engine_of[k]], std::move(payloads[k]));
        while (!fleet.idle()) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(in.payloads.size()));
    if (sink.rejections) state.SkipWithError("readings were rejected");
    state.counters["applied"] = double(counters.readings_applied.load());
}
BENCHMARK(pipeline_reading)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
