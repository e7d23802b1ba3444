#include "turbotwin/replay/loadgen.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/simulation/fleet.hpp"

namespace turbotwin::replay {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto tick = 1ms;  // the publisher sends what is due, then sleeps at least this long

constexpr int trajectory_pool = 64;  // distinct simulated lives the engines cycle through

std::string asset_name(const std::string& prefix, int index) {
    const std::string digits = std::to_string(index + 1);
    std::string id(prefix);
    id.append(digits.size() < 6 ? 6 - digits.size() : 0, '0').append(digits);
    return id;
}

// The engine index from ".../engines/<prefix>000123/...", or -1.
int asset_index_from_topic(std::string_view topic, std::string_view marker, int assets) {
    const auto at = topic.find(marker);
    if (at == std::string_view::npos) return -1;
    const char* first = topic.data() + at + marker.size();
    const char* last = topic.data() + topic.size();
    int number = 0;
    auto [end, ec] = std::from_chars(first, last, number);
    if (ec != std::errc() || end == first || number < 1 || number > assets) return -1;
    return number - 1;
}

// The integer after "key": in a flat JSON message, or nullopt. Both the RUL message and our
// own telemetry have "cycle" and "ts" as plain integers; a full parse would only slow the
// listener down at the rates it measures.
std::optional<std::int64_t> integer_field(std::string_view json, std::string_view quoted_key) {
    const auto at = json.find(quoted_key);
    if (at == std::string_view::npos) return std::nullopt;
    const char* first = json.data() + at + quoted_key.size();
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(first, json.data() + json.size(), v);
    if (ec != std::errc() || end == first) return std::nullopt;
    return v;
}

std::int64_t epoch_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double percentile(std::vector<float>& sorted, double p) {
    if (sorted.empty()) return 0;
    const std::size_t k = std::min(sorted.size() - 1, std::size_t(std::ceil(p * double(sorted.size()))) - (p > 0 ? 1 : 0));
    return sorted[k];
}

/// The engines, the two connections and what one trial saw. Engines keep their cycle count
/// between trials, so the twin sees one continuous life per engine.
class generator {
public:
    generator(const loadgen_options& options, const simulation::simulator_params& params)
        : options_(options), topic_marker_("/engines/" + options.asset_prefix) {
        simulation::fleet_options fo;
        fo.engines = std::min(options.assets, trajectory_pool);
        fo.seed = options.seed;
        fo.cut_short_fraction = 0;
        for (const auto& engine : simulation::simulate_fleet(params, fo)) {
            // Each reading as its payload after "cycle" and "ts": ',"settings":{...},"sensors":{...}}'.
            std::vector<std::string> bodies;
            for (auto r : engine.cycles) {
                r.ts_ms.reset();
                std::string text = codec::encode_telemetry(r);
                bodies.push_back(text.substr(text.find(',')));
            }
            trajectories_.push_back(std::move(bodies));
        }
        // Engines start at different ages (up to 60% of their life), as in a real fleet.
        std::mt19937_64 rng(options.seed);
        for (int i = 0; i < options.assets; ++i) {
            const auto& t = trajectories_[std::size_t(i) % trajectories_.size()];
            engine e;
            e.id = asset_name(options.asset_prefix, i);
            e.start_age = std::int64_t(rng() % std::uint64_t(std::max<std::size_t>(1, t.size() * 6 / 10)));
            e.topic = options.passthrough ? passthrough_topic(e.id) : codec::telemetry_topic(e.id);
            engines_.push_back(std::move(e));
        }
    }

    Result<bool> connect() {
        mqtt::client_options pub = options_.broker;
        pub.client_id.clear();
        pub.clean_session = true;
        pub.max_buffered = int(std::max<std::size_t>(100000, 2 * options_.max_in_flight));
        mqtt::client_options sub = pub;
        publisher_ = std::make_unique<mqtt::client>(pub);
        listener_ = std::make_unique<mqtt::client>(sub);
        listener_->on_message([this](mqtt::message&& m) { on_answer(m); });
        if (auto r = listener_->connect(5s); !r) return r;
        const std::string filter = options_.passthrough ? "loadgen/v1/engines/+/telemetry" : "turbotwin/v1/engines/+/rul";
        if (auto r = listener_->subscribe(filter, options_.qos); !r) return r;
        if (auto r = publisher_->connect(5s); !r) return r;
        return true;
    }

