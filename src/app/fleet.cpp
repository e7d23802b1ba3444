#include "turbotwin/app/fleet.hpp"

#include <algorithm>
#include <chrono>
#include <functional>
#include <span>
#include <unordered_map>
#include <spdlog/spdlog.h>

#include "turbotwin/app/json_out.hpp"
#include "turbotwin/codec/command.hpp"
#include "turbotwin/twin/state_record.hpp"
#include "wall_clock.hpp"

namespace turbotwin::app {

namespace {

// What REST shows of a twin: the same whether it was just updated or restored at start-up.
asset_summary summarize(const twin::asset_twin& tw, std::int64_t updated_ms) {
    asset_summary summary;
    summary.id = tw.id();
    summary.last_cycle = tw.last_cycle();
    summary.readings = tw.readings_applied();
    if (const auto& last = tw.last_update()) {
        summary.rul = last->estimate.rul;
        summary.rul_lo = last->estimate.rul_lo;
        summary.rul_hi = last->estimate.rul_hi;
        summary.level = last->level;
        summary.trust = last->trust;
        summary.risk_rul = last->risk_rul;
        summary.risk = last->risk;
        summary.novelty = last->novelty;
        summary.raw = last->estimate.raw;
        summary.widening = last->estimate.widening;
    }
    summary.life_start = tw.life_start();
    asset_notes notes;
    if (const auto& last = tw.last_update()) notes.trust_reason = last->trust_reason;
    if (const auto& a = tw.alerts().active()) notes.active_alert = a->id;
    notes.fault = tw.fault();
    notes.closed = tw.closed();
    if (!notes.empty()) summary.notes = std::make_shared<const asset_notes>(std::move(notes));
    summary.channels.reserve(tw.channel_count());
    for (const auto& f : tw.filters())
        summary.channels.push_back({float(f.level()), float(f.level_std()), float(f.slope()), float(f.slope_std())});
    for (std::size_t i = 0; i < tw.sensors().size(); ++i) {
        const auto& h = tw.sensors()[i];
        if (h.status != twin::sensor_status::ok) summary.sensor_faults.push_back({std::uint16_t(i), h.status, h.reason, h.since});
    }
    summary.updated_ms = updated_ms;
    return summary;
}

// Stamps an alert change with what produced it.
void stamp(alerting::alert& a, const twin::provenance& origin) {
    a.model = origin.model;
    a.model_hash = origin.model_hash;
    a.config_hash = origin.config_hash;
    a.code_version = origin.code_version;
}

// The twin's full state goes with each alert these changes raise (one, shared), for whoever must
// explain it. The twin's numbers are copied now; TreeSHAP over every tree (about a millisecond,
// which every engine of this worker would wait for) and the JSON are made when first asked for:
// by the store's commit thread, or by REST.
void attach_fired_state(const twin::asset_twin& tw, std::span<alerting::alert* const> changes) {
    std::shared_ptr<const alerting::deferred_text> fired_state;
    for (auto* a : changes) {
        if (!a || a->state != alerting::alert_state::active) continue;
        if (!fired_state) {
            fired_state = std::make_shared<const alerting::deferred_text>(
                [record = twin::record_state_without_contributions(tw), features = tw.features(), model = tw.shared_model()]() mutable {
                    twin::add_contributions(record, *model, features);
                    return state_json(record).dump();
                });
        }
        a->fired_state = fired_state;
    }
}

// Journal number of the first message in `jobs` (0: none); a control step (model swap) has none.
template <class Jobs>
std::uint64_t first_message_seq(const Jobs& jobs) {
    for (const auto& j : jobs)
        if (j.seq) return j.seq;
    return 0;
}

// The sensor fault alerts a twin's probe changes raise (failed) and clear (a failure ended).
std::vector<alerting::alert> sensor_alerts(const twin::asset_twin& tw, const std::vector<twin::sensor_report>& changes,
                                           std::int64_t cycle) {
    std::vector<alerting::alert> out;
    for (const auto& c : changes) {
        auto make = [&](std::int64_t failed_at) {
            alerting::alert a;
            a.id = tw.id() + "-" + std::string(c.sensor) + "-" + std::to_string(failed_at);
            a.asset = tw.id();
            a.type = alerting::alert_type::sensor_fault;
            a.sensor = std::string(c.sensor);
            a.level = alerting::severity::warning;
            a.raised_cycle = failed_at;
            a.cycle = cycle;
            if (const auto& last = tw.last_update()) {
                a.rul = last->estimate.rul;
                a.rul_lo = last->estimate.rul_lo;
                a.rul_hi = last->estimate.rul_hi;
                a.risk_rul = last->risk_rul;
            }
            return a;
        };
        if (c.ended_failure) {
            auto cleared = make(*c.ended_failure);
            cleared.state = alerting::alert_state::cleared;
            cleared.reason = twin::to_string(c.ended_reason);
            cleared.cleared_cycle = cycle;
            out.push_back(std::move(cleared));
        }
        if (c.status == twin::sensor_status::failed) {
            auto raised = make(c.since);
            raised.reason = twin::to_string(c.reason);
            out.push_back(std::move(raised));
        }
    }
    return out;
}

}  // namespace

/// One worker batch's durable changes: the twins it changed (snapshotted once, at the end of the
/// batch) and the rows it produced.
struct fleet::batch_changes {
    store::change_set rows;
    std::unordered_map<twin::asset_twin*, std::int64_t> touched;  ///< twin -> updated_ms shown on REST
};

fleet::fleet(const twin::twin_config& config, unsigned workers, codec::telemetry_limits limits, fleet_view& view,
             metrics& counters, output_sink& sink, change_sink* changes, const twin::twin_config* shadow)
    : config_(config), shadow_config_(shadow), limits_(limits), view_(view), metrics_(counters), sink_(sink), changes_(changes) {
    for (unsigned i = 0; i < std::max(1u, workers); ++i) {
        shards_.push_back(std::make_unique<shard>());
        shards_.back()->active = &config_;
        shards_.back()->shadow = shadow_config_;
    }
    for (auto& s : shards_) s->thread = std::thread([this, sp = s.get()] { run(*sp); });
}

fleet::~fleet() { stop(); }

fleet::shard& fleet::shard_for(const std::string& asset) const {
    return *shards_[std::hash<std::string>{}(asset) % shards_.size()];
}

Result<std::string> fleet::admit(const std::string& topic, std::size_t payload_bytes) {
    metrics_.messages_received.fetch_add(1, std::memory_order_relaxed);
    auto asset = codec::asset_from_telemetry_topic(topic);
    if (!asset) {
        reject(topic, asset.error(), asset.detail());
        return asset;
    }
    // Oversized payloads are dropped here so they never sit in a queue (or the journal).
    if (payload_bytes > limits_.max_payload_bytes) {
        reject(topic, errc::payload_too_large, std::to_string(payload_bytes) + " bytes");
        return {errc::payload_too_large};
    }
    return asset;
}

void fleet::enqueue(std::string asset, std::string topic, std::string payload, std::uint64_t seq, bool replayed,
                    command_reply reply) {
    auto& s = shard_for(asset);
    bool wake = false;
    {
        std::lock_guard lock(s.mu);
        s.queue.push_back({std::move(asset), std::move(topic), std::move(payload), seq, replayed, std::move(reply),
                           std::chrono::steady_clock::now(), {}});
        // A lingering worker is woken only by a full batch (or its timeout): see run().
        // An operator waits on a command: no lingering then.
        if (s.queue.back().reply) s.urgent = true;
        wake = s.idle || s.urgent || s.queue.size() >= linger_batch;
    }
    // After the push: processed_watermark() reads this first, so every seq it sees is queued.
    last_enqueued_seq_.store(std::max(seq, last_enqueued_seq_.load(std::memory_order_relaxed)), std::memory_order_release);
    if (wake) s.cv.notify_one();
}

void fleet::submit(std::string topic, std::string payload) {
    auto asset = admit(topic, payload.size());
    if (!asset) return;
    enqueue(std::move(*asset), std::move(topic), std::move(payload), last_enqueued_seq_.load(std::memory_order_relaxed) + 1);
}

void fleet::adopt(std::unique_ptr<twin::asset_twin> tw, std::int64_t updated_ms) {
    view_.upsert(summarize(*tw, updated_ms));
    auto& s = shard_for(tw->id());
    std::lock_guard lock(s.mu);  // the worker reads the map only after taking a job under this lock
    auto id = tw->id();
    s.twins[std::move(id)] = std::move(tw);
}

void fleet::adopt_shadow(std::unique_ptr<twin::asset_twin> tw) {
    auto& s = shard_for(tw->id());
    std::lock_guard lock(s.mu);
    auto id = tw->id();
    s.shadows[std::move(id)] = std::move(tw);
}

Result<bool> fleet::swap_models(std::function<void(const model_swap&, store::change_set&)> done) {
    if (!shadow_config_) return {errc::invalid_argument, "no shadow model is running (serve --shadow-model PATH)"};
    // Each shard switches when the step reaches the front of its queue; the last one reports.
    struct tally {
        std::mutex mu;
        std::size_t remaining = 0;
        model_swap total;
        std::function<void(const model_swap&, store::change_set&)> done;
    };
    auto t = std::make_shared<tally>();
    t->remaining = shards_.size();
    t->done = std::move(done);
    for (auto& sp : shards_) {
        auto& s = *sp;
        {
            std::lock_guard lock(s.mu);
            job j;
            j.seq = 0;
            j.arrived = std::chrono::steady_clock::now();
            j.control = [this, t](shard& sh, batch_changes* changes) {
                const auto mine = swap_shard(sh, changes);
                std::lock_guard lock(t->mu);
                t->total.active = mine.active;
                t->total.shadow = mine.shadow;
                t->total.engines += mine.engines;
                t->total.fresh_engines += mine.fresh_engines;
                if (--t->remaining > 0) return;
                store::change_set scratch;
                t->done(t->total, changes ? changes->rows : scratch);
            };
            s.queue.push_back(std::move(j));
            s.urgent = true;
        }
        s.cv.notify_one();
    }
    return true;
}

std::uint64_t fleet::processed_watermark() const {
    // The last enqueued seq first: every message up to it is in a queue, in a batch in
    // progress, or done (its change set handed over). Then any shard still holding one caps it.
    std::uint64_t watermark = last_enqueued_seq_.load(std::memory_order_acquire);
    for (const auto& s : shards_) {
        std::lock_guard lock(s->mu);
        const std::uint64_t oldest = s->busy_low_seq ? s->busy_low_seq : first_message_seq(s->queue);
        if (oldest) watermark = std::min(watermark, oldest - 1);
    }
    return watermark;
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
            // The previous batch's change set was handed over before this point, so its
            // messages may now count as processed (busy_low_seq = 0).
            s.busy = false;
            s.busy_low_seq = 0;
            s.idle = true;
            s.cv.wait(lock, [&] { return !s.queue.empty() || s.stopping; });
            s.idle = false;
            if (s.queue.empty()) return;  // stopping and drained
            // Under load, let a batch gather for a moment: one wake-up (and one burst of
            // publishes) per batch instead of per message. Context switches, not the twin,
            // were the server's main cost per message (docs/performance.md).
            if (s.queue.size() < linger_batch && !s.stopping && !s.urgent)
                s.cv.wait_for(lock, linger, [&] { return s.queue.size() >= linger_batch || s.stopping || s.urgent; });
            s.urgent = false;
            batch.swap(s.queue);
            s.busy = true;
            s.busy_low_seq = first_message_seq(batch);
        }
        if (!changes_) {
            for (auto& j : batch) {
                process(s, j, nullptr);
                observe(j);
            }
            batch.clear();
            continue;
        }
        batch_changes changes;
        for (auto& j : batch) {
            process(s, j, &changes);
            observe(j);
        }
        batch.clear();
        // One snapshot per changed twin per batch, however many readings it took.
        for (const auto& [tw, updated_ms] : changes.touched)
            changes.rows.twins.push_back({tw->id(), tw->last_cycle(), tw->snapshot(), updated_ms});
        if (!changes.rows.empty()) changes_->batch_done(std::move(changes.rows));
    }
}

