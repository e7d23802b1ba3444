#include "turbotwin/cluster/node.hpp"

#include "turbotwin/cluster/partitioning.hpp"

#if TURBOTWIN_HAVE_NATS

#include <nats/nats.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <utility>
#include <semaphore>
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
std::string partition_filter(unsigned p) { return prefixed("twin.j.", std::to_string(p), ".*"); }

// Ingest. NATS' MQTT listener stores every QoS 1 publish in its own stream, $MQTT_msgs, under the
// mapped subject ($MQTT.msgs.twin.p.K.ID), and sends the PUBACK only once that store succeeded:
// what an engine has had acknowledged is in a replicated stream. The partition's holder consumes
// it from there and, once applied, appends it to the partition's journal (the telemetry stream,
// twin.j.K.ID), from which a new holder rebuilds the twins. (Capturing the mapped core subject
// into the telemetry stream instead lost readings while that stream elected a leader: the engine
// had its PUBACK and never sent them again. Measured.)
constexpr const char* mqtt_stream = "$MQTT_msgs";
std::string ingest_filter(unsigned p) { return prefixed("$MQTT.msgs.twin.p.", std::to_string(p), ".*"); }
/// The partition's ingest consumer on the MQTT listener's stream: one durable, created once and
/// never deleted. (Deleting a consumer of that interest-retention stream makes the server drop
/// the messages it thinks no other consumer needs; a consumer created a moment before can be
/// missed: measured, as one partition's readings lost after a takeover.)
std::string ingest_consumer(unsigned p) { return prefixed("in", std::to_string(p)); }
std::string journal_subject(unsigned p, std::string_view asset) {
    std::string s = prefixed("twin.j.", std::to_string(p), ".");
    s += asset;
    return s;
}

/// Where a partition's ingest consumer stands.
struct ingest_position {
    std::uint64_t ack_floor = 0;           ///< stream sequence: everything up to it is applied and journaled
    std::uint64_t delivered = 0;           ///< stream sequence of the last message delivered (to anyone)
    std::uint64_t delivered_consumer = 0;  ///< its consumer sequence: the next first delivery is this + 1
};

/// Creates the partition's ingest consumer unless it exists. Only a "not found" answer creates
/// it: a timeout proves nothing.
Result<ingest_position> ensure_ingest_consumer(jsCtx* js, unsigned partition) {
    const auto name = ingest_consumer(partition);
    for (int attempt = 0; attempt < 2; ++attempt) {
        jsConsumerInfo* ci = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        const natsStatus s = js_GetConsumerInfo(&ci, js, mqtt_stream, name.c_str(), nullptr, &jerr);
        if (s == NATS_OK) {
            ingest_position at{ci->AckFloor.Stream, ci->Delivered.Stream, ci->Delivered.Consumer};
            jsConsumerInfo_Destroy(ci);
            return at;
        }
        if (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr) return {errc::unavailable, "reading consumer " + name + ": " + nats_text(s)};
        if (attempt > 0) break;
        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        const auto filter = ingest_filter(partition);
        cc.Durable = name.c_str();
        cc.FilterSubject = filter.c_str();
        cc.AckPolicy = js_AckAll;  // acknowledging a batch's last message acknowledges the batch
        cc.DeliverPolicy = js_DeliverAll;
        // Redelivery only when a holder died with messages in hand, or an acknowledgement was
        // lost: the new holder applies those first itself (partition_consumer::catch_up), so the
        // twin drops the redeliveries as duplicates.
        cc.AckWait = 30000 * ns_per_ms;
        cc.MaxAckPending = 8192;
        jsConsumerInfo* made = nullptr;
        if (const natsStatus c = js_AddConsumer(&made, js, mqtt_stream, &cc, nullptr, &jerr); c != NATS_OK) {
            if (jerr == JSStreamNotFoundErr) return {errc::not_found, "the MQTT listener's stream does not exist yet"};
            return {errc::unavailable, "creating consumer " + name + ": " + nats_text(c)};
        }
        jsConsumerInfo_Destroy(made);
    }
    return {errc::unavailable, "consumer " + name + " vanished"};
}

/// Decodes standard base64 (the JetStream API's message data).
std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out(text.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) return std::nullopt;
    std::size_t size = static_cast<std::size_t>(n);
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && size > 0; --i) --size;  // padding decodes as zeros
    out.resize(size);
    return out;
}

// "twin.j.K.ID" or "$MQTT.msgs.twin.p.K.ID" -> "ID" (the mapping keeps the engine id as the last token).
std::string asset_of_subject(std::string_view subject) {
    const auto dot = subject.rfind('.');
    return std::string(dot == std::string_view::npos ? subject : subject.substr(dot + 1));
}

/// Counters of one partition, read by REST and /metrics while its consumer thread writes them.
struct partition_counters {
    std::atomic<bool> held{false};          ///< this member holds the lease
    std::atomic<bool> live{false};          ///< caught up with the previous owner: results are published
    /// Until when the lease is known valid (steady clock, ns): a thread blocked in a slow JetStream
    /// call cannot clear `live` in time, so readers also compare with this.
    std::atomic<std::int64_t> valid_until_ns{0};