    Result<loadgen_report> trial(double rate) {
        if (!(rate > 0)) return {errc::invalid_argument, "rate must be positive"};
        const auto total = std::uint64_t(std::llround(rate * options_.duration_s));
        {
            std::lock_guard lock(mu_);
            sent_.clear();
            sent_.reserve(total);
            latencies_.clear();
            latencies_.reserve(total);
            received_ = duplicates_ = ts_mismatches_ = 0;
            for (auto& e : engines_) e.first_seq_of_trial = e.next_seq;
            last_answer_ = steady::time_point{};
        }
        loadgen_report report;
        report.mode = options_.passthrough ? "passthrough" : "twin";
        report.assets = options_.assets;
        report.qos = options_.qos;
        report.target_rate = rate;
        report.duration_s = options_.duration_s;

        std::deque<::mqtt::delivery_token_ptr> window;
        auto retire = [&](bool block) -> Result<bool> {
            while (!window.empty()) {
                auto done = mqtt::wait_for_ack(window.front(), block ? 50ms : 0ms);
                if (!done) return {done.error(), done.detail()};
                if (!*done) return false;
                window.pop_front();
            }
            return true;
        };
        const auto start = steady::now();
        const auto period = std::chrono::duration<double>(1.0 / rate);
        std::string payload;
        std::uint64_t attempted = 0;
        std::size_t next_engine = 0;
        steady::time_point last_send = start;
        while (attempted < total) {
            // Publish everything due by now (catching up after a slow moment), then sleep.
            const auto now = steady::now();
            const auto due = std::min<std::uint64_t>(total, std::uint64_t((now - start) / period) + 1);
            if (attempted >= due) {
                // Ticks of at least a millisecond: waking for every message would cost this
                // process (and the broker, and the twin) a context switch per message.
                const auto next_due = start + std::chrono::duration_cast<steady::duration>(period * double(attempted));
                std::this_thread::sleep_until(std::max(next_due, now + tick));
                continue;
            }
            while (attempted < due) {
                if (options_.qos > 0) {
                    if (auto r = retire(false); !r) return {r.error(), r.detail()};
                    while (window.size() >= options_.max_in_flight) {
                        auto r = retire(true);
                        if (!r) return {r.error(), r.detail()};
                        if (!*r && steady::now() - last_send > 10s) return {errc::io_error, "the broker stopped acknowledging publishes"};
                    }
                }
                engine& e = engines_[next_engine];
                next_engine = (next_engine + 1) % engines_.size();
                const auto& trajectory = trajectories_[std::size_t(&e - engines_.data()) % trajectories_.size()];
                const std::int64_t step = e.start_age + std::int64_t(e.next_seq);
                const std::int64_t cycle = step + 1;
                const std::int64_t ts = epoch_ms();
                payload.assign("{\"cycle\":").append(std::to_string(cycle)).append(",\"ts\":").append(std::to_string(ts));
                payload.append(trajectory[std::size_t(step) % trajectory.size()]);
                {
                    std::lock_guard lock(mu_);
                    sent_.push_back({int(&e - engines_.data()), cycle, ts, steady::now(), false});
                    e.sent_index.push_back(sent_.size() - 1);
                }
                ++e.next_seq;
                ++attempted;
                if (options_.qos > 0) {
                    auto token = publisher_->publish_tracked(e.topic, payload, options_.qos);
                    if (token) window.push_back(std::move(*token));
                    else ++report.publish_failures;
                } else if (!publisher_->publish(e.topic, payload, 0)) {
                    ++report.publish_failures;
                }
                last_send = steady::now();
            }
        }
        report.sent = attempted - report.publish_failures;
        report.send_seconds = std::chrono::duration<double>(last_send - start).count();
        report.achieved_rate = report.send_seconds > 0 ? double(report.sent) / report.send_seconds : 0;

        // Drain: wait for the answers still on their way, ending early once all arrived.
        const auto drain_deadline = last_send + options_.drain;
        for (;;) {
            {
                std::lock_guard lock(mu_);
                if (received_ >= report.sent) break;
            }
            if (steady::now() >= drain_deadline) break;
            std::this_thread::sleep_for(5ms);
        }
        (void)retire(false);
        std::lock_guard lock(mu_);
        report.received = received_;
        report.duplicates = duplicates_;
        report.ts_mismatches = ts_mismatches_;
        report.lost = report.sent > received_ ? report.sent - received_ : 0;
        report.drain_seconds = last_answer_ > last_send ? std::chrono::duration<double>(last_answer_ - last_send).count() : 0;
        std::sort(latencies_.begin(), latencies_.end());
        report.latency = {percentile(latencies_, 0.50), percentile(latencies_, 0.90), percentile(latencies_, 0.99),
                          latencies_.empty() ? 0.0 : double(latencies_.back())};
        report.sustained = report.lost == 0 && report.publish_failures == 0 && report.achieved_rate >= 0.95 * rate &&
                           report.drain_seconds <= 1.0;
        for (auto& e : engines_) e.sent_index.clear();
        return report;
    }

    void disconnect() {
        if (publisher_) publisher_->disconnect(2s);
        if (listener_) listener_->disconnect(1s);
    }

private:
    struct engine {
        std::string id;
        std::int64_t start_age = 0;          ///< trajectory step of this engine's first message
        std::string topic;
        std::uint64_t next_seq = 0;          ///< messages sent over all trials
        std::uint64_t first_seq_of_trial = 0;
        std::vector<std::size_t> sent_index; ///< this trial's messages in sent_, by seq - first_seq_of_trial
    };
    struct sent_message {
        int engine = 0;
        std::int64_t cycle = 0;
        std::int64_t ts = 0;
        steady::time_point at;
        bool answered = false;
    };

