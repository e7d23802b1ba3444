#include "turbotwin/cluster/node.hpp"

#include "turbotwin/cluster/partitioning.hpp"

#if TURBOTWIN_HAVE_NATS

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace turbotwin::cluster {

bool available() noexcept { return true; }

namespace {

using steady = std::chrono::steady_clock;
constexpr std::int64_t ns_per_ms = 1000000;

// The status and, when there is one, the client's more specific last error (e.g. the server's reason).
std::string nats_text(natsStatus s) {
    std::string text = natsStatus_GetText(s);
    natsStatus last = NATS_OK;
    if (const char* detail = nats_GetLastError(&last); detail && *detail && text != detail) text += std::string(" (") + detail + ")";
    return text;
}

// Built by appending: GCC 12 warns falsely (-Wrestrict) on `"literal" + std::to_string(n)`.
std::string prefixed(std::string_view prefix, const std::string& rest, std::string_view suffix = {}) {
    std::string s(prefix);
    s += rest;
    s += suffix;
    return s;
}
std::string lease_key(unsigned p) { return prefixed("leases.p", std::to_string(p)); }
std::string member_key(const std::string& id) { return prefixed("members.", id); }
std::string consumer_name(unsigned p) { return prefixed("p", std::to_string(p)); }
std::string partition_filter(unsigned p) { return prefixed("twin.p.", std::to_string(p), ".*"); }

// "twin.p.K.ID" -> "ID" (the mapping keeps the engine id as the last token).
std::string asset_of_subject(std::string_view subject) {
    const auto dot = subject.rfind('.');
    return std::string(dot == std::string_view::npos ? subject : subject.substr(dot + 1));
}

/// Counters of one partition, read by REST and /metrics while its consumer thread writes them.
struct partition_counters {
    std::atomic<bool> held{false};          ///< this member holds the lease
    std::atomic<bool> live{false};          ///< caught up with the previous owner: results are published
    std::atomic<std::uint64_t> lag{0};      ///< messages in the stream not yet delivered to us (last fetch)
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> redelivered{0};  ///< deliveries the server had made before (a previous owner's unacked)
    std::atomic<std::uint64_t> rebuilt{0};      ///< messages re-applied from the stream at takeover
};

}  // namespace

/// Consumes one held partition on its own thread: rebuild from the stream up to the previous
/// owner's acknowledgement floor with results muted, then live with explicit acknowledgements.
class partition_consumer {
public:
    partition_consumer(node::impl& owner, unsigned partition, partition_counters& counters)
        : owner_(owner), partition_(partition), counters_(counters) {
        thread_ = std::thread([this] { run(); });
    }
    ~partition_consumer() {
        request_stop(false);
        join();
    }
    /// Asks the thread to stop after the batch in hand (a fetch waits at most 500 ms). `fenced`:
    /// the lease is lost, so nothing more is acknowledged (another member may consume it now).
    void request_stop(bool fenced) {
        if (fenced) fenced_.store(true);
        stopping_.store(true);
    }
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    void run();
    bool wait_applied(std::uint64_t seq);
    std::optional<std::uint64_t> read_ack_floor();
    bool rebuild(std::uint64_t ack_floor);
    void consume(std::uint64_t ack_floor);

    node::impl& owner_;
    unsigned partition_;
    partition_counters& counters_;
    std::atomic<bool> stopping_{false};
    std::atomic<bool> fenced_{false};
    std::thread thread_;
};

struct node::impl {
    cluster_config cfg;
    std::string http_url;
    twin_intake intake;
    natsOptions* opts = nullptr;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    kvStore* kv = nullptr;
    kvWatcher* watcher = nullptr;
    std::atomic<bool> stopping{false};
    std::atomic<bool> watcher_synced{false};
    std::thread watch_thread, coordinator_thread;
    std::vector<std::unique_ptr<partition_counters>> counters;  ///< one per partition, fixed size

    struct seen_value {
        std::string value;
        steady::time_point at;
    };
    mutable std::mutex view_mu;                 ///< guards members_seen and holders_seen (the watcher writes)
    std::map<std::string, seen_value> members_seen;   ///< member id -> its announcement (JSON)
    std::map<unsigned, seen_value> holders_seen;      ///< partition -> lease holder id

    struct held_partition {
        std::unique_ptr<partition_consumer> consumer;
        std::uint64_t revision = 0;
        lease_clock clock;
    };
    std::map<unsigned, held_partition> held;  ///< the coordinator thread's own
    std::atomic<std::uint64_t> acquisitions{0}, releases{0}, leases_lost{0};

    ~impl() { shutdown(); }

    bool alive(const seen_value& v, steady::time_point now) const { return now - v.at < cfg.lease_ttl; }

    std::vector<std::string> live_members() const {
        const auto now = steady::now();
        std::vector<std::string> ids{cfg.instance};
        std::lock_guard lock(view_mu);
        for (const auto& [id, v] : members_seen)
            if (id != cfg.instance && alive(v, now)) ids.push_back(id);
        return ids;
    }

    void watch_loop() {
        while (!stopping.load()) {
            kvEntry* e = nullptr;
            const natsStatus s = kvWatcher_Next(&e, watcher, 200);
            if (s == NATS_TIMEOUT) continue;
            if (s != NATS_OK) {
                if (stopping.load()) break;
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            if (!e) {  // the end of the initial values
                watcher_synced.store(true);
                continue;
            }
            const std::string key = kvEntry_Key(e);
            const bool put = kvEntry_Operation(e) == kvOp_Put;
            const std::string value = put ? std::string(static_cast<const char*>(kvEntry_Value(e)), static_cast<std::size_t>(kvEntry_ValueLen(e))) : std::string();
            kvEntry_Destroy(e);
            const auto now = steady::now();
            std::lock_guard lock(view_mu);
            if (key.rfind("members.", 0) == 0) {
                const auto id = key.substr(8);
                if (put) members_seen[id] = {value, now};
                else members_seen.erase(id);
            } else if (key.rfind("leases.p", 0) == 0) {
                unsigned p = 0;
                try {
                    p = static_cast<unsigned>(std::stoul(key.substr(8)));
                } catch (const std::exception&) {
                    continue;
                }
                if (put) holders_seen[p] = {value, now};
                else holders_seen.erase(p);
            }
        }
    }

    std::string announcement() const {
        nlohmann::json lag = nlohmann::json::object();
        for (unsigned p = 0; p < cfg.partitions; ++p)
            if (counters[p]->held.load()) lag[std::to_string(p)] = counters[p]->lag.load();
        return nlohmann::json{{"http", http_url}, {"lag", lag}}.dump();
    }

    /// Stops the consumers of `partitions` (all at once: each may be waiting in a fetch) and
    /// gives up their leases: deleted when handed over, left to expire when lost.
    void release(const std::vector<unsigned>& partitions, bool lost) {
        for (unsigned p : partitions) held.at(p).consumer->request_stop(lost);
        for (unsigned p : partitions) {
            release_one(p, held.at(p), lost);
            held.erase(p);
        }
    }

    void release_one(unsigned p, held_partition& h, bool lost) {
        h.consumer->join();
        counters[p]->held.store(false);
        counters[p]->live.store(false);
        if (lost) {
            leases_lost.fetch_add(1);
            spdlog::warn("cluster: lease on partition {} lost: stopped consuming it", p);
        } else {
            // Deleting the lease lets the new owner take it at its next heartbeat instead of a TTL later.
            if (const natsStatus s = kvStore_Delete(kv, lease_key(p).c_str()); s != NATS_OK)
                spdlog::warn("cluster: releasing the lease on partition {}: {}", p, nats_text(s));
            releases.fetch_add(1);
            spdlog::info("cluster: released partition {}", p);
        }
    }

    void coordinate() {
        // Plan with the whole membership in view, not the first few entries.
        for (int i = 0; i < 50 && !watcher_synced.load() && !stopping.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        // Members started together see each other before the first plan: no partition is taken
        // only to be handed over a moment later.
        const auto first_plan = steady::now() + 2 * cfg.heartbeat;
        while (!stopping.load()) {
            const auto tick = steady::now();
            const auto me = announcement();
            if (const natsStatus s = kvStore_Put(nullptr, kv, member_key(cfg.instance).c_str(), me.data(), static_cast<int>(me.size())); s != NATS_OK)
                spdlog::debug("cluster: heartbeat: {}", nats_text(s));
            // Renew what is held; a lease that cannot be renewed in time, or that another member
            // now holds, is given up at once (fencing: no ack after that).
            std::vector<unsigned> lost_now;
            for (auto& [p, h] : held) {
                std::uint64_t rev = 0;
                const auto sent = steady::now();
                const natsStatus s = kvStore_UpdateString(&rev, kv, lease_key(p).c_str(), cfg.instance.c_str(), h.revision);
                bool lost = false;
                if (s == NATS_OK) {
                    h.revision = rev;
                    h.clock.renewed(sent);
                } else {
                    std::lock_guard lock(view_mu);
                    auto seen = holders_seen.find(p);
                    lost = seen != holders_seen.end() && seen->second.value != cfg.instance && alive(seen->second, sent);
                }
                if (lost || !h.clock.valid(steady::now())) lost_now.push_back(p);
            }
            release(lost_now, true);
            if (tick < first_plan) {
                std::this_thread::sleep_for(cfg.heartbeat);
                continue;
            }
            std::set<unsigned> holding;
            for (const auto& [p, h] : held) holding.insert(p);
            const auto plan = plan_ownership(cfg.instance, live_members(), holding, cfg.partitions);
            release(plan.release, false);
            for (unsigned p : plan.acquire) {
                if (stopping.load()) break;
                std::uint64_t rev = 0;
                const auto sent = steady::now();
                if (kvStore_CreateString(&rev, kv, lease_key(p).c_str(), cfg.instance.c_str()) != NATS_OK) continue;  // still held
                held_partition h{nullptr, rev, lease_clock(cfg.lease_ttl, cfg.heartbeat)};
                h.clock.renewed(sent);
                counters[p]->held.store(true);
                h.consumer = std::make_unique<partition_consumer>(*this, p, *counters[p]);
                held.emplace(p, std::move(h));
                acquisitions.fetch_add(1);
                spdlog::info("cluster: acquired partition {}", p);
            }
            const auto next = tick + cfg.heartbeat;
            while (!stopping.load() && steady::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        // Leaving: hand every partition over at once, then withdraw the announcement.
        std::vector<unsigned> all;
        for (const auto& [p, h] : held) all.push_back(p);
        release(all, false);
        kvStore_Delete(kv, member_key(cfg.instance).c_str());
    }

    void shutdown() {
        if (stopping.exchange(true)) return;
        if (coordinator_thread.joinable()) coordinator_thread.join();
        if (watcher) kvWatcher_Stop(watcher);
        if (watch_thread.joinable()) watch_thread.join();
        if (watcher) kvWatcher_Destroy(watcher);
        watcher = nullptr;
        if (kv) kvStore_Destroy(kv);
        kv = nullptr;
        if (js) jsCtx_Destroy(js);
        js = nullptr;
        if (nc) {
            natsConnection_Close(nc);
            natsConnection_Destroy(nc);
        }
        nc = nullptr;
        if (opts) natsOptions_Destroy(opts);
        opts = nullptr;
    }
};

bool partition_consumer::wait_applied(std::uint64_t seq) {
    // Bounded: a worker stuck for a minute means something is badly wrong; leave the batch
    // unacknowledged (it is redelivered) rather than hang the partition forever.
    const auto deadline = steady::now() + std::chrono::seconds(60);
    while (owner_.intake.applied() < seq) {
        if (steady::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

std::optional<std::uint64_t> partition_consumer::read_ack_floor() {
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const auto name = consumer_name(partition_);
    const natsStatus s = js_GetConsumerInfo(&ci, owner_.js, owner_.cfg.stream.c_str(), name.c_str(), nullptr, &jerr);
    if (s == NATS_OK) {
        const std::uint64_t floor = ci->AckFloor.Stream;
        jsConsumerInfo_Destroy(ci);
        return floor;
    }
    if (s == NATS_NOT_FOUND || jerr == JSConsumerNotFoundErr) return 0;
    spdlog::warn("cluster: partition {}: reading its consumer: {}", partition_, nats_text(s));
    return std::nullopt;
}

bool partition_consumer::rebuild(std::uint64_t ack_floor) {
    if (ack_floor == 0) return true;
    // An ephemeral consumer over the partition from the stream's start: the twins are rebuilt
    // by applying again what the previous owner applied (results muted: it published them).
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = owner_.cfg.stream.c_str();
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription* sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const auto filter = partition_filter(partition_);
    if (const natsStatus s = js_PullSubscribe(&sub, owner_.js, filter.c_str(), nullptr, nullptr, &so, &jerr); s != NATS_OK) {
        spdlog::warn("cluster: partition {}: rebuild consumer: {} ({})", partition_, nats_text(s), static_cast<int>(jerr));
        return false;
    }
    std::uint64_t last_seq = 0, last_stream_seq = 0;
    bool ok = true;
    while (last_stream_seq < ack_floor && !stopping_.load()) {
        natsMsgList list{nullptr, 0};
        const natsStatus s = natsSubscription_Fetch(&list, sub, 512, 1000, &jerr);
        if (s == NATS_TIMEOUT) break;  // the floor's message aged out of the stream: nothing more to rebuild from
        if (s != NATS_OK) {
            ok = false;
            break;
        }
        for (int i = 0; i < list.Count && ok; ++i) {
            natsMsg* m = list.Msgs[i];
            jsMsgMetaData* meta = nullptr;
            if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
                last_stream_seq = meta->Sequence.Stream;
                jsMsgMetaData_Destroy(meta);
            }
            if (last_stream_seq > ack_floor) break;  // live from here: the durable consumer delivers it
            auto seq = owner_.intake.deliver(asset_of_subject(natsMsg_GetSubject(m)),
                                             std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))), true);
            if (!seq) ok = false;
            else if (*seq) last_seq = std::max(last_seq, *seq);
            counters_.rebuilt.fetch_add(1, std::memory_order_relaxed);
        }
        natsMsgList_Destroy(&list);
        if (!ok) break;
    }
    natsSubscription_Unsubscribe(sub);  // deletes the ephemeral consumer
    natsSubscription_Destroy(sub);
    return ok && !stopping_.load() && wait_applied(last_seq);
}

void partition_consumer::consume(std::uint64_t ack_floor) {
    const auto name = consumer_name(partition_);
    const auto filter = partition_filter(partition_);
    const auto& cfg = owner_.cfg;
    // A fresh durable from just after the floor: what the previous owner had delivered but not
    // acknowledged comes at once, without waiting for its ack timeout.
    jsErrCode jerr = static_cast<jsErrCode>(0);
    js_DeleteConsumer(owner_.js, cfg.stream.c_str(), name.c_str(), nullptr, &jerr);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = name.c_str();
    cc.FilterSubject = filter.c_str();
    cc.AckPolicy = js_AckAll;  // acknowledging a batch's last message acknowledges the batch
    cc.DeliverPolicy = ack_floor ? js_DeliverByStartSequence : js_DeliverAll;
    cc.OptStartSeq = ack_floor ? ack_floor + 1 : 0;
    cc.AckWait = 30000 * ns_per_ms;
    cc.MaxAckPending = 8192;
    jsConsumerInfo* ci = nullptr;
    if (const natsStatus s = js_AddConsumer(&ci, owner_.js, cfg.stream.c_str(), &cc, nullptr, &jerr); s != NATS_OK) {
        spdlog::warn("cluster: partition {}: creating its consumer: {} ({})", partition_, nats_text(s), static_cast<int>(jerr));
        return;
    }
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cfg.stream.c_str();
    so.Consumer = name.c_str();
    natsSubscription* sub = nullptr;
    if (const natsStatus s = js_PullSubscribe(&sub, owner_.js, filter.c_str(), name.c_str(), nullptr, &so, &jerr); s != NATS_OK) {
        spdlog::warn("cluster: partition {}: binding its consumer: {}", partition_, nats_text(s));
        return;
    }
    counters_.live.store(true);
    spdlog::info("cluster: partition {} live from stream sequence {}", partition_, ack_floor + 1);
    while (!stopping_.load()) {
        natsMsgList list{nullptr, 0};
        const natsStatus s = natsSubscription_Fetch(&list, sub, 256, 500, &jerr);
        if (s == NATS_TIMEOUT) {
            counters_.lag.store(0, std::memory_order_relaxed);
            continue;
        }
        if (s != NATS_OK) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));  // NATS node lost: the client reconnects
            continue;
        }
        std::uint64_t wait_for = 0;
        bool closed = false;
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* m = list.Msgs[i];
            jsMsgMetaData* meta = nullptr;
            if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
                if (meta->NumDelivered > 1) counters_.redelivered.fetch_add(1, std::memory_order_relaxed);
                counters_.lag.store(meta->NumPending, std::memory_order_relaxed);
                jsMsgMetaData_Destroy(meta);
            }
            auto seq = owner_.intake.deliver(asset_of_subject(natsMsg_GetSubject(m)),
                                             std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))), false);
            if (!seq) {
                closed = true;
                break;
            }
            wait_for = std::max(wait_for, *seq);
            counters_.delivered.fetch_add(1, std::memory_order_relaxed);
        }
        // Acknowledge only once the twins have applied the whole batch (AckAll: the last message
        // covers it). On shutdown the unapplied rest stays unacknowledged for the next owner.
        if (!closed && list.Count > 0 && wait_applied(wait_for) && !fenced_.load()) {
            if (natsMsg_Ack(list.Msgs[list.Count - 1], nullptr) == NATS_OK)
                counters_.acked.fetch_add(static_cast<std::uint64_t>(list.Count), std::memory_order_relaxed);
        }
        natsMsgList_Destroy(&list);
        if (closed) break;
    }
    counters_.live.store(false);
    // Destroy only: since nats.c 3.4 that leaves the durable (and its ack floor) for the next owner.
    natsSubscription_Destroy(sub);
}