    bool lease_valid() const {
        return std::chrono::steady_clock::now().time_since_epoch().count() < valid_until_ns.load(std::memory_order_acquire);
    }
    bool owned() const { return held.load(std::memory_order_acquire) && lease_valid(); }
    bool publishing() const { return live.load(std::memory_order_acquire) && lease_valid(); }
    std::atomic<std::uint64_t> lag{0};      ///< messages in the stream not yet delivered to us (last fetch)
    std::atomic<std::uint64_t> delivered{0};
    std::atomic<std::uint64_t> acked{0};
    std::atomic<std::uint64_t> redelivered{0};  ///< deliveries the server had made before (a previous owner's unacked)
    std::atomic<std::uint64_t> rebuilt{0};      ///< messages re-applied from the stream at takeover
    std::atomic<std::uint64_t> gaps{0};
    std::atomic<std::uint64_t> stalls{0};       ///< consumers set up again because deliveries stopped (a NATS node died)
    std::atomic<std::uint64_t> journaled{0};        ///< applied readings appended to the partition's journal
    std::atomic<std::uint64_t> caught_up{0};        ///< readings a holder had in hand, applied on binding
    std::atomic<std::uint64_t> journal_retries{0};  ///< journal appends sent again (no acknowledgement in time)
};

/// Operator commands waiting for a partition's thread (node::command), which drains them in
/// order with the partition's readings.
struct command_inbox {
    struct entry {
        std::string asset, topic, payload;
        std::function<void(bool)> apply;
    };
    std::mutex mu;
    std::vector<entry> waiting;

    std::vector<entry> take() {
        std::lock_guard lock(mu);
        return std::exchange(waiting, {});
    }
};

// Operator commands are journaled with their topic in this header; telemetry has none.
constexpr const char* topic_header = "Turbotwin-Topic";

/// Reads the journal entries on `filter` (a partition's or one engine's) from the stream's start
/// up to the last one its leader reports now, in order, handing each to `entry` with its subject
/// (`entry` or `go_on` false: stop, not complete). Not up to the count a new consumer reports: its
/// one replica may sit on a follower that has not stored the newest entries yet, and a read that
/// stopped there missed entries (measured, as one engine off predict). Through an ephemeral
/// consumer read once and thrown away: one replica in memory, no replicated raft group per read,
/// and no acknowledgements, so no redelivery either: a delivery lost in flight (counted in `gaps`)
/// or a slow or failing-over server is an error, and the caller reads again.
Result<bool> read_journal(jsCtx* js, const std::string& stream, const std::string& filter, std::int64_t fetch_wait_ms,
                          std::atomic<std::uint64_t>* gaps, const std::function<bool()>& go_on,
                          const std::function<bool(std::string_view subject, journal_record&&)>& entry) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsMsg* last = nullptr;
    const natsStatus found = js_GetLastMsg(&last, js, stream.c_str(), filter.c_str(), nullptr, &jerr);
    if (found == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) return true;  // nothing journaled
    if (found != NATS_OK) return {errc::unavailable, "reading the journal's end: " + nats_text(found)};
    const std::uint64_t end = natsMsg_GetSequence(last);
    natsMsg_Destroy(last);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.Replicas = 1;
    so.Config.MemoryStorage = true;
    so.Config.InactiveThreshold = 30000 * ns_per_ms;  // gone even if the reader dies while reading
    natsSubscription* sub = nullptr;
    if (const natsStatus s = js_PullSubscribe(&sub, js, filter.c_str(), nullptr, nullptr, &so, &jerr); s != NATS_OK)
        return {errc::unavailable, "reading the journal: " + nats_text(s) + " (" + std::to_string(static_cast<int>(jerr)) + ")"};
    Result<bool> outcome = true;
    std::uint64_t stream_seq = 0, next_consumer_seq = 1;
    while (outcome && *outcome && stream_seq < end) {
        if (!go_on()) {
            outcome = false;
            break;
        }
        natsMsgList list{nullptr, 0};
        if (const natsStatus s = natsSubscription_Fetch(&list, sub, 512, fetch_wait_ms, &jerr); s != NATS_OK) {
            outcome = {errc::unavailable, "reading the journal: " + nats_text(s)};
            break;
        }
        for (int i = 0; i < list.Count && stream_seq < end; ++i) {
            natsMsg* m = list.Msgs[i];
            bool gap = true;
            if (jsMsgMetaData* meta = nullptr; natsMsg_GetMetaData(&meta, m) == NATS_OK) {
                gap = meta->Sequence.Consumer != next_consumer_seq;
                next_consumer_seq = meta->Sequence.Consumer + 1;
                stream_seq = meta->Sequence.Stream;
                jsMsgMetaData_Destroy(meta);
            }
            if (gap) {
                if (gaps) gaps->fetch_add(1, std::memory_order_relaxed);
                outcome = {errc::unavailable, "reading the journal: a delivery was lost (a node failing over); try again"};
                break;
            }
            const char* topic = nullptr;
            if (natsMsgHeader_Get(m, topic_header, &topic) != NATS_OK) topic = nullptr;
            if (!entry(natsMsg_GetSubject(m), {topic ? std::string(topic) : std::string(),
                                               std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)))})) {
                outcome = false;
                break;
            }
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Unsubscribe(sub);  // deletes the ephemeral consumer
    natsSubscription_Destroy(sub);
    return outcome;
}

}  // namespace

