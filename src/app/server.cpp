#include "turbotwin/app/server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "durable_state.hpp"
#include "turbotwin/app/model_roles.hpp"

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/rest_api.hpp"
#include "turbotwin/app/stream_hub.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/mqtt/client.hpp"

namespace turbotwin::app {

namespace {

/// Publishes results on MQTT: RUL at QoS 0 (superseded every cycle), alerts at QoS 1 (each one
/// matters), rejections on the errors topic at most `errors_per_second`.
///
/// While the broker is away Paho buffers publishes (up to max_buffered) and sends them after the
/// reconnect; RUL messages are not offered then, so that the buffer keeps its room for alerts.
/// With durable state, each alert's delivery token is watched (sweep()): the store records which
/// alert changes the broker acknowledged, and those it never did are published again at the next
/// start. A publish Paho failed or lost is sent again at once (see sweep). Delivery is thus at
/// least once; an alert's id and state identify duplicates.
class mqtt_sink final : public output_sink {
public:
    mqtt_sink(mqtt::client& client, metrics& counters, durable_state* outbox, const twin::provenance& origin)
        : client_(client), metrics_(counters), outbox_(outbox), origin_(origin) {}

    void rul(const std::string& asset, const twin::twin_update& u) override {
        if (!client_.connected()) return;  // the next cycle's message supersedes it anyway
        if (client_.publish(codec::rul_topic(asset), rul_message(asset, u, u.origin ? u.origin : &origin_), 0)) metrics_.rul_published.fetch_add(1, std::memory_order_relaxed);
        else metrics_.publish_failures.fetch_add(1, std::memory_order_relaxed);
    }