void partition_consumer::run() {
    while (!stopping_.load()) {
        auto floor = read_ack_floor();
        if (!floor) {
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
            continue;
        }
        if (!rebuild(*floor)) {
            if (!stopping_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
            continue;
        }
        consume(*floor);
        if (!stopping_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
}

node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
node::~node() { stop(); }
void node::stop() { impl_->shutdown(); }

Result<std::unique_ptr<node>> node::start(const cluster_config& config, std::string http_url, twin_intake intake) {
    if (auto ok = check_cluster_config(config); !ok) return {ok.error(), ok.detail()};
    auto p = std::make_unique<impl>();
    p->cfg = config;
    p->http_url = std::move(http_url);
    p->intake = std::move(intake);
    for (unsigned i = 0; i < config.partitions; ++i) p->counters.push_back(std::make_unique<partition_counters>());
    auto fail = [](const std::string& what, natsStatus s) -> Result<std::unique_ptr<node>> {
        return {errc::unavailable, "NATS: " + what + ": " + nats_text(s)};
    };
    std::vector<const char*> urls;
    for (const auto& u : config.nats_urls) urls.push_back(u.c_str());
    natsStatus s = natsOptions_Create(&p->opts);
    if (s == NATS_OK) s = natsOptions_SetServers(p->opts, urls.data(), static_cast<int>(urls.size()));
    if (s == NATS_OK) s = natsOptions_SetName(p->opts, ("turbotwin-" + config.instance).c_str());
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(p->opts, -1);  // forever: a NATS node restarting is routine
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(p->opts, 250);
    if (s == NATS_OK) s = natsOptions_SetTimeout(p->opts, 2000);
    if (s != NATS_OK) return fail("options", s);
    if (s = natsConnection_Connect(&p->nc, p->opts); s != NATS_OK) return fail("cannot connect to " + config.nats_urls.front(), s);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    if (s = natsConnection_JetStream(&p->js, p->nc, &jo); s != NATS_OK) return fail("JetStream", s);

    // The telemetry stream: what the mapping puts on twin.p.K.ID, replicated, kept telemetry_max_age.
    jsStreamConfig sc;
    jsStreamConfig_Init(&sc);
    const char* subjects[] = {"twin.p.*.*"};
    sc.Name = config.stream.c_str();
    sc.Subjects = subjects;
    sc.SubjectsLen = 1;
    sc.Storage = js_FileStorage;
    sc.Replicas = config.replicas;
    sc.MaxAge = static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(config.telemetry_max_age).count());
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsStreamInfo* si = nullptr;
    s = js_AddStream(&si, p->js, &sc, nullptr, &jerr);
    if (si) jsStreamInfo_Destroy(si);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) return fail("creating stream " + config.stream, s);

    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = config.bucket.c_str();
    kc.History = 1;
    kc.TTL = config.lease_ttl.count() * ns_per_ms;  // nanoseconds (the server refuses under 100 ms)
    kc.Replicas = config.replicas;
    kc.StorageType = js_FileStorage;
    if (s = js_CreateKeyValue(&p->kv, p->js, &kc); s != NATS_OK) {
        const auto why = nats_text(s);
        // Another member created it first with the same settings: bind to it.
        if (js_KeyValue(&p->kv, p->js, config.bucket.c_str()) != NATS_OK) return {errc::unavailable, "NATS: KV bucket " + config.bucket + ": " + why};
    }
    if (s = kvStore_WatchAll(&p->watcher, p->kv, nullptr); s != NATS_OK) return fail("watching " + config.bucket, s);
    auto* raw = p.get();
    raw->watch_thread = std::thread([raw] { raw->watch_loop(); });
    raw->coordinator_thread = std::thread([raw] { raw->coordinate(); });
    spdlog::info("cluster: member '{}' joined ({} partitions, lease {} ms, stream {}, bucket {})", config.instance, config.partitions,
                 config.lease_ttl.count(), config.stream, config.bucket);
    return std::unique_ptr<node>(new node(std::move(p)));
}

bool node::publishing(std::string_view asset) const {
    return impl_->counters[partition_of(asset, impl_->cfg.partitions)]->live.load(std::memory_order_acquire);
}

bool node::owns(std::string_view asset) const {
    return impl_->counters[partition_of(asset, impl_->cfg.partitions)]->held.load(std::memory_order_acquire);
}

std::optional<std::string> node::owner_url(std::string_view asset) const {
    const unsigned p = partition_of(asset, impl_->cfg.partitions);
    if (impl_->counters[p]->held.load()) return std::nullopt;
    const auto now = steady::now();
    std::lock_guard lock(impl_->view_mu);
    auto h = impl_->holders_seen.find(p);
    if (h == impl_->holders_seen.end() || !impl_->alive(h->second, now) || h->second.value == impl_->cfg.instance) return std::nullopt;
    auto m = impl_->members_seen.find(h->second.value);
    if (m == impl_->members_seen.end() || !impl_->alive(m->second, now)) return std::nullopt;
    auto j = nlohmann::json::parse(m->second.value, nullptr, false);
    if (!j.is_object() || !j.contains("http") || !j["http"].is_string()) return std::nullopt;
    return j["http"].get<std::string>();
}

bool node::connected() const { return impl_->nc && natsConnection_Status(impl_->nc) == NATS_CONN_STATUS_CONNECTED; }

nlohmann::json node::describe() const {
    const auto& cfg = impl_->cfg;
    const auto now = steady::now();
    nlohmann::json members = nlohmann::json::array();
    std::map<unsigned, nlohmann::json> remote_lag;  // partitions held elsewhere: the lag their holder announces
    std::map<unsigned, std::string> holders;
    {
        std::lock_guard lock(impl_->view_mu);
        for (const auto& [id, v] : impl_->members_seen) {
            if (!impl_->alive(v, now)) continue;
            auto j = nlohmann::json::parse(v.value, nullptr, false);
            members.push_back({{"id", id},
                               {"url", j.is_object() ? j.value("http", "") : ""},
                               {"self", id == cfg.instance},
                               {"last_seen_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - v.at).count()}});
            if (j.is_object() && j.contains("lag") && j["lag"].is_object())
                for (const auto& [k, lag] : j["lag"].items()) {
                    try {
                        remote_lag[static_cast<unsigned>(std::stoul(k))] = lag;
                    } catch (const std::exception&) {
                    }
                }
        }
        for (const auto& [p, v] : impl_->holders_seen)
            if (impl_->alive(v, now)) holders[p] = v.value;
    }
    nlohmann::json partitions = nlohmann::json::array();
    std::size_t held = 0;
    for (unsigned p = 0; p < cfg.partitions; ++p) {
        const auto& c = *impl_->counters[p];
        nlohmann::json row = {{"partition", p}};
        if (c.held.load()) {
            ++held;
            row["owner"] = cfg.instance;
            row["live"] = c.live.load();
            row["lag"] = c.lag.load();
            row["delivered"] = c.delivered.load();
            row["acked"] = c.acked.load();
            row["redelivered"] = c.redelivered.load();
            row["rebuilt"] = c.rebuilt.load();
        } else {
            auto h = holders.find(p);
            row["owner"] = h == holders.end() || h->second == cfg.instance ? nlohmann::json(nullptr) : nlohmann::json(h->second);
            auto l = remote_lag.find(p);
            row["lag"] = l == remote_lag.end() ? nlohmann::json(nullptr) : l->second;
        }
        partitions.push_back(std::move(row));
    }
    return {{"instance", cfg.instance},
            {"connected", connected()},
            {"partition_count", cfg.partitions},
            {"held", held},
            {"members", members},
            {"partitions", partitions},
            {"acquisitions", impl_->acquisitions.load()},
            {"releases", impl_->releases.load()},
            {"leases_lost", impl_->leases_lost.load()}};
}

std::string node::prometheus() const {
    const auto& cfg = impl_->cfg;
    std::string out;
    auto family = [&out](const char* name, const char* type, const char* help) {
        out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    };
    auto per_partition = [&](const char* name, const char* type, const char* help, auto value) {
        family(name, type, help);
        for (unsigned p = 0; p < cfg.partitions; ++p) {
            const auto& c = *impl_->counters[p];
            if (!c.held.load() && c.delivered.load() == 0 && c.rebuilt.load() == 0) continue;  // never ours: no series
            out += std::string(name) + "{partition=\"" + std::to_string(p) + "\"} " + std::to_string(value(c)) + "\n";
        }
    };
    per_partition("turbotwin_cluster_partition_owned", "gauge", "1 while this member holds the partition's lease",
                  [](const partition_counters& c) { return c.held.load() ? 1u : 0u; });
    per_partition("turbotwin_cluster_partition_lag_messages", "gauge", "messages of the partition not yet delivered here (last fetch)",
                  [](const partition_counters& c) { return c.lag.load(); });
    per_partition("turbotwin_cluster_partition_delivered_total", "counter", "messages consumed live from the partition",
                  [](const partition_counters& c) { return c.delivered.load(); });
    per_partition("turbotwin_cluster_partition_acked_total", "counter", "messages acknowledged after the twins applied them",
                  [](const partition_counters& c) { return c.acked.load(); });
    per_partition("turbotwin_cluster_partition_redelivered_total", "counter", "deliveries the stream had made before",
                  [](const partition_counters& c) { return c.redelivered.load(); });
    per_partition("turbotwin_cluster_partition_rebuilt_total", "counter", "messages re-applied from the stream at takeover",
                  [](const partition_counters& c) { return c.rebuilt.load(); });
    family("turbotwin_cluster_members", "gauge", "live cluster members this one sees, itself included");
    out += "turbotwin_cluster_members " + std::to_string(impl_->live_members().size()) + "\n";
    family("turbotwin_cluster_lease_acquisitions_total", "counter", "partition leases taken");
    out += "turbotwin_cluster_lease_acquisitions_total " + std::to_string(impl_->acquisitions.load()) + "\n";
    family("turbotwin_cluster_lease_releases_total", "counter", "partition leases handed over to their rendezvous owner");
    out += "turbotwin_cluster_lease_releases_total " + std::to_string(impl_->releases.load()) + "\n";
    family("turbotwin_cluster_leases_lost_total", "counter", "leases given up because they could not be renewed in time");
    out += "turbotwin_cluster_leases_lost_total " + std::to_string(impl_->leases_lost.load()) + "\n";
    return out;
}

}  // namespace turbotwin::cluster

#else  // built without libnats

namespace turbotwin::cluster {

bool available() noexcept { return false; }

struct node::impl {};
node::node(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
node::~node() = default;
void node::stop() {}
Result<std::unique_ptr<node>> node::start(const cluster_config&, std::string, twin_intake) {
    return {errc::unavailable, "this turbotwin was built without the NATS client (libnats-dev): cluster mode is unavailable"};
}
bool node::publishing(std::string_view) const { return false; }
bool node::owns(std::string_view) const { return false; }
std::optional<std::string> node::owner_url(std::string_view) const { return std::nullopt; }
bool node::connected() const { return false; }
nlohmann::json node::describe() const { return nlohmann::json::object(); }
std::string node::prometheus() const { return {}; }

}  // namespace turbotwin::cluster

#endif
