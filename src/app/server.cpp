#include "turbotwin/app/server.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "durable_state.hpp"
#include "wall_clock.hpp"
#include "turbotwin/app/model_roles.hpp"

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/app/history_rerun.hpp"
#include "turbotwin/app/json_out.hpp"
#include "turbotwin/app/remote_view.hpp"
#include "turbotwin/app/rest_api.hpp"
#include "turbotwin/app/stream_hub.hpp"
#include "turbotwin/cluster/node.hpp"
#include "turbotwin/cluster/partitioning.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/core/reading.hpp"
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
    /// `retain`: publish each engine's latest RUL message and alert retained (cluster mode), so
    /// that a member whose link to the cluster dropped gets every engine's latest state again
    /// when it subscribes anew: its read model of the engines other members own converges.
    mqtt_sink(mqtt::client& client, metrics& counters, durable_state* outbox, const twin::provenance& origin, bool retain = false)
        : client_(client), metrics_(counters), outbox_(outbox), origin_(origin), retain_(retain) {}

    void rul(const std::string& asset, const twin::twin_update& u) override {
        if (!client_.link_up()) return;  // the next cycle's message supersedes it anyway
        if (client_.publish(codec::rul_topic(asset), rul_message(asset, u, u.origin ? u.origin : &origin_), 0, retain_)) metrics_.rul_published.fetch_add(1, std::memory_order_relaxed);
        else metrics_.publish_failures.fetch_add(1, std::memory_order_relaxed);
    }

    void alert(const alerting::alert& a) override {
        const auto topic = codec::alert_topic(a.asset);
        const auto payload = alert_json(a).dump();
        if (!outbox_) {
            if (client_.publish(topic, payload, 1, retain_)) metrics_.alerts_published.fetch_add(1, std::memory_order_relaxed);
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
    bool retain_;
    std::mutex outbox_mu_;
    std::vector<in_flight> in_flight_;  ///< alerts not yet acknowledged; guarded by outbox_mu_
    std::mutex mu_;                     ///< guards the rate limit below
    std::chrono::steady_clock::time_point window_start_{};
    int in_window_ = 0;
};

/// Cluster mode: results are published only for engines whose partition this member owns and
/// has caught up on. While a new owner rebuilds a partition from the stream, the readings it
/// applies again were published by the previous owner: muting them avoids duplicates.
class cluster_output_gate final : public output_sink {
public:
    cluster_output_gate(output_sink& next, const std::atomic<cluster::node*>& member) : next_(next), member_(member) {}
    void rul(const std::string& asset, const twin::twin_update& u) override {
        if (publishing(asset)) next_.rul(asset, u);
    }
    void alert(const alerting::alert& a) override {
        if (publishing(a.asset)) next_.alert(a);
    }
    void rejected(const std::string& topic, const std::string& reason) override { next_.rejected(topic, reason); }

private:
    bool publishing(const std::string& asset) const {
        const auto* m = member_.load(std::memory_order_acquire);
        return m && m->publishing(asset);
    }
    output_sink& next_;
    const std::atomic<cluster::node*>& member_;
};

// The engine a per-engine REST path is about: /api/v1/assets/ID[/...] or /api/v1/alerts/ID-N[/ack].
std::optional<std::string> engine_of_rest_path(const std::string& path) {
    constexpr std::string_view assets = "/api/v1/assets/", alerts = "/api/v1/alerts/";
    auto first_segment = [&path](std::size_t from) { return path.substr(from, path.find('/', from) - from); };
    if (path.size() > assets.size() && path.compare(0, assets.size(), assets) == 0) return first_segment(assets.size());
    if (path.size() > alerts.size() && path.compare(0, alerts.size(), alerts) == 0) {
        const auto id = first_segment(alerts.size());
        const auto dash = id.rfind('-');
        if (dash == std::string::npos || dash == 0) return std::nullopt;
        return id.substr(0, dash);
    }
    return std::nullopt;
}

/// Cluster mode's REST front: GET /api/v1/cluster, and every per-engine request (state, history,
/// alerts, acknowledgements, events) sent to the member that owns the engine with a 307 redirect
/// (method and body kept), so that one owner applies every write. nullopt: serve it here.
std::optional<http::response> route_in_cluster(const cluster::node& member, const http::request& req) {
    if (req.path == "/api/v1/cluster") {
        if (req.method != "GET") return http::json_error(405, "method_not_allowed", "GET only");
        http::response r;
        r.body = member.describe().dump();
        return r;
    }
    auto engine = engine_of_rest_path(req.path);
    if (!engine || !valid_asset_id(*engine)) return std::nullopt;
    if (member.owns(*engine)) {
        if (member.publishing(*engine)) return std::nullopt;
        // Taken over and still rebuilding from the journal: its state is not whole yet.
        auto r = http::json_error(503, "unavailable", "engine " + *engine + "'s partition is being taken over here; try again in a moment");
        r.headers.emplace_back("Retry-After", "1");
        return r;
    }
    if (auto url = member.owner_url(*engine)) {
        auto r = http::json_error(307, "moved", "engine " + *engine + " is served by " + *url);
        r.headers.emplace_back("Location", *url + req.target);
        return r;
    }
    auto r = http::json_error(503, "unavailable", "engine " + *engine + "'s partition has no live owner yet (takeover in progress)");
    r.headers.emplace_back("Retry-After", "1");
    return r;
}

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

Result<bool> run_server(const runtime& rt, const std::atomic<bool>& stop, const cluster::cluster_config* cluster_mode) {
    const auto& cfg = rt.config;
    if (cluster_mode && !cluster::available())
        return {errc::unavailable, "serve --cluster: this turbotwin was built without the NATS client (install libnats-dev and rebuild)"};
    if (cluster_mode && cfg.durability.enabled)
        return {errc::invalid_argument, "serve --cluster keeps no local journal: the replicated telemetry stream is the journal"};
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
    if (cluster_mode) {
        // Outputs only, to the NATS cluster's MQTT listener: telemetry comes from JetStream.
        mo.broker_url = cluster_mode->mqtt_url;
        mo.client_id = "turbotwin-" + cluster_mode->instance;
        mo.clean_session = true;
    }
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
    mqtt_sink sink(broker, counters, durable.get(), rt.twin.origin, cluster_mode != nullptr);
    stream_hub live(&rt.twin.origin);                   // GET /api/v1/stream: sees what MQTT is given
    stream_tee tee(sink, live);
    std::atomic<cluster::node*> member{nullptr};  // set once the cluster node runs (cluster mode)
    cluster_output_gate gate(tee, member);
    output_sink& outputs = cluster_mode ? static_cast<output_sink&>(gate) : static_cast<output_sink&>(tee);
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
    // Returns the message's sequence number, 0 when it was refused.
    auto intake = [&](std::string asset, std::string topic, std::string payload, command_reply reply, bool replayed) -> std::uint64_t {
        std::lock_guard lock(intake_mu);
        std::uint64_t seq = 0;
        if (durable) {
            // An operator command after intake closed is refused rather than left for next time.
            if (reply && !intake_open.load(std::memory_order_acquire)) return 0;
            const auto written = durable->append(topic, payload);
            if (!written.durable) counters.journal_failures.fetch_add(1, std::memory_order_relaxed);
            seq = written.seq;
            // Shutting down: it is in the journal, and the next start applies it.
            if (!intake_open.load(std::memory_order_acquire) && written.durable) return 0;
        } else {
            // Cluster mode: what is refused stays unacknowledged in the stream for the next owner.
            if (!intake_open.load(std::memory_order_acquire) && (reply || cluster_mode)) return 0;
            seq = ++plain_seq;
        }
        engines.enqueue(std::move(asset), std::move(topic), std::move(payload), seq, replayed, std::move(reply));
        return seq;
    };
    std::vector<std::string> channel_names;
    for (const auto& c : rt.twin.model->channels) channel_names.push_back(c.name);
    // Cluster mode: the engines other members own enter the read model from their RUL messages
    // and alerts, so that every member lists the whole fleet. The MQTT thread owns those
    // summaries; the workers own the engines this member holds, whose messages are skipped.
    auto remote_update = [&](const mqtt::message& m) {
        const auto* me = member.load(std::memory_order_acquire);
        if (!me) return;
        constexpr std::string_view engines_prefix = "turbotwin/v1/engines/", rul_suffix = "/rul", alerts_prefix = "turbotwin/v1/alerts/";
        const std::string_view topic = m.topic;
        if (topic.starts_with(engines_prefix) && topic.ends_with(rul_suffix)) {
            const std::string asset(topic.substr(engines_prefix.size(), topic.size() - engines_prefix.size() - rul_suffix.size()));
            if (me->owns(asset)) return;
            if (auto merged = merge_rul_message(m.payload, view.asset(asset), channel_names, wall_ms()))
                view.upsert_if_newer(std::move(*merged));  // not over a newer state this member's twin wrote meanwhile
        } else if (topic.starts_with(alerts_prefix)) {
            if (auto a = alert_from_message(m.payload); a && !me->owns(a->asset)) view.record_alert(*a);
        }
    };
    broker.on_message([&](mqtt::message&& m) {
        if (cluster_mode) return remote_update(m);
        auto asset = engines.admit(m.topic, m.payload.size());
        if (!asset) return;
        intake(std::move(*asset), std::move(m.topic), std::move(m.payload), {}, false);
    });
    // Subscribe before HTTP comes up: once /healthz answers, no telemetry is missed. In cluster
    // mode telemetry comes from the JetStream partitions this member owns instead.
    if (!cluster_mode) {
        (void)broker.subscribe(std::string(codec::telemetry_subscription), 1);
    } else {
        (void)broker.subscribe("turbotwin/v1/engines/+/rul", 0);
        (void)broker.subscribe("turbotwin/v1/alerts/+", 1);
    }
    if (auto c = broker.connect(std::chrono::seconds(5)); !c)
        spdlog::warn("{}; retrying in the background", c.message());
    else
        spdlog::info("connected to {} as '{}' ({} session)", mo.broker_url, mo.client_id, mo.clean_session ? "clean" : "persistent");
    std::thread reconnector;
    if (!broker.connected()) {
        reconnector = std::thread([&] {
            while (!stop.load() && !broker.connected()) {
                if (broker.connect(std::chrono::seconds(2))) {
                    spdlog::info("connected to {}", mo.broker_url);
                    break;
                }
                for (int i = 0; i < 20 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });
    }

    server_status status;
    status.broker_connected = [&broker, &member, cluster_mode] {
        const auto* m = member.load(std::memory_order_acquire);
        return broker.connected() && (!cluster_mode || (m && m->connected()));
    };
    status.broker_reconnects = [&broker] { return broker.reconnects(); };
    status.ingest_backlog = [&engines] { return engines.backlog(); };
    if (durable) {
        status.extra_metrics = [d = durable.get()] { return d->prometheus(); };
        status.store_healthy = [d = durable.get()] { return d->healthy(); };
        status.recovering = [&engines, recovery_end] { return engines.processed_watermark() < recovery_end; };
        status.history = [d = durable.get()](const std::string& asset, std::int64_t from, std::int64_t to) { return d->history(asset, from, to); };
    }
    if (cluster_mode) {
        status.extra_metrics = [&member] {
            const auto* m = member.load(std::memory_order_acquire);
            return m ? m->prometheus() : std::string();
        };
        // No store in cluster mode: the owner re-runs the engine's journal (requests for engines
        // held elsewhere are redirected to their holder before they get here).
        status.history = [&member, &rt, limits](const std::string& asset, std::int64_t from,
                                                std::int64_t to) -> Result<std::vector<store::rul_row>> {
            const auto* m = member.load(std::memory_order_acquire);
            if (!m) return {errc::unavailable, "not a cluster member yet"};
            // A reading consumer lands on one replica of the journal; right after a NATS node came
            // back, that replica can lag and the read time out: a second try lands elsewhere.
            auto journal = m->journal_of(asset);
            for (int attempt = 1; !journal && attempt < 3; ++attempt) journal = m->journal_of(asset);
            if (!journal) {
                spdlog::warn("history of {}: {}", asset, journal.detail());
                return {journal.error(), journal.detail()};
            }
            return rerun_journal(asset, *journal, rt.twin, limits, from, to);
        };
    }
    status.channel_names = channel_names;
    status.model_name = rt.twin.model->name;
    status.version = TURBOTWIN_VERSION;
    status.streams = &live;
    command_port commands;
    // A command is journaled, then applied by its engine's worker; the HTTP thread waits for it.
    auto run_command = [&intake, &member](const std::string& asset, std::string topic, std::string payload) -> Result<command_outcome> {
        auto answer = std::make_shared<std::promise<Result<command_outcome>>>();
        auto outcome = answer->get_future();
        command_reply reply = [answer](Result<command_outcome> r) { answer->set_value(std::move(r)); };
        if (auto* m = member.load(std::memory_order_acquire)) {
            // Cluster mode: the partition's thread journals it in order with the readings (a later
            // holder applies it again when it rebuilds), then it is applied here.
            const bool waiting = m->command(asset, topic, payload, [&intake, asset, topic, payload, reply, answer](bool journaled) mutable {
                if (!journaled) answer->set_value({errc::unavailable, "the engine's partition moved to another member; try again"});
                else if (!intake(asset, std::move(topic), std::move(payload), std::move(reply), false))
                    answer->set_value({errc::unavailable, "the server is shutting down"});
            });
            if (!waiting) return {errc::unavailable, "the engine's partition is moving between members; try again in a moment"};
        } else if (!intake(asset, std::move(topic), std::move(payload), std::move(reply), false)) {
            return {errc::unavailable, "the server is shutting down"};
        }
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
    http::server web(ho, [&api, &member](const http::request& r) {
        if (const auto* m = member.load(std::memory_order_acquire))
            if (auto routed = route_in_cluster(*m, r)) return std::move(*routed);
        return api(r);
    });
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

    std::unique_ptr<cluster::node> cluster_member;
    if (cluster_mode) {
        cluster::twin_intake handoff;
        handoff.deliver = [&engines, &intake](const std::string& asset, std::string topic, std::string payload,
                                              bool rebuild) -> std::optional<std::uint64_t> {
            if (!topic.empty()) {  // an operator command, read back from the journal
                const auto seq = intake(asset, std::move(topic), std::move(payload), {}, rebuild);
                if (!seq) return std::nullopt;
                return seq;
            }
            topic = codec::telemetry_topic(asset);
            auto admitted = engines.admit(topic, payload.size());
            if (!admitted) return std::uint64_t{0};  // rejected and reported: nothing to wait for
            const auto seq = intake(std::move(*admitted), std::move(topic), std::move(payload), {}, rebuild);
            if (!seq) return std::nullopt;
            return seq;
        };
        handoff.applied = [&engines] { return engines.processed_watermark(); };
        handoff.link_epoch = [&broker] { return broker.connects(); };
        auto url = cluster_mode->advertise_url.empty() ? "http://" + ho.host + ":" + std::to_string(*port) : cluster_mode->advertise_url;
        auto started = cluster::node::start(*cluster_mode, url, std::move(handoff));
        if (!started) {
            intake_open = false;
            if (reconnector.joinable()) reconnector.join();
            broker.disconnect(std::chrono::seconds(1));
            engines.stop();
            web.stop();
            return {started.error(), started.detail()};
        }
        cluster_member = std::move(*started);
        member.store(cluster_member.get(), std::memory_order_release);
    }

    // Cluster mode: after the link to the cluster's MQTT listener comes back, and after this
    // member's partitions go live (a takeover rebuilds them with results muted), and after
    // another member's link comes up, publish again the latest RUL message of every engine it
    // owns, a second after the last such change. What it could not publish meanwhile was dropped
    // (RUL is QoS 0), and the other members' read models must not stay behind when those engines
    // send nothing more, nor keep the stale retained messages a NATS node still catching up
    // after a restart hands out (node::peers_relinked).
    std::uint64_t reconnects_seen = broker.reconnects();
    std::size_t live_seen = 0;
    std::uint64_t relinked_seen = 0;
    auto republish_at = std::chrono::steady_clock::time_point::max();  // max: nothing due
    auto republish_owned = [&] {
        std::optional<std::string> cursor;
        std::size_t sent = 0;
        do {
            auto page = view.assets(cursor, 1000);
            for (const auto& s : page.items) {
                const auto* me = member.load(std::memory_order_acquire);
                if (!me || !me->publishing(s.id)) continue;
                twin::twin_update u;
                u.cycle = s.last_cycle;
                u.estimate.rul = s.rul;
                u.estimate.rul_lo = s.rul_lo;
                u.estimate.rul_hi = s.rul_hi;
                u.level = s.level;
                u.trust = s.trust;
                u.trust_reason = s.extra().trust_reason;
                for (const auto& f : s.sensor_faults)
                    if (f.channel < channel_names.size()) u.sensor_faults.push_back({channel_names[f.channel], f.status, f.reason, f.since, std::nullopt, twin::sensor_fault::none});
                sink.rul(s.id, u);
                ++sent;
            }
            cursor = page.next_cursor;
        } while (cursor);
        spdlog::info("cluster: published the latest RUL of the {} engines this member owns again (link back, partitions taken, or another member's link up)", sent);
    };
    while (!stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        sink.sweep();
        if (cluster_member) {
            const auto live = cluster_member->live_partitions();
            const auto relinked = cluster_member->peers_relinked();
            if (broker.reconnects() != reconnects_seen || live > live_seen || relinked != relinked_seen)
                republish_at = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            reconnects_seen = broker.reconnects();
            live_seen = live;
            relinked_seen = relinked;
            if (std::chrono::steady_clock::now() >= republish_at && broker.connected()) {
                republish_at = std::chrono::steady_clock::time_point::max();
                republish_owned();
            }
        }
    }

    // Stop intake (what still arrives goes to the journal only), finish in-flight work while
    // the broker can still take its alerts, then store everything with a final checkpoint.
    if (cluster_member) {
        // Hand the partitions over first, while intake is open: each consumer acknowledges what
        // the twins applied, and the leases are deleted so that the others take over at once.
        cluster_member->stop();
    }
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
    member.store(nullptr, std::memory_order_release);
    cluster_member.reset();
    spdlog::info("stopped: {} readings applied, {} rejected", counters.readings_applied.load(), counters.rejected_total());
    return true;
}

}  // namespace turbotwin::app