/// Consumes one held partition on its own thread: rebuild from the stream up to the previous
/// owner's acknowledgement floor with results muted, then live with explicit acknowledgements.
/// One held partition, on its own thread: it renews its lease (so that renewals never queue
/// behind other partitions' work), rebuilds the twins from the stream up to the previous owner's
/// acknowledgement floor with results muted, then consumes live with explicit acknowledgements.
/// It stops fetching and acknowledging before its lease could expire (fencing), and on a
/// graceful stop deletes its lease so that the next owner takes over at once.
/// One held partition, on its own thread. It renews its own lease (so that renewals never queue
/// behind other partitions' work). On taking the partition it rebuilds the twins from the
/// partition's journal with results muted; then it consumes the engines' readings from the MQTT
/// listener's stream, applies them, appends them to the journal and only then acknowledges them.
/// It stops fetching, journaling and acknowledging before its lease could expire (fencing), and
/// on a graceful stop deletes its lease so that the next owner takes over at once.
class partition_consumer {
public:
    partition_consumer(node::impl& owner, unsigned partition, partition_counters& counters, std::uint64_t revision,
                       lease_clock lease)
        : owner_(owner), partition_(partition), counters_(counters), revision_(revision), lease_(lease) {
        thread_ = std::thread([this] { run(); });
    }
    ~partition_consumer() {
        request_stop();
        join();
    }
    /// Asks the thread to stop after the batch in hand and hand the partition over.
    void request_stop() { stopping_.store(true); }
    /// The thread has finished (stopped, or its lease was lost).
    bool done() const { return done_.load(); }
    bool lost() const { return lost_.load(); }
    void join() {
        if (thread_.joinable()) thread_.join();
    }

private:
    void run();
    /// Renews the lease when a heartbeat is due; false once it must be considered lost (or a
    /// stop was asked): then nothing more is fetched, journaled or acknowledged.
    bool keep_going();
    bool wait_applied(std::uint64_t seq);
    /// Applies the partition's journal again, from its start to its end, results muted.
    bool rebuild();
    /// Binds to the partition's ingest consumer, after applying (catch_up) what it had delivered
    /// beyond its acknowledgement floor: a previous holder's messages in hand, or deliveries lost
    /// in flight, which it would otherwise hand back only after the ack wait, behind newer
    /// readings, and the twin refuses a cycle older than one it has.
    bool bind(natsSubscription** sub);
    /// Applies and journals the partition's messages in (from, to] of the MQTT listener's stream,
    /// read through the stream's leader (no consumer): in stream order, duplicates dropped.
    bool catch_up(std::uint64_t from, std::uint64_t to);
    void consume(natsSubscription* sub);
    /// Appends one applied reading or command to the journal, again until the journal
    /// acknowledges it (the same message id each time, so a publish stored but not acknowledged
    /// is not stored twice). `topic`: a command's topic, or empty for telemetry.
    bool append(const std::string& asset, const char* data, int size, const std::string& msg_id, const std::string& topic = {});
    /// Journals and hands over the operator commands waiting for this partition.
    void run_commands();

    node::impl& owner_;
    unsigned partition_;
    partition_counters& counters_;
    std::uint64_t revision_;  ///< of the lease entry: renewals are compare-and-set on it
    bool rebuilt_ = false;    ///< the twins hold the journal: a consumer set up again need not rebuild
    std::uint64_t applied_through_ = 0;    ///< highest ingest stream sequence applied by this holder
    std::uint64_t next_consumer_seq_ = 1;  ///< consumer sequence the next first delivery must have
    lease_clock lease_;
    steady::time_point last_attempt_ = steady::now();
    std::atomic<bool> stopping_{false};
    std::atomic<bool> lost_{false};
    std::atomic<bool> done_{false};
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
    std::vector<std::unique_ptr<command_inbox>> inboxes;        ///< one per partition, fixed size
    std::atomic<std::uint64_t> commands_journaled{0};

    struct seen_value {
        std::string value;
        steady::time_point at;
    };
    mutable std::mutex view_mu;                 ///< guards members_seen and holders_seen (the watcher writes)
    std::map<std::string, seen_value> members_seen;   ///< member id -> its announcement (JSON)
    std::map<unsigned, seen_value> holders_seen;      ///< partition -> lease holder id
    std::map<std::string, std::uint64_t> links_seen;  ///< other member id -> its announced link epoch (watcher's own)
    std::atomic<std::uint64_t> peers_relinked{0};

    /// Held partitions (and those handing over): the coordinator thread's own.
    std::map<unsigned, std::unique_ptr<partition_consumer>> held;
    jsCtx* lease_js = nullptr;   ///< JetStream context with a short timeout, for lease operations
    /// The partition threads' JetStream context: a call gives up while the lease it was renewed
    /// under is still valid, so a slow API answer costs a retry, not the partition.
    jsCtx* partition_js = nullptr;
    kvStore* lease_kv = nullptr; ///< the bucket through lease_js: a renewal never waits 5 s
    std::atomic<std::uint64_t> acquisitions{0}, releases{0}, leases_lost{0};
    std::counting_semaphore<> setup_slots{4};  ///< partitions being set up (rebuild, bind) at once

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

    /// A member seen for the first time, or announcing another link epoch, has a new MQTT link.
    void note_links(const std::string& id, const std::string& announcement) {
        const auto parsed = nlohmann::json::parse(announcement, nullptr, false);
        const std::uint64_t links = parsed.is_object() ? parsed.value("links", std::uint64_t{0}) : 0;
        auto [seen, first] = links_seen.try_emplace(id, links);
        if (first || seen->second != links) peers_relinked.fetch_add(1, std::memory_order_relaxed);
        seen->second = links;
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
                if (put) {
                    members_seen[id] = {value, now};
                    if (id != cfg.instance) note_links(id, value);
                } else {
                    members_seen.erase(id);
                    links_seen.erase(id);  // back later: seen anew
                }
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
        return nlohmann::json{{"http", http_url}, {"lag", lag}, {"links", intake.link_epoch ? intake.link_epoch() : 0}}.dump();
    }

