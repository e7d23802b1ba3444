#include "turbotwin/app/fleet.hpp"

#include <chrono>
#include <functional>
#include <spdlog/spdlog.h>

namespace turbotwin::app {

fleet::fleet(const twin::twin_config& config, unsigned workers, codec::telemetry_limits limits, fleet_view& view,
             metrics& counters, output_sink& sink)
    : config_(config), limits_(limits), view_(view), metrics_(counters), sink_(sink) {
    for (unsigned i = 0; i < std::max(1u, workers); ++i) shards_.push_back(std::make_unique<shard>());
    for (auto& s : shards_) s->thread = std::thread([this, sp = s.get()] { run(*sp); });
}

fleet::~fleet() { stop(); }

void fleet::submit(std::string topic, std::string payload) {
    metrics_.messages_received.fetch_add(1, std::memory_order_relaxed);
    auto asset = codec::asset_from_telemetry_topic(topic);
    if (!asset) {
        reject(topic, asset.error(), asset.detail());
        return;
    }
    // Oversized payloads are dropped here so they never sit in a queue.
    if (payload.size() > limits_.max_payload_bytes) {
        reject(topic, errc::payload_too_large, std::to_string(payload.size()) + " bytes");
        return;
    }
    auto& s = *shards_[std::hash<std::string>{}(*asset) % shards_.size()];
    {
        std::lock_guard lock(s.mu);
        s.queue.push_back({std::move(*asset), std::move(topic), std::move(payload)});
    }
    s.cv.notify_one();
}

void fleet::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& s : shards_) {
        {
            std::lock_guard lock(s->mu);
            s->stopping = true;
        }
        s->cv.notify_all();
    }
    for (auto& s : shards_)
        if (s->thread.joinable()) s->thread.join();
}

std::size_t fleet::backlog() const {
    std::size_t n = 0;
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mu);
        n += s->queue.size();
    }
    return n;
}

bool fleet::idle() const {
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mu);
        if (!s->queue.empty() || s->busy) return false;
    }
    return true;
}

void fleet::run(shard& s) {
    std::deque<job> batch;
    for (;;) {
        {
            std::unique_lock lock(s.mu);
            s.busy = false;
            s.cv.wait(lock, [&] { return !s.queue.empty() || s.stopping; });
            if (s.queue.empty()) return;  // stopping and drained
            batch.swap(s.queue);
            s.busy = true;
        }
        for (auto& j : batch) process(s, j);
        batch.clear();
    }
}

void fleet::reject(const std::string& topic, errc reason, const std::string& detail) {
    metrics_.count_rejected(reason);
    sink_.rejected(topic, std::string(reason_label(reason)) + (detail.empty() ? "" : ": " + detail));
}

void fleet::process(shard& s, job& j) {
    auto decoded = codec::decode_telemetry(j.payload, limits_);
    if (!decoded) {
        reject(j.topic, decoded.error(), decoded.detail());
        return;
    }
    if (decoded->bad_sensors > 0) metrics_.sensors_ignored.fetch_add(std::uint64_t(decoded->bad_sensors), std::memory_order_relaxed);
    auto it = s.twins.find(j.asset);
    const bool is_new = it == s.twins.end();
    std::unique_ptr<twin::asset_twin> fresh;
    twin::asset_twin* tw = nullptr;
    if (is_new) {
        fresh = std::make_unique<twin::asset_twin>(j.asset, config_);
        tw = fresh.get();
    } else {
        tw = it->second.get();
    }
    auto update = tw->process(std::move(decoded->data));
    if (!update) {
        reject(j.topic, update.error(), update.detail());
        if (update.error() != errc::numerical_fault) return;
    }
    if (is_new) {
        if (!update) return;  // an engine exists once one of its readings has been applied
        s.twins.emplace(j.asset, std::move(fresh));
    }
    if (update) {
        metrics_.readings_applied.fetch_add(1, std::memory_order_relaxed);
        if (update->dropped_sensors > 0) metrics_.sensors_ignored.fetch_add(std::uint64_t(update->dropped_sensors), std::memory_order_relaxed);
    }

    asset_summary summary;
    summary.id = tw->id();
    summary.last_cycle = tw->last_cycle();
    summary.readings = tw->readings_applied();
    if (const auto& last = tw->last_update()) {
        summary.rul = last->estimate.rul;
        summary.rul_lo = last->estimate.rul_lo;
        summary.rul_hi = last->estimate.rul_hi;
        summary.level = last->level;
    }
    if (const auto& a = tw->alerts().active()) summary.active_alert = a->id;
    summary.fault = tw->fault();
    summary.channels = tw->channels();
    summary.updated_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (update) {
        // Alerts first into the view, so an asset never points at an alert REST cannot show.
        if (update->alerts.cleared) { view_.record_alert(*update->alerts.cleared); sink_.alert(*update->alerts.cleared); }
        if (update->alerts.raised) { view_.record_alert(*update->alerts.raised); sink_.alert(*update->alerts.raised); }
    }
    view_.upsert(std::move(summary));
    if (update) sink_.rul(tw->id(), *update);
}

}  // namespace turbotwin::app