    // On the listener's Paho thread: match the answer to what was sent.
    void on_answer(const mqtt::message& m) {
        const auto now = steady::now();
        const int index = asset_index_from_topic(m.topic, topic_marker_, int(engines_.size()));
        const auto cycle = integer_field(m.payload, "\"cycle\":");
        if (index < 0 || !cycle) return;
        const auto ts = integer_field(m.payload, "\"ts\":");
        std::lock_guard lock(mu_);
        engine& e = engines_[std::size_t(index)];
        const std::int64_t first_cycle = e.start_age + std::int64_t(e.first_seq_of_trial) + 1;
        const std::int64_t k = *cycle - first_cycle;
        if (k < 0 || std::uint64_t(k) >= e.sent_index.size()) return;  // from an earlier trial
        sent_message& s = sent_[e.sent_index[std::size_t(k)]];
        if (s.answered) {
            ++duplicates_;
            return;
        }
        s.answered = true;
        ++received_;
        if (!ts || *ts != s.ts) ++ts_mismatches_;
        latencies_.push_back(float(std::chrono::duration<double, std::milli>(now - s.at).count()));
        last_answer_ = now;
    }

    loadgen_options options_;
    std::string topic_marker_;  ///< "/engines/<prefix>": where an answer's engine number starts
    std::vector<std::vector<std::string>> trajectories_;
    std::vector<engine> engines_;  ///< read by the listener under mu_ (ids and start ages never change)
    std::unique_ptr<mqtt::client> publisher_, listener_;
    std::mutex mu_;  ///< guards what the listener thread writes: below, and sent_index / answered
    std::vector<sent_message> sent_;
    std::vector<float> latencies_;
    std::uint64_t received_ = 0, duplicates_ = 0, ts_mismatches_ = 0;
    steady::time_point last_answer_;
};

Result<bool> check(const loadgen_options& o) {
    if (o.assets < 1 || o.assets > 999999) return {errc::invalid_argument, "assets must be 1..999999"};
    if (o.asset_prefix.empty() || o.asset_prefix.size() > 40 || !valid_asset_id(o.asset_prefix + "1"))
        return {errc::invalid_argument, "the asset prefix must be 1..40 of [A-Za-z0-9._-]"};
    if (!(o.duration_s > 0)) return {errc::invalid_argument, "duration must be positive"};
    if (o.qos < 0 || o.qos > 1) return {errc::invalid_argument, "qos must be 0 or 1"};
    if (o.max_in_flight < 1) return {errc::invalid_argument, "the in-flight window must be at least 1"};
    return true;
}

}  // namespace

std::string passthrough_topic(const std::string& asset) { return "loadgen/v1/engines/" + asset + "/telemetry"; }

Result<loadgen_report> run_loadgen(const loadgen_options& options, const simulation::simulator_params& params) {
    if (auto ok = check(options); !ok) return {ok.error(), ok.detail()};
    generator g(options, params);
    if (auto c = g.connect(); !c) return {c.error(), c.detail()};
    auto report = g.trial(options.rate);
    g.disconnect();
    return report;
}

Result<max_rate_report> find_max_rate(loadgen_options options, const simulation::simulator_params& params, double start_rate,
                                      double ceiling, int refine_steps, const std::function<void(const loadgen_report&)>& on_trial) {
    if (auto ok = check(options); !ok) return {ok.error(), ok.detail()};
    generator g(options, params);
    if (auto c = g.connect(); !c) return {c.error(), c.detail()};
    max_rate_report out;
    auto run = [&](double rate) -> Result<bool> {
        auto r = g.trial(rate);
        if (!r) return {r.error(), r.detail()};
        if (on_trial) on_trial(*r);
        out.trials.push_back(*r);
        if (r->sustained) out.max_sustained_rate = std::max(out.max_sustained_rate, rate);
        // Let a twin work off what a failed trial left queued before the next one starts.
        if (!r->sustained) std::this_thread::sleep_for(2s);
        return r->sustained;
    };
    double good = 0, bad = 0;
    for (double rate = start_rate; rate <= ceiling; rate *= 2) {
        auto held = run(rate);
        if (!held) return {held.error(), held.detail()};
        if (!*held) {
            bad = rate;
            break;
        }
        good = rate;
    }
    for (int i = 0; i < refine_steps && bad > 0; ++i) {
        const double mid = std::round((good + bad) / 2);
        auto held = run(mid);
        if (!held) return {held.error(), held.detail()};
        (*held ? good : bad) = mid;
    }
    g.disconnect();
    return out;
}

}  // namespace turbotwin::replay