    void alert(const alerting::alert& a) override {
        const auto topic = codec::alert_topic(a.asset);
        const auto payload = alert_json(a).dump();
        if (!outbox_) {
            if (client_.publish(topic, payload, 1)) metrics_.alerts_published.fetch_add(1, std::memory_order_relaxed);
            else metrics_.publish_failures.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        in_flight f{{a.id, a.state}, topic, payload, nullptr, {}};
        if (send(f)) metrics_.alerts_published.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(outbox_mu_);
        in_flight_.push_back(std::move(f));
    }

    /// Hands the alert changes the broker has acknowledged since the last call to the store, and
    /// sends again what Paho refused, failed, or has not confirmed for redeliver_after while
    /// connected: after a broker restart that lost our session (no persistence), Paho C drops the
    /// publishes that were in flight, failing some tokens and never completing others.
    void sweep() {
        if (!outbox_) return;
        const bool connected = client_.connected();
        const auto now = std::chrono::steady_clock::now();
        std::vector<store::alert_key> acknowledged;
        {
            std::lock_guard lock(outbox_mu_);
            std::erase_if(in_flight_, [&](in_flight& f) {
                if (f.token) {
                    auto done = mqtt::wait_for_ack(f.token, std::chrono::milliseconds::zero());
                    if (done && *done) {
                        acknowledged.push_back(std::move(f.key));
                        return true;
                    }
                    if (done && now - f.sent_at < redeliver_after) return false;  // pending
                }
                if (connected && send(f)) metrics_.alert_redeliveries.fetch_add(1, std::memory_order_relaxed);
                return false;
            });
        }
        for (auto& k : acknowledged) outbox_->mark_published(std::move(k));
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
    struct in_flight {
        store::alert_key key;
        std::string topic, payload;
        ::mqtt::delivery_token_ptr token;  ///< null: Paho refused it (sent again by sweep)
        std::chrono::steady_clock::time_point sent_at;
    };

    // Publishes at QoS 1 and keeps the token.
    bool send(in_flight& f) {
        auto token = client_.publish_tracked(f.topic, f.payload, 1);
        f.sent_at = std::chrono::steady_clock::now();
        if (!token) {
            metrics_.publish_failures.fetch_add(1, std::memory_order_relaxed);
            f.token = nullptr;
            return false;
        }
        f.token = std::move(*token);
        return true;
    }

    static constexpr auto redeliver_after = std::chrono::seconds(30);
    static constexpr int errors_per_second = 10;
    mqtt::client& client_;
    metrics& metrics_;
    durable_state* outbox_;
    const twin::provenance& origin_;  ///< the runtime's, which outlives the sink
    std::mutex outbox_mu_;
    std::vector<in_flight> in_flight_;  ///< alerts not yet acknowledged; guarded by outbox_mu_
    std::mutex mu_;                     ///< guards the rate limit below
    std::chrono::steady_clock::time_point window_start_{};
    int in_window_ = 0;
};

}  // namespace

Result<access_policy> make_access_policy(const codec::serve_config& cfg) {
    std::vector<api_token> tokens;
    for (const auto& t : cfg.api_tokens)
        tokens.push_back({t.name, *parse_role(t.role), *digest_from_hex(t.sha256)});
    if (const char* env = std::getenv("TURBOTWIN_API_TOKENS")) {
        auto from_env = parse_token_list(env);
        if (!from_env) return {from_env.error(), "TURBOTWIN_API_TOKENS: " + from_env.detail()};
        tokens.insert(tokens.end(), from_env->begin(), from_env->end());
    }
    std::size_t operators = 0;
    for (const auto& t : tokens) operators += t.grants == role::operator_;
    if (tokens.empty())
        spdlog::warn("no API tokens configured: REST writes (alert acknowledgement) are refused; see docs/security.md");
    else
        spdlog::info("REST access: {} API tokens ({} operator); reads {}", tokens.size(), operators,
                     cfg.http_require_auth_for_reads ? "need a viewer token" : "are open");
    if (cfg.http_require_auth_for_reads && tokens.empty())
        return {errc::invalid_argument, "http.require_auth_for_reads is set but no API token is configured"};
    return access_policy(std::move(tokens), cfg.http_require_auth_for_reads);
}

Result<bool> run_server(const runtime& rt, const std::atomic<bool>& stop) {
    const auto& cfg = rt.config;
    std::error_code ec;
    std::filesystem::create_directories(cfg.data_dir, ec);
    if (ec) return {errc::io_error, "cannot create data dir " + cfg.data_dir + ": " + ec.message()};
    auto listen = codec::parse_host_port(cfg.http_listen);
    if (!listen) return {listen.error(), listen.detail()};
    auto access = make_access_policy(cfg);
    if (!access) return {access.error(), access.detail()};

    metrics counters;
    fleet_view view;
    std::unique_ptr<durable_state> durable;
    if (cfg.durability.enabled) {
        auto d = durable_state::open(cfg.data_dir, cfg.durability, rt.twin);
        if (!d) return {d.error(), d.detail()};
        durable = std::move(*d);
        // After the folder lock: one server writes the archive at a time.
        if (auto kept = archive_inputs(rt, cfg.data_dir); !kept) return {kept.error(), kept.detail()};
    } else {
        spdlog::warn("durability is off: the fleet's state lives in memory only and a crash loses it");
    }
    mqtt::client_options mo;
    mo.broker_url = cfg.broker_url;
    mo.client_id = cfg.client_id;
    mo.clean_session = cfg.clean_session;
    mo.username = cfg.mqtt_username;
    mo.password = cfg.mqtt_password;
    mo.tls = {cfg.mqtt_tls.ca_file, cfg.mqtt_tls.cert_file, cfg.mqtt_tls.key_file, cfg.mqtt_tls.key_password,
              cfg.mqtt_tls.verify_server};
    // Fail at start-up on what a connect would only report as a retry loop: missing files,
    // a key without its certificate, a password without a user.
    if (auto ok = mqtt::check_options(mo); !ok) return {ok.error(), "MQTT: " + ok.detail()};
    if (mqtt::uses_tls(mo)) {
        spdlog::info("MQTT over TLS: CA {}, client certificate {}", mo.tls.ca_file.empty() ? "(system store)" : mo.tls.ca_file,
                     mo.tls.cert_file.empty() ? "(none)" : mo.tls.cert_file);
        if (!mo.tls.verify_server)
            spdlog::warn("MQTT: mqtt.tls.verify_server is false: the broker's certificate is not checked (testing only)");
    } else if (!mo.password.empty()) {
        spdlog::warn("MQTT: the password goes to {} in clear text: use ssl:// or mqtts:// (docs/security.md)", mo.broker_url);
    }
    // Retry a lost broker often: if it comes back without our session (no persistence), what is
    // published before we have subscribed again is dropped by the broker, so we must be first.
    mo.reconnect_min = std::chrono::milliseconds(100);
    mo.reconnect_max = std::chrono::milliseconds(1000);
    mqtt::client broker(mo);
    mqtt_sink sink(broker, counters, durable.get(), rt.twin.origin);
    stream_hub live(&rt.twin.origin);                   // GET /api/v1/stream: sees what MQTT is given
    stream_tee outputs(sink, live);
    codec::telemetry_limits limits;
    limits.max_payload_bytes = cfg.max_payload_bytes;
    const twin::twin_config* shadow = rt.shadow ? &*rt.shadow : nullptr;
    fleet engines(rt.twin, cfg.workers, limits, view, counters, outputs, durable.get(), shadow);
    if (shadow)
        spdlog::info("shadow model '{}' {} runs beside the active one: its estimates are stored, nothing is published",
                     shadow->model->name, shadow->origin.model_hash);

    // Start-up recovery, before the broker can deliver anything: the snapshots as of the
    // checkpoint, then every journal entry after it, queued ahead of whatever arrives live.
    std::uint64_t recovery_end = 0;  // journal position up to which start-up recovery re-applies
    if (durable) {
        auto report = durable->restore(engines, view);
        if (!report) return {report.error(), report.detail()};
        if (shadow) {
            auto warmed = durable->warm_shadows(engines, *shadow, *report);
            if (!warmed) return {warmed.error(), warmed.detail()};
            spdlog::info("shadow model: {} of {} restored engines rebuilt from their stored readings", *warmed, report->twins);
        }
        if (report->rebuilt) spdlog::warn("{} engines were rebuilt from their readings (snapshots of another model)", report->rebuilt);
        if (auto r = durable->record_serving(rt.twin.origin.model_hash, shadow ? shadow->origin.model_hash : std::string()); !r)
            return {r.error(), r.detail()};
        durable->start_writer(engines);
        auto replayed = durable->replay_journal(engines, counters);
        if (!replayed) return {replayed.error(), replayed.detail()};
        recovery_end = engines.enqueued_watermark();
        spdlog::info("restored {} engines and {} alert changes from {} (checkpoint {}); re-applying {} journal entries",
                     report->twins, report->alert_changes, cfg.data_dir, report->checkpoint, *replayed);
        if (!report->unpublished.empty())
            spdlog::info("publishing {} alert changes the broker never acknowledged", report->unpublished.size());
        for (const auto& a : report->unpublished) sink.alert(a);
    }

    // Every message, from Paho or an operator command from REST, enters here: made durable,
    // then handed to its engine's worker. For Paho's messages the PUBACK has already gone, so
    // from here on the journal is the only copy. The lock keeps journal order and queue order
    // the same (the fleet's watermark relies on it). False: shutting down, not queued.
    std::mutex intake_mu;
    std::atomic<bool> intake_open{true};
    std::uint64_t plain_seq = 0;  // sequence numbers without a journal; guarded by intake_mu
    auto intake = [&](std::string asset, std::string topic, std::string payload, command_reply reply) -> bool {
        std::lock_guard lock(intake_mu);
        std::uint64_t seq = 0;
        if (durable) {
            // An operator command after intake closed is refused rather than left for next time.
            if (reply && !intake_open.load(std::memory_order_acquire)) return false;
            const auto written = durable->append(topic, payload);
            if (!written.durable) counters.journal_failures.fetch_add(1, std::memory_order_relaxed);
            seq = written.seq;
            // Shutting down: it is in the journal, and the next start applies it.
            if (!intake_open.load(std::memory_order_acquire) && written.durable) return false;
        } else {
            if (!intake_open.load(std::memory_order_acquire) && reply) return false;
            seq = ++plain_seq;
        }
        engines.enqueue(std::move(asset), std::move(topic), std::move(payload), seq, false, std::move(reply));
        return true;
    };
    broker.on_message([&](mqtt::message&& m) {
        auto asset = engines.admit(m.topic, m.payload.size());
        if (!asset) return;
        intake(std::move(*asset), std::move(m.topic), std::move(m.payload), {});
    });
    // Subscribe before HTTP comes up: once /healthz answers, no telemetry is missed.
    (void)broker.subscribe(std::string(codec::telemetry_subscription), 1);
    if (auto c = broker.connect(std::chrono::seconds(5)); !c)
        spdlog::warn("{}; retrying in the background", c.message());
    else
        spdlog::info("connected to {} as '{}' ({} session)", cfg.broker_url, cfg.client_id, cfg.clean_session ? "clean" : "persistent");
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
    if (durable) {
        status.extra_metrics = [d = durable.get()] { return d->prometheus(); };
        status.store_healthy = [d = durable.get()] { return d->healthy(); };
        status.recovering = [&engines, recovery_end] { return engines.processed_watermark() < recovery_end; };
        status.history = [d = durable.get()](const std::string& asset, std::int64_t from, std::int64_t to) { return d->history(asset, from, to); };
    }
    for (const auto& c : rt.twin.model->channels) status.channel_names.push_back(c.name);
    status.model_name = rt.twin.model->name;
    status.version = TURBOTWIN_VERSION;
    status.streams = &live;
    command_port commands;
    // A command is journaled, then applied by its engine's worker; the HTTP thread waits for it.
    auto run_command = [&intake](const std::string& asset, std::string topic, std::string payload) -> Result<command_outcome> {
        auto answer = std::make_shared<std::promise<Result<command_outcome>>>();
        auto outcome = answer->get_future();
        const bool queued = intake(asset, std::move(topic), std::move(payload),
                                   [answer](Result<command_outcome> r) { answer->set_value(std::move(r)); });
        if (!queued) return {errc::unavailable, "the server is shutting down"};
        // The worker answers after the readings queued ahead of it; the command is journaled, so
        // it will be applied even if this wait gives up.
        if (outcome.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
            return {errc::unavailable, "accepted, but the engine's worker is busy: it will be applied shortly; check the engine's state"};
        return outcome.get();
    };
    commands.acknowledge = [run_command](const std::string& asset, codec::ack_command c) -> Result<alerting::alert> {
        auto r = run_command(asset, codec::ack_command_topic(asset), codec::encode_ack_command(c));
        if (!r) return {r.error(), r.detail()};
        return *r->alert;
    };
    commands.record_event = [run_command](const std::string& asset, codec::event_command e) -> Result<command_outcome> {
        return run_command(asset, codec::event_command_topic(asset), codec::encode_event_command(e));
    };
    model_roles roles(engines, rt.twin, shadow, rt.config_model_hash, durable.get());
    model_port models;
    models.describe = [&roles] { return roles.describe(); };
    models.promote = [&roles](const std::string& by) { return roles.promote(by); };
    models.rollback = [&roles](const std::string& by) { return roles.rollback(by); };
    if (durable) models.shadow_report = [&roles] { return roles.shadow_report(); };
    planning_port planning;
    // Copies of every engine in service with an estimate in its current life; the live twins are
    // never touched.
    planning.snapshot = [&view, &roles, &rt] {
        planning_input in;
        in.calibration = roles.active_model()->calibration;
        in.critical_rul = rt.twin.alert_thresholds.critical_rul;
        std::optional<std::string> cursor;
        do {
            auto page = view.assets(cursor, 1000);
            for (const auto& a : page.items)
                if (a.readings > 0 && !a.extra().closed) in.fleet.push_back({a.id, a.last_cycle, a.rul, a.raw, a.widening});
            cursor = page.next_cursor;
        } while (cursor);
        return in;
    };
    rest_api api(view, counters, status, std::move(*access), std::move(commands), std::move(models), std::move(planning));
    http::server_options ho;
    ho.host = listen->first;
    ho.port = listen->second;
    ho.max_body_bytes = cfg.http_max_body_bytes;
    http::server web(ho, [&api](const http::request& r) { return api(r); });
    auto port = web.start();
    if (!port) {
        intake_open = false;
        if (reconnector.joinable()) reconnector.join();
        broker.disconnect(std::chrono::seconds(1));
        engines.stop();
        if (durable) durable->stop();
        return {port.error(), port.detail()};
    }
    spdlog::info("REST API and dashboard on http://{}:{}/", ho.host, *port);

    while (!stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        sink.sweep();
    }

    // Stop intake (what still arrives goes to the journal only), finish in-flight work while
    // the broker can still take its alerts, then store everything with a final checkpoint.
    spdlog::info("shutting down: draining {} queued messages", engines.backlog());
    intake_open.store(false, std::memory_order_release);
    if (reconnector.joinable()) reconnector.join();
    for (int i = 0; i < 100 && !engines.idle(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    broker.disconnect(std::chrono::seconds(2));  // waits for in-flight publishes; the session stays
    engines.stop();
    sink.sweep();
    if (durable) {
        if (auto f = durable->flush(); !f) spdlog::error("final store commit failed: {}", f.message());
        durable->stop();
    }
    web.stop();
    spdlog::info("stopped: {} readings applied, {} rejected", counters.readings_applied.load(), counters.rejected_total());
    return true;
}

}  // namespace turbotwin::app