    /// Joins the partition threads that have finished: handed over, or lease lost.
    void reap() {
        for (auto it = held.begin(); it != held.end();) {
            const unsigned p = it->first;
            auto& c = *it->second;
            if (!c.done()) {
                ++it;
                continue;
            }
            c.join();
            counters[p]->held.store(false);
            counters[p]->live.store(false);
            if (c.lost()) {
                leases_lost.fetch_add(1);
                spdlog::warn("cluster: lease on partition {} lost: stopped consuming it", p);
            } else {
                releases.fetch_add(1);
                spdlog::info("cluster: released partition {}", p);
            }
            it = held.erase(it);
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
            if (const natsStatus s = kvStore_Put(nullptr, lease_kv, member_key(cfg.instance).c_str(), me.data(), static_cast<int>(me.size())); s != NATS_OK)
                spdlog::debug("cluster: heartbeat: {}", nats_text(s));
            reap();
            if (tick >= first_plan) {
                std::set<unsigned> holding;  // a partition handing over counts until its thread is done
                for (const auto& [p, c] : held) holding.insert(p);
                const auto plan = plan_ownership(cfg.instance, live_members(), holding, cfg.partitions);
                for (unsigned p : plan.release) held.at(p)->request_stop();
                for (unsigned p : plan.acquire) {
                    if (stopping.load()) break;
                    std::uint64_t rev = 0;
                    const auto sent = steady::now();
                    if (kvStore_CreateString(&rev, lease_kv, lease_key(p).c_str(), cfg.instance.c_str()) != NATS_OK) continue;  // still held
                    lease_clock lease(cfg.lease_ttl, cfg.heartbeat);
                    lease.renewed(sent);
                    counters[p]->valid_until_ns.store((sent + cfg.lease_ttl - 2 * cfg.heartbeat).time_since_epoch().count());
                    counters[p]->held.store(true);
                    held.emplace(p, std::make_unique<partition_consumer>(*this, p, *counters[p], rev, lease));
                    acquisitions.fetch_add(1);
                    spdlog::info("cluster: acquired partition {}", p);
                }
            }
            const auto next = tick + cfg.heartbeat;
            while (!stopping.load() && steady::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        // Leaving: hand every partition over at once, then withdraw the announcement.
        for (auto& [p, c] : held) c->request_stop();
        for (auto& [p, c] : held) c->join();
        reap();
        kvStore_Delete(lease_kv, member_key(cfg.instance).c_str());
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
        if (lease_kv) kvStore_Destroy(lease_kv);
        lease_kv = nullptr;
        if (lease_js) jsCtx_Destroy(lease_js);
        lease_js = nullptr;
        if (partition_js) jsCtx_Destroy(partition_js);
        partition_js = nullptr;
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

bool partition_consumer::keep_going() {
    const auto now = steady::now();
    if (now - last_attempt_ >= owner_.cfg.heartbeat) {
        last_attempt_ = now;
        std::uint64_t rev = 0;
        const auto key = lease_key(partition_);
        if (kvStore_UpdateString(&rev, owner_.lease_kv, key.c_str(), owner_.cfg.instance.c_str(), revision_) == NATS_OK) {
            revision_ = rev;
            lease_.renewed(now);
            counters_.valid_until_ns.store((now + owner_.cfg.lease_ttl - 2 * owner_.cfg.heartbeat).time_since_epoch().count(),
                                           std::memory_order_release);
        } else {
            // Another member holds it now: lost at once, without waiting for the clock.
            std::lock_guard lock(owner_.view_mu);
            auto seen = owner_.holders_seen.find(partition_);
            if (seen != owner_.holders_seen.end() && seen->second.value != owner_.cfg.instance && owner_.alive(seen->second, now))
                lost_.store(true);
        }
    }
    if (!lease_.valid(steady::now())) lost_.store(true);
    return !lost_.load() && !stopping_.load();
}

bool partition_consumer::wait_applied(std::uint64_t seq) {
    // Bounded by the lease: once it cannot be renewed, the batch stays unacknowledged for the
    // next owner rather than being acknowledged by a member that no longer owns it.
    while (owner_.intake.applied() < seq) {
        if (!keep_going() && lost_.load()) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

bool partition_consumer::rebuild() {
    // The twins are rebuilt by applying again what the previous holders applied (results muted:
    // they published them). A fenced previous holder may still append a reading it applied after
    // the journal's end was read; it did not acknowledge it, so it comes live again.
    std::uint64_t last_seq = 0;
    const auto read = read_journal(
        owner_.partition_js, owner_.cfg.stream, partition_filter(partition_), 1000, &counters_.gaps, [this] { return keep_going(); },
        [this, &last_seq](std::string_view subject, journal_record&& e) {
            auto seq = owner_.intake.deliver(asset_of_subject(subject), std::move(e.topic), std::move(e.payload), true);
            counters_.rebuilt.fetch_add(1, std::memory_order_relaxed);
            if (!seq) return false;
            last_seq = std::max(last_seq, *seq);
            return true;
        });
    if (!read) {
        // Slow or failing over: start over (what was applied already is dropped as a duplicate).
        spdlog::warn("cluster: partition {}: rebuild: {}", partition_, read.detail());
        return false;
    }
    return *read && wait_applied(last_seq) && keep_going();
}

bool partition_consumer::bind(natsSubscription** sub) {
    auto at = ensure_ingest_consumer(owner_.partition_js, partition_);
    if (!at) {
        spdlog::warn("cluster: partition {}: {}", partition_, at.detail());
        return false;
    }
    if (at->delivered > at->ack_floor && !catch_up(at->ack_floor, at->delivered)) return false;
    applied_through_ = std::max(applied_through_, at->delivered);
    next_consumer_seq_ = at->delivered_consumer + 1;
    const auto name = ingest_consumer(partition_);
    const auto filter = ingest_filter(partition_);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = mqtt_stream;
    so.Consumer = name.c_str();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (const natsStatus s = js_PullSubscribe(sub, owner_.partition_js, filter.c_str(), name.c_str(), nullptr, &so, &jerr); s != NATS_OK) {
        spdlog::warn("cluster: partition {}: binding its consumer: {}", partition_, nats_text(s));
        return false;
    }
    return true;
}

bool partition_consumer::catch_up(std::uint64_t from, std::uint64_t to) {
    const auto filter = ingest_filter(partition_);
    const auto api = prefixed("$JS.API.STREAM.MSG.GET.", mqtt_stream);
    struct taken_message {
        std::string asset, data;
        std::uint64_t seq;
    };
    std::vector<taken_message> taken;
    std::uint64_t wait_for = 0;
    for (std::uint64_t next = from + 1; next <= to && keep_going();) {
        const std::string request = nlohmann::json{{"seq", next}, {"next_by_subj", filter}}.dump();
        natsMsg* reply = nullptr;
        if (natsConnection_Request(&reply, owner_.nc, api.c_str(), request.data(), static_cast<int>(request.size()), 2000) != NATS_OK)
            return false;
        const auto answer = nlohmann::json::parse(std::string(natsMsg_GetData(reply), static_cast<std::size_t>(natsMsg_GetDataLength(reply))),
                                                  nullptr, false);
        natsMsg_Destroy(reply);
        if (!answer.is_object()) return false;
        if (answer.contains("error")) {
            if (answer["error"].value("err_code", 0) == JSNoMessageFoundErr) break;  // none left
            return false;
        }
        const auto& m = answer["message"];
        const auto seq = m.value("seq", std::uint64_t{0});
        if (seq == 0 || seq > to) break;
        auto data = base64_decode(m.value("data", std::string()));
        if (!data) return false;
        const auto asset = asset_of_subject(m.value("subject", std::string()));
        auto applied = owner_.intake.deliver(asset, std::string(), *data, false);
        if (!applied) return false;
        wait_for = std::max(wait_for, *applied);
        taken.push_back({asset, std::move(*data), seq});
        counters_.caught_up.fetch_add(1, std::memory_order_relaxed);
        next = seq + 1;
    }
    if (!wait_applied(wait_for)) return false;
    for (const auto& t : taken) {
        if (!append(t.asset, t.data.data(), static_cast<int>(t.data.size()), prefixed("mqtt-", std::to_string(t.seq)))) return false;
        counters_.journaled.fetch_add(1, std::memory_order_relaxed);
    }
    return keep_going();
}

bool partition_consumer::append(const std::string& asset, const char* data, int size, const std::string& msg_id, const std::string& topic) {
    const auto to = journal_subject(partition_, asset);
    natsMsg* msg = nullptr;
    if (natsMsg_Create(&msg, to.c_str(), nullptr, data, size) != NATS_OK) return false;
    natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str());
    if (!topic.empty()) natsMsgHeader_Set(msg, topic_header, topic.c_str());
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 2000;
    bool stored = false;
    while (!stored && keep_going()) {
        jsPubAck* ack = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        stored = js_PublishMsg(&ack, owner_.partition_js, msg, &po, &jerr) == NATS_OK;
        if (ack) jsPubAck_Destroy(ack);
        if (!stored) {
            counters_.journal_retries.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    natsMsg_Destroy(msg);
    return stored;
}

void partition_consumer::run_commands() {
    auto waiting = owner_.inboxes[partition_]->take();
    for (auto& c : waiting) {
        // Unique across members and restarts: instance, partition, wall clock, a counter.
        const auto n = owner_.commands_journaled.fetch_add(1, std::memory_order_relaxed);
        std::string id = prefixed("cmd-", owner_.cfg.instance);
        for (const auto part : {std::uint64_t(partition_), std::uint64_t(std::chrono::system_clock::now().time_since_epoch().count()), n}) {
            id += '-';
            id += std::to_string(part);
        }
        c.apply(append(c.asset, c.payload.data(), static_cast<int>(c.payload.size()), id, c.topic));
    }
}

void partition_consumer::consume(natsSubscription* sub) {
    jsErrCode jerr = static_cast<jsErrCode>(0);
    counters_.live.store(true);
    auto quiet_since = steady::now();
    steady::time_point failing_since{};  // while fetches fail (not an optional: GCC 12 warns falsely)
    bool failing = false;
    // A fetch waits at most a heartbeat, so the lease is renewed (or found lost) in time.
    const auto fetch_wait_ms = static_cast<std::int64_t>(owner_.cfg.heartbeat.count());
    while (keep_going()) {
        // Between batches: the batch before has been applied and journaled, so a command's place
        // in the journal is its place in what the twins applied.
        run_commands();
        natsMsgList list{nullptr, 0};
        const natsStatus s = natsSubscription_Fetch(&list, sub, 256, fetch_wait_ms, &jerr);
        if (s == NATS_TIMEOUT) {
            // Nothing for a while: make sure that is because there is nothing. Measured: after the
            // consumer's leader moved (its NATS node was killed), a pull subscription can go on
            // getting nothing while messages wait; a fresh consumer from our floor gets them.
            if (steady::now() - quiet_since > std::chrono::seconds(3)) {
                quiet_since = steady::now();
                bool stalled = false;
                if (jsConsumerInfo* ci = nullptr; natsSubscription_GetConsumerInfo(&ci, sub, nullptr, &jerr) == NATS_OK) {
                    // (Delivered but unacknowledged messages come back after the ack wait.)
                    stalled = ci->NumPending > 0;
                    counters_.lag.store(ci->NumPending, std::memory_order_relaxed);
                    jsConsumerInfo_Destroy(ci);
                }
                if (stalled) {
                    counters_.stalls.fetch_add(1, std::memory_order_relaxed);
                    spdlog::warn("cluster: partition {}: no delivery while messages wait; consuming again from the floor", partition_);
                    break;
                }
            }
            continue;
        }
        if (s != NATS_OK) {
            // A NATS node lost: the client reconnects; if fetching keeps failing, start over.
            if (!failing) failing_since = steady::now();
            failing = true;
            if (steady::now() - failing_since > std::chrono::seconds(3)) {
                counters_.stalls.fetch_add(1, std::memory_order_relaxed);
                spdlog::warn("cluster: partition {}: fetching fails ({}); consuming again from the floor", partition_, nats_text(s));
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        quiet_since = steady::now();
        failing = false;
        std::uint64_t wait_for = 0;
        bool closed = false, gap = false;
        std::vector<std::uint64_t> ingest_seqs;  // of the messages handed to the twins, in order
        for (int i = 0; i < list.Count; ++i) {
            natsMsg* m = list.Msgs[i];
            std::uint64_t ingest_seq = 0;
            if (jsMsgMetaData* meta = nullptr; natsMsg_GetMetaData(&meta, m) == NATS_OK) {
                counters_.lag.store(meta->NumPending, std::memory_order_relaxed);
                ingest_seq = meta->Sequence.Stream;
                if (meta->NumDelivered > 1) {
                    // Handed back after the ack wait: applied already (catch_up applied what was
                    // in hand at binding), so the twin drops it; anything else is out of order.
                    counters_.redelivered.fetch_add(1, std::memory_order_relaxed);
                    gap = ingest_seq > applied_through_;
                } else {
                    // Deliveries lost in flight (the NATS node we were connected to died) would
                    // come back only after the ack wait, behind newer readings: on a gap, bind
                    // again, which applies them first (catch_up). Measured.
                    gap = meta->Sequence.Consumer != next_consumer_seq_;
                    next_consumer_seq_ = meta->Sequence.Consumer + 1;
                }
                jsMsgMetaData_Destroy(meta);
            }
            if (gap || !ingest_seq) {
                gap = true;
                counters_.gaps.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            auto seq = owner_.intake.deliver(asset_of_subject(natsMsg_GetSubject(m)), std::string(),
                                             std::string(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))), false);
            if (!seq) {
                closed = true;
                break;
            }
            wait_for = std::max(wait_for, *seq);
            ingest_seqs.push_back(ingest_seq);
            applied_through_ = std::max(applied_through_, ingest_seq);
            counters_.delivered.fetch_add(1, std::memory_order_relaxed);
        }
        // Once the twins have applied the batch, into the journal (in order: a rebuild applies
        // it in that order), and only then acknowledged (AckAll: the last message covers it).
        // On shutdown or a lost lease the rest stays unacknowledged for the next holder.
        const int taken = static_cast<int>(ingest_seqs.size());
        bool journaled = !closed && taken > 0 && wait_applied(wait_for);
        for (int i = 0; journaled && i < taken; ++i) {
            natsMsg* m = list.Msgs[i];
            // The listener's sequence number identifies the reading: the journal drops a second
            // copy within its duplicate window (2 min), e.g. after an acknowledgement was lost.
            journaled = append(asset_of_subject(natsMsg_GetSubject(m)), natsMsg_GetData(m), natsMsg_GetDataLength(m),
                               prefixed("mqtt-", std::to_string(ingest_seqs[static_cast<std::size_t>(i)])));
            if (journaled) counters_.journaled.fetch_add(1, std::memory_order_relaxed);
        }
        if (journaled && !lost_.load() && lease_.valid(steady::now()) && natsMsg_Ack(list.Msgs[taken - 1], nullptr) == NATS_OK)
            counters_.acked.fetch_add(static_cast<std::uint64_t>(taken), std::memory_order_relaxed);
        natsMsgList_Destroy(&list);
        if (closed || gap || (taken > 0 && !journaled)) break;
    }
    counters_.live.store(false);
    // Destroy only: since nats.c 3.4 that leaves the durable (and its ack floor) for the next owner.
    natsSubscription_Destroy(sub);
}

void partition_consumer::run() {
    while (keep_going()) {
        // A few partitions set up at a time: the JetStream API answers each quickly instead of
        // timing out on all of them (measured: 20 at once on 2 cores timed out). The lease is
        // renewed while waiting for a slot.
        while (!owner_.setup_slots.try_acquire_for(std::chrono::milliseconds(50)))
            if (!keep_going()) break;
        if (!keep_going()) break;
        natsSubscription* sub = nullptr;
        // Set up again after a gap or stall: the twins already hold the journal.
        if (!rebuilt_) rebuilt_ = rebuild();
        // Live from here: what catch_up applies may never have been published (its previous
        // holder died with it in hand), so its RUL and alerts go out, if need be a second time.
        if (rebuilt_) counters_.live.store(true);
        const bool ready = rebuilt_ && bind(&sub);
        owner_.setup_slots.release();
        if (!ready) {
            counters_.live.store(false);
            if (sub) natsSubscription_Destroy(sub);
            if (keep_going()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        spdlog::info("cluster: partition {} live", partition_);
        consume(sub);
    }
    counters_.live.store(false);
    for (auto& c : owner_.inboxes[partition_]->take()) c.apply(false);  // not journaled: the caller is told
    // Handed over: delete the lease so the next owner need not wait for it to expire. Lost: it
    // may be another member's by now, so it is left alone.
    if (!lost_.load()) kvStore_Delete(owner_.lease_kv, lease_key(partition_).c_str());
    done_.store(true);
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
    for (unsigned i = 0; i < config.partitions; ++i) {
        p->counters.push_back(std::make_unique<partition_counters>());
        p->inboxes.push_back(std::make_unique<command_inbox>());
    }
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
    // Lease operations give up within a heartbeat or so: a renewal that takes longer is as good as
    // failed, and the next one is due.
    jo.Wait = std::clamp<std::int64_t>(2 * config.heartbeat.count(), 250, 2000);
    if (s = natsConnection_JetStream(&p->lease_js, p->nc, &jo); s != NATS_OK) return fail("JetStream", s);
    // A partition thread renews its lease between calls, at most a heartbeat before one starts,
    // and stops once TTL minus two heartbeats passed unrenewed; a call that waited the default
    // 5 s outlived the lease (6 s TTL, 0.5 s heartbeat): measured in CI, a journal read timing
    // out under load lost partitions one after another. So a call gives up a heartbeat earlier.
    jo.Wait = std::clamp<std::int64_t>(config.lease_ttl.count() - 4 * config.heartbeat.count(), 500, 5000);
    if (s = natsConnection_JetStream(&p->partition_js, p->nc, &jo); s != NATS_OK) return fail("JetStream", s);

    // The JetStream side may be electing leaders (a node just died): retry for a while.
    auto bootstrap = [&config](node::impl& n) -> Result<bool> {
        // The telemetry stream, the journal: each partition's readings on twin.j.K.ID, copied there
        // from the MQTT listener's stream by the partition's holder, replicated, kept telemetry_max_age.
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        const char* subjects[] = {"twin.j.*.*"};
        sc.Name = config.stream.c_str();
        sc.Subjects = subjects;
        sc.SubjectsLen = 1;
        sc.Storage = js_FileStorage;
        sc.Replicas = config.replicas;
        sc.MaxAge = static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(config.telemetry_max_age).count());
        jsErrCode jerr = static_cast<jsErrCode>(0);
        jsStreamInfo* si = nullptr;
        natsStatus s = js_AddStream(&si, n.js, &sc, nullptr, &jerr);
        if (si) jsStreamInfo_Destroy(si);
        si = nullptr;
        // Made by an older turbotwin (it captured the mapped subject twin.p.*.* directly): bring
        // its subjects up to date, keeping what it holds.
        if (s != NATS_OK && jerr == JSStreamNameExistErr) {
            s = js_UpdateStream(&si, n.js, &sc, nullptr, &jerr);
            if (si) jsStreamInfo_Destroy(si);
            if (s != NATS_OK) return {errc::unavailable, "NATS: updating stream " + config.stream + ": " + nats_text(s)};
        }
        if (s != NATS_OK && jerr != JSStreamNameExistErr) return {errc::unavailable, "NATS: creating stream " + config.stream + ": " + nats_text(s)};
        if (!n.kv) {
            kvConfig kc;
            kvConfig_Init(&kc);
            kc.Bucket = config.bucket.c_str();
            kc.History = 1;
            kc.TTL = config.lease_ttl.count() * ns_per_ms;  // nanoseconds (the server refuses under 100 ms)
            kc.Replicas = config.replicas;
            kc.StorageType = js_FileStorage;
            if (s = js_CreateKeyValue(&n.kv, n.js, &kc); s != NATS_OK) {
                const auto why = nats_text(s);
                n.kv = nullptr;
                // Another member created it first with the same settings: bind to it.
                if (js_KeyValue(&n.kv, n.js, config.bucket.c_str()) != NATS_OK) {
                    n.kv = nullptr;
                    return {errc::unavailable, "NATS: KV bucket " + config.bucket + ": " + why};
                }
            }
        }
        if (!n.lease_kv) {
            if (s = js_KeyValue(&n.lease_kv, n.lease_js, config.bucket.c_str()); s != NATS_OK) {
                n.lease_kv = nullptr;
                return {errc::unavailable, "NATS: KV bucket " + config.bucket + " (leases): " + nats_text(s)};
            }
        }
        // Every partition's ingest consumer, before any member holds the partition: the MQTT
        // listener's stream keeps a reading only while a consumer is interested in it, so without
        // one the readings engines publish before the first holder arrives would be dropped. (The
        // stream exists once any MQTT client connected: this member's own output link did.)
        for (unsigned p = 0; p < config.partitions; ++p) {
            auto made = ensure_ingest_consumer(n.js, p);
            if (made) continue;
            if (made.error() == errc::not_found) {  // no MQTT client has connected yet: holders create them
                spdlog::warn("cluster: {}: readings sent before partitions are held are lost", made.detail());
                break;
            }
            return {errc::unavailable, "NATS: partition " + std::to_string(p) + ": " + made.detail()};
        }
        if (s = kvStore_WatchAll(&n.watcher, n.kv, nullptr); s != NATS_OK) {
            n.watcher = nullptr;
            return {errc::unavailable, "NATS: watching " + config.bucket + ": " + nats_text(s)};
        }
        return true;
    };
    const auto give_up = steady::now() + std::chrono::seconds(60);
    for (;;) {
        auto ready = bootstrap(*p);
        if (ready) break;
        if (steady::now() > give_up) return {ready.error(), ready.detail()};
        spdlog::warn("cluster: {}; retrying", ready.detail());
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    auto* raw = p.get();
    raw->watch_thread = std::thread([raw] { raw->watch_loop(); });
    raw->coordinator_thread = std::thread([raw] { raw->coordinate(); });
    spdlog::info("cluster: member '{}' joined ({} partitions, lease {} ms, stream {}, bucket {})", config.instance, config.partitions,
                 config.lease_ttl.count(), config.stream, config.bucket);
    return std::unique_ptr<node>(new node(std::move(p)));
}

bool node::publishing(std::string_view asset) const {
    return impl_->counters[partition_of(asset, impl_->cfg.partitions)]->publishing();
}

bool node::owns(std::string_view asset) const {
    return impl_->counters[partition_of(asset, impl_->cfg.partitions)]->owned();
}

std::uint64_t node::peers_relinked() const { return impl_->peers_relinked.load(std::memory_order_relaxed); }

std::size_t node::live_partitions() const {
    std::size_t live = 0;
    for (unsigned p = 0; p < impl_->cfg.partitions; ++p) live += impl_->counters[p]->publishing() ? 1 : 0;
    return live;
}

std::optional<std::string> node::owner_url(std::string_view asset) const {
    const unsigned p = partition_of(asset, impl_->cfg.partitions);
    if (impl_->counters[p]->owned()) return std::nullopt;
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

bool node::command(std::string_view asset, std::string topic, std::string payload, std::function<void(bool)> apply) {
    const unsigned p = partition_of(asset, impl_->cfg.partitions);
    if (!impl_->counters[p]->publishing()) return false;
    auto& inbox = *impl_->inboxes[p];
    std::lock_guard lock(inbox.mu);
    inbox.waiting.push_back({std::string(asset), std::move(topic), std::move(payload), std::move(apply)});
    return true;
}

Result<std::vector<journal_record>> node::journal_of(std::string_view asset) const {
    std::vector<journal_record> out;
    const auto read = read_journal(impl_->js, impl_->cfg.stream, journal_subject(partition_of(asset, impl_->cfg.partitions), asset), 2000,
                                   nullptr, [] { return true; }, [&out](std::string_view, journal_record&& e) {
                                       out.push_back(std::move(e));
                                       return true;
                                   });
    if (!read) return {read.error(), "NATS: " + read.detail()};
    return out;
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
        if (c.owned()) {
            ++held;
            row["owner"] = cfg.instance;
            row["live"] = c.publishing();
            row["lag"] = c.lag.load();
            row["delivered"] = c.delivered.load();
            row["acked"] = c.acked.load();
            row["redelivered"] = c.redelivered.load();
            row["rebuilt"] = c.rebuilt.load();
            row["gaps"] = c.gaps.load();
            row["stalls"] = c.stalls.load();
            row["journaled"] = c.journaled.load();
            row["caught_up"] = c.caught_up.load();
            row["journal_retries"] = c.journal_retries.load();
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
                  [](const partition_counters& c) { return c.owned() ? 1u : 0u; });
    per_partition("turbotwin_cluster_partition_lag_messages", "gauge", "messages of the partition not yet delivered here (last fetch)",
                  [](const partition_counters& c) { return c.lag.load(); });
    per_partition("turbotwin_cluster_partition_delivered_total", "counter", "readings consumed live from the partition (the MQTT listener's stream)",
                  [](const partition_counters& c) { return c.delivered.load(); });
    per_partition("turbotwin_cluster_partition_acked_total", "counter", "messages acknowledged after the twins applied them and the journal stored them",
                  [](const partition_counters& c) { return c.acked.load(); });
    per_partition("turbotwin_cluster_partition_redelivered_total", "counter", "deliveries the stream had made before",
                  [](const partition_counters& c) { return c.redelivered.load(); });
    per_partition("turbotwin_cluster_partition_rebuilt_total", "counter", "messages re-applied from the partition's journal at takeover",
                  [](const partition_counters& c) { return c.rebuilt.load(); });
    per_partition("turbotwin_cluster_partition_stalls_total", "counter",
                  "consumers set up again because deliveries stopped or fetches failed (a NATS node died)",
                  [](const partition_counters& c) { return c.stalls.load(); });
    per_partition("turbotwin_cluster_partition_gaps_total", "counter",
                  "deliveries lost in flight (a NATS node died), each answered by consuming again from the acknowledged floor",
                  [](const partition_counters& c) { return c.gaps.load(); });
    per_partition("turbotwin_cluster_partition_journaled_total", "counter",
                  "applied readings appended to the partition's journal (then acknowledged to the MQTT listener's stream)",
                  [](const partition_counters& c) { return c.journaled.load(); });
    per_partition("turbotwin_cluster_partition_caught_up_total", "counter",
                  "readings delivered but unacknowledged when the consumer was bound (a previous holder's, or lost in flight), applied first",
                  [](const partition_counters& c) { return c.caught_up.load(); });
    per_partition("turbotwin_cluster_partition_journal_retries_total", "counter",
                  "journal appends sent again because the journal did not acknowledge them in time",
                  [](const partition_counters& c) { return c.journal_retries.load(); });
    family("turbotwin_cluster_members", "gauge", "live cluster members this one sees, itself included");
    out += "turbotwin_cluster_members " + std::to_string(impl_->live_members().size()) + "\n";
    family("turbotwin_cluster_lease_acquisitions_total", "counter", "partition leases taken");
    out += "turbotwin_cluster_lease_acquisitions_total " + std::to_string(impl_->acquisitions.load()) + "\n";
    family("turbotwin_cluster_lease_releases_total", "counter", "partition leases handed over to their rendezvous owner");
    out += "turbotwin_cluster_lease_releases_total " + std::to_string(impl_->releases.load()) + "\n";
    family("turbotwin_cluster_leases_lost_total", "counter", "leases given up because they could not be renewed in time");
    out += "turbotwin_cluster_leases_lost_total " + std::to_string(impl_->leases_lost.load()) + "\n";
    family("turbotwin_cluster_peer_links_up_total", "counter",
           "other members' MQTT links seen come up (new, or reconnected), each answered by publishing this member's engines' latest RUL again");
    out += "turbotwin_cluster_peer_links_up_total " + std::to_string(impl_->peers_relinked.load()) + "\n";
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
std::size_t node::live_partitions() const { return 0; }
std::uint64_t node::peers_relinked() const { return 0; }
std::optional<std::string> node::owner_url(std::string_view) const { return std::nullopt; }
bool node::connected() const { return false; }
bool node::command(std::string_view, std::string, std::string, std::function<void(bool)>) { return false; }
Result<std::vector<journal_record>> node::journal_of(std::string_view) const {
    return {errc::unavailable, "built without the NATS client"};
}
nlohmann::json node::describe() const { return nlohmann::json::object(); }
std::string node::prometheus() const { return {}; }

}  // namespace turbotwin::cluster

#endif