void fleet::observe(const job& j) {
    if (j.replayed) return;  // start-up recovery, not live latency
    metrics_.observe_processing(std::chrono::duration<double>(std::chrono::steady_clock::now() - j.arrived).count());
}

void fleet::reject(const std::string& topic, errc reason, const std::string& detail) {
    metrics_.count_rejected(reason);
    sink_.rejected(topic, std::string(reason_label(reason)) + (detail.empty() ? "" : ": " + detail));
}

void fleet::process_command(shard& s, job& j, batch_changes* changes) {
    auto answer = [&](Result<command_outcome> r) {
        if (j.reply) j.reply(std::move(r));
    };
    auto topic = codec::parse_command_topic(j.topic);
    if (!topic) return answer({topic.error(), topic.detail()});
    auto it = s.twins.find(j.asset);
    twin::asset_twin* tw = it == s.twins.end() ? nullptr : it->second.get();
    const auto updated_ms = wall_ms();
    // Stores, shows and publishes one alert change.
    auto record = [&](alerting::alert a) {
        stamp(a, s.active->origin);
        if (changes) changes->rows.alerts.push_back(a);
        view_.record_alert(a);
        sink_.alert(a);
    };
    // Re-applied from the journal, a command the restored snapshot already has is a conflict.
    auto refused = [&](auto&& r) {
        if (j.replayed && r.error() == errc::conflict) metrics_.replay_skipped.fetch_add(1, std::memory_order_relaxed);
        answer({r.error(), r.detail()});
    };
    if (topic->second == codec::command_kind::ack) {
        auto command = codec::decode_ack_command(j.payload);
        if (!command) {
            spdlog::error("ignoring a corrupt operator command for {}: {}", j.asset, command.message());
            return answer({command.error(), command.detail()});
        }
        if (!tw) return answer({errc::not_found, "no alert " + command->alert_id});
        auto acked = tw->acknowledge_alert(command->alert_id, command->ack);
        if (!acked) return refused(acked);
        if (changes) changes->touched[tw] = updated_ms;
        record(*acked);
        view_.upsert(summarize(*tw, updated_ms));
        return answer(command_outcome{std::move(*acked), std::nullopt});
    }
    auto event = codec::decode_event_command(j.payload);
    if (!event) {
        spdlog::error("ignoring a corrupt operator command for {}: {}", j.asset, event.message());
        return answer({event.error(), event.detail()});
    }
    if (!tw) return answer({errc::not_found, "unknown asset " + j.asset});
    // A new life (or the end of this one) ends the probes' failures with it.
    auto failed_probes = tw->sensor_faults();
    std::erase_if(failed_probes, [](const twin::sensor_report& f) { return f.status != twin::sensor_status::failed; });
    auto change = tw->record_event(event->type, event->cycle);
    if (!change) return refused(change);
    if (auto shadow = s.shadows.find(j.asset); shadow != s.shadows.end()) (void)shadow->second->record_event(event->type, event->cycle);
    for (auto& f : failed_probes) {
        f.ended_failure = f.since;
        f.ended_reason = f.reason;
        f.status = twin::sensor_status::ok;
    }
    for (const auto& a : sensor_alerts(*tw, failed_probes, event->cycle)) record(a);
    if (changes) {
        changes->touched[tw] = updated_ms;
        changes->rows.events.push_back({j.asset, event->type, event->cycle, event->note, event->by, event->at_ms});
    }
    if (change->cleared) record(*change->cleared);
    auto summary = summarize(*tw, updated_ms);
    view_.upsert(summary);
    spdlog::info("{}: {} recorded at cycle {} by {}", j.asset, event->type, event->cycle, event->by);
    answer(command_outcome{change->cleared, std::move(summary)});
}

model_swap fleet::swap_shard(shard& s, batch_changes* changes) {
    model_swap out;
    std::swap(s.active, s.shadow);
    out.active = s.active;
    out.shadow = s.shadow;
    const auto updated_ms = wall_ms();
    for (auto& [asset, live] : s.twins) {
        auto& candidate = s.shadows[asset];
        if (!candidate) {
            // The candidate never saw this engine (restored without its readings): it starts afresh.
            candidate = std::make_unique<twin::asset_twin>(asset, *s.active);
            ++out.fresh_engines;
        }
        auto change = candidate->take_over_alerts(*live);
        std::swap(live, candidate);  // `live` now holds the promoted twin, `candidate` the demoted one
        ++out.engines;
        alerting::alert* raised = change.raised ? &*change.raised : nullptr;
        alerting::alert* const raised_now[] = {raised};
        attach_fired_state(*live, raised_now);
        for (auto* a : {change.cleared ? &*change.cleared : nullptr, raised}) {
            if (!a) continue;
            stamp(*a, s.active->origin);
            if (changes) changes->rows.alerts.push_back(*a);
            view_.record_alert(*a);
            sink_.alert(*a);
        }
        if (changes) changes->touched[live.get()] = updated_ms;  // its snapshot is now the promoted model's
        view_.upsert(summarize(*live, updated_ms));
    }
    return out;
}

void fleet::run_shadow(shard& s, const std::string& asset, const reading& input, batch_changes* changes) {
    auto& tw = s.shadows[asset];
    if (!tw) tw = std::make_unique<twin::asset_twin>(asset, *s.shadow);
    auto u = tw->process(input);
    if (!u) {
        metrics_.shadow_rejected.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (changes)
        changes->rows.shadow_ruls.push_back({asset, u->cycle, s.shadow->origin.model_hash, s.active->origin.model_hash, u->estimate.rul,
                                             u->estimate.rul_lo, u->estimate.rul_hi, u->level});
}

void fleet::process(shard& s, job& j, batch_changes* changes) {
    if (j.control) return j.control(s, changes);
    if (codec::is_command_topic(j.topic)) return process_command(s, j, changes);
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
        fresh = std::make_unique<twin::asset_twin>(j.asset, *s.active);
        tw = fresh.get();
    } else {
        tw = it->second.get();
    }
    const reading input = decoded->data;  // kept for the store: explain and shadow models replay it
    auto update = tw->process(std::move(decoded->data));
    if (!update) {
        const bool already_applied = update.error() == errc::duplicate_cycle || update.error() == errc::out_of_order_cycle;
        if (j.replayed && already_applied) {
            // The restored snapshot already reflects it: idempotent replay, not bad input.
            metrics_.replay_skipped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
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

    // An applied reading or a recorded numerical fault changed the twin: it goes to the store,
    // with the same update time as REST shows, so that a restart shows the very same.
    const auto updated_ms = wall_ms();
    std::vector<alerting::alert> probe_alerts;
    if (update) {
        if (update->alerts.cleared) stamp(*update->alerts.cleared, s.active->origin);
        if (update->alerts.raised) stamp(*update->alerts.raised, s.active->origin);
        if (!update->sensor_changes.empty()) probe_alerts = sensor_alerts(*tw, update->sensor_changes, update->cycle);
        for (auto& a : probe_alerts) stamp(a, s.active->origin);
        std::vector<alerting::alert*> raised_now;
        if (update->alerts.raised) raised_now.push_back(&*update->alerts.raised);
        for (auto& a : probe_alerts) raised_now.push_back(&a);
        attach_fired_state(*tw, raised_now);
    }
    if (changes) {
        changes->touched[tw] = updated_ms;
        if (update) {
            const auto& e = update->estimate;
            std::vector<float> levels;
            levels.reserve(tw->channel_count());
            for (std::size_t i = 0; i < tw->channel_count(); ++i) levels.push_back(float(tw->channel_level(i)));
            changes->rows.ruls.push_back({tw->id(), update->cycle, e.rul, e.rul_lo, e.rul_hi, update->level, std::move(levels), input});
            if (update->alerts.cleared) changes->rows.alerts.push_back(*update->alerts.cleared);
            if (update->alerts.raised) changes->rows.alerts.push_back(*update->alerts.raised);
        }
    }
    if (changes) changes->rows.alerts.insert(changes->rows.alerts.end(), probe_alerts.begin(), probe_alerts.end());
    if (update && s.shadow) run_shadow(s, j.asset, input, changes);

    asset_summary summary = summarize(*tw, updated_ms);
    if (update) {
        // Alerts first into the view, so an asset never points at an alert REST cannot show.
        if (update->alerts.cleared) { view_.record_alert(*update->alerts.cleared); sink_.alert(*update->alerts.cleared); }
        if (update->alerts.raised) { view_.record_alert(*update->alerts.raised); sink_.alert(*update->alerts.raised); }
        for (const auto& a : probe_alerts) {
            view_.record_alert(a);
            sink_.alert(a);
        }
    }
    view_.upsert(std::move(summary));
    if (update) sink_.rul(tw->id(), *update);
}

}  // namespace turbotwin::app
