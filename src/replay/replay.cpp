#include "turbotwin/replay/replay.hpp"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <ostream>
#include <queue>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <spdlog/spdlog.h>

#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/mqtt/client.hpp"

namespace turbotwin::replay {

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

double seconds_between(steady::time_point a, steady::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

bool stop_requested(const replay_options& o) { return o.stop && o.stop->load(std::memory_order_relaxed); }

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

using client_factory = std::function<Result<std::unique_ptr<mqtt::client>>()>;

// The publishing loop's state: a FIFO window of tracked publishes, retired from the front.
//
// A lost connection (or a publish Paho fails) is survived when the publisher may make its own
// connections (`reconnect`): the old client goes, with whatever Paho still buffered for it, and
// every row from the oldest unacknowledged one is published again, in order, on a new
// connection. Paho's own reconnect is not safe here: after a broker restart that lost the
// session (sessionPresent 0) Paho C drops the in-flight publishes (failing some tokens, never
// completing others) but still sends the ones buffered while disconnected, so rows would arrive
// out of order. A row the broker had taken but not acknowledged arrives twice; the twin rejects
// the duplicate cycle (processing is idempotent per asset and cycle).
class publisher {
public:
    publisher(const replay_plan& plan, const replay_options& options,
              const std::function<void(const replay_progress&)>& on_progress, mqtt::client& client,
              client_factory reconnect = {}, std::unique_ptr<mqtt::client> owned = {})
        : plan_(plan), opts_(options), on_progress_(on_progress), client_(&client), owned_(std::move(owned)),
          reconnect_(std::move(reconnect)) {}

    Result<replay_summary> run() {
        start_ = steady::now();
        next_progress_ = start_ + opts_.progress_interval;
        const bool paced = opts_.rows_per_second > 0;
        for (;;) {
            while (next_ < plan_.rows.size()) {
                if (stop_requested(opts_)) return finish(true);
                if (paced) {
                    // Paced by row, so that rows published again after a reconnect catch up at once.
                    const auto due = start_ + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(
                                                  static_cast<double>(next_) / opts_.rows_per_second));
                    if (!sleep_until(due)) return finish(true);
                }
                if (auto r = make_room(); !r) return failure(r.detail());
                else if (!*r) return finish(true);
                const auto& row = plan_.rows[next_];
                auto tok = client_->publish_tracked(codec::telemetry_topic(row.asset), codec::encode_telemetry(row.data), opts_.qos);
                if (!tok) {
                    if (auto rc = recover(tok.detail()); !rc) return failure(rc.detail());
                    else if (!*rc) return finish(true);
                    continue;
                }
                window_.push_back({std::move(*tok), steady::now(), next_});
                ++next_;
                ++sent_;
                // Cheap look at the oldest ones, so that progress and the window stay current.
                while (!window_.empty()) {
                    auto r = retire_front(false);
                    if (!r) {
                        if (auto rc = recover(r.detail()); !rc) return failure(rc.detail());
                        else if (!*rc) return finish(true);
                        break;
                    }
                    if (!*r) break;
                }
                maybe_progress();
            }
            // Everything sent: wait for the last acknowledgements (a reconnect sends rows again).
            while (!window_.empty() && next_ >= plan_.rows.size()) {
                if (stop_requested(opts_)) return finish(true);
                auto r = retire_front(true);
                if (!r) {
                    if (auto rc = recover(r.detail()); !rc) return failure(rc.detail());
                    else if (!*rc) return finish(true);
                }
            }
            if (next_ >= plan_.rows.size() && window_.empty()) return finish(false);
        }
    }

private:
    struct in_flight {
        ::mqtt::delivery_token_ptr token;
        steady::time_point sent_at;
        std::size_t row = 0;  ///< index in plan_.rows
    };

    // Waits until the window has room. True when it has (or a reconnect emptied it), false when
    // a stop was requested; an error when the connection is gone for good.
    Result<bool> make_room() {
        while (window_.size() >= opts_.max_in_flight) {
            auto r = retire_front(true);
            if (!r) return recover(r.detail());
            if (stop_requested(opts_)) return false;
        }
        return true;
    }

    // Retires the oldest publish if acknowledged. With `block`, waits for it (in slices, to
    // report progress and notice a stop request); false then means "stop requested".
    Result<bool> retire_front(bool block) {
        for (;;) {
            auto& front = window_.front();
            auto r = mqtt::wait_for_ack(front.token, block ? 50ms : 0ms);
            if (!r) return r;
            if (*r) {
                window_.pop_front();
                ++acked_;
                return true;
            }
            // A lost connection can leave tokens that never complete: do not wait for them.
            if (reconnect_ && !client_->connected()) return {errc::io_error, "connection to the broker lost"};
            if (steady::now() - front.sent_at > opts_.ack_timeout)
                return {errc::io_error, "no acknowledgement from the broker within " +
                                            fixed(std::chrono::duration<double>(opts_.ack_timeout).count(), 1) + " s" +
                                            (client_->connected() ? "" : " (connection lost)")};
            if (!block) return false;
            maybe_progress();
            if (stop_requested(opts_)) return false;
        }
    }

    // After `why` (a lost connection, a failed publish): a new connection, and every row from the
    // oldest unacknowledged one again. True when reconnected, false when a stop was requested
    // meanwhile; an error when it may not reconnect (a caller's client) or the broker stays away
    // for ack_timeout.
    Result<bool> recover(const std::string& why) {
        if (!reconnect_) return {errc::io_error, why};
        if (++recoveries_ > max_recoveries)
            return {errc::io_error, why + " (gave up after " + std::to_string(max_recoveries) + " reconnects)"};
        const std::size_t resend_from = window_.empty() ? next_ : window_.front().row;
        window_.clear();
        // The old connection goes first, with everything Paho still holds for it, so that none
        // of it can reach the broker after the rows sent again.
        client_ = nullptr;
        owned_.reset();
        spdlog::warn("replay: {}; reconnecting, then publishing again from row {}", why, resend_from + 1);
        const auto deadline = steady::now() + opts_.ack_timeout;
        auto delay = std::chrono::milliseconds(250);
        for (;;) {
            if (stop_requested(opts_)) return false;
            auto c = reconnect_();
            if (c) {
                owned_ = std::move(*c);
                client_ = owned_.get();
                break;
            }
            const auto now = steady::now();
            if (now >= deadline)
                return {errc::io_error, why + "; no new connection within " +
                                            fixed(std::chrono::duration<double>(opts_.ack_timeout).count(), 1) + " s: " + c.detail()};
            std::this_thread::sleep_for(std::min<steady::duration>(delay, deadline - now));
            delay = std::min(delay * 2, std::chrono::milliseconds(2000));
        }
        next_ = resend_from;
        // Give subscribers that lost their session with the broker time to subscribe again.
        const auto resume_at = steady::now() + opts_.resume_delay;
        if (!sleep_until(resume_at)) return false;
        return true;
    }

    static constexpr int max_recoveries = 100;

    // Sleeps until `t` in short slices; false when a stop was requested.
    bool sleep_until(steady::time_point t) {
        for (;;) {
            if (stop_requested(opts_)) return false;
            const auto now = steady::now();
            if (now >= t) return true;
            maybe_progress();
            std::this_thread::sleep_for(std::min<steady::duration>(t - now, 50ms));
            // Retire what is done meanwhile, so that a slow replay shows acks as it goes.
            while (!window_.empty()) {
                auto r = retire_front(false);
                if (!r || !*r) break;  // a failure shows again on the next blocking retire
            }
        }
    }

    void maybe_progress() {
        if (!on_progress_) return;
        const auto now = steady::now();
        if (now < next_progress_) return;
        next_progress_ = now + opts_.progress_interval;
        on_progress_(progress(now));
    }

    replay_progress progress(steady::time_point now) const {
        replay_progress p;
        p.total = plan_.rows.size();
        p.sent = sent_;
        p.acked = acked_;
        p.seconds = seconds_between(start_, now);
        p.rows_per_second = p.seconds > 0 ? static_cast<double>(acked_) / p.seconds : 0;
        return p;
    }

    Result<replay_summary> failure(const std::string& why) {
        return {errc::io_error, why + " (" + std::to_string(acked_) + " of " + std::to_string(plan_.rows.size()) +
                                    " rows acknowledged)"};
    }

    Result<replay_summary> finish(bool cancelled) {
        if (cancelled) {
            // Give what is in flight a moment, so that the summary counts it.
            const auto deadline = steady::now() + 2s;
            while (!window_.empty() && steady::now() < deadline) {
                auto r = mqtt::wait_for_ack(window_.front().token, 50ms);
                if (!r) break;
                if (*r) {
                    window_.pop_front();
                    ++acked_;
                }
            }
        }
        const auto p = progress(steady::now());
        replay_summary s;
        s.published = p.acked;
        s.sent = p.sent;
        s.engines = plan_.engines;
        s.seconds = p.seconds;
        s.rows_per_second = p.rows_per_second;
        s.cancelled = cancelled;
        return s;
    }

    const replay_plan& plan_;
    const replay_options& opts_;
    const std::function<void(const replay_progress&)>& on_progress_;
    mqtt::client* client_;                   ///< the connection in use (the caller's, or owned_)
    std::unique_ptr<mqtt::client> owned_;    ///< ours, when we may reconnect
    client_factory reconnect_;               ///< empty: a lost connection is an error
    std::deque<in_flight> window_;
    std::size_t next_ = 0;                   ///< next row to publish
    int recoveries_ = 0;
    std::size_t sent_ = 0;
    std::size_t acked_ = 0;
    steady::time_point start_;
    steady::time_point next_progress_;
};

}  // namespace

Result<replay_plan> load_replay_plan(const std::vector<std::string>& files, const std::string& prefix, bool interleave) {
    replay_plan plan;
    std::unordered_map<long, std::string> asset_of_unit;
    for (const auto& path : files) {
        auto file = dataset::read_cmapss(path);
        if (!file) return {file.error(), file.detail()};
        plan.rows.reserve(plan.rows.size() + file->rows.size());
        for (auto& row : file->rows) {
            auto [it, inserted] = asset_of_unit.try_emplace(row.unit);
            if (inserted) it->second = asset_id_for_unit(prefix, row.unit);
            plan.rows.push_back({it->second, row.data});
        }
        plan.issues.insert(plan.issues.end(), file->issues.begin(), file->issues.end());
    }
    plan.engines = asset_of_unit.size();
    if (interleave) interleave_by_cycle(plan.rows);
    return plan;
}

void interleave_by_cycle(std::vector<replay_row>& rows) {
    // Each engine's rows as a queue of input positions, engines in order of first appearance.
    std::unordered_map<std::string_view, std::size_t> slot;
    std::vector<std::vector<std::size_t>> engines;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto [it, inserted] = slot.try_emplace(rows[i].asset, engines.size());
        if (inserted) engines.emplace_back();
        engines[it->second].push_back(i);
    }
    // Min-heap on (cycle of the engine's next row, its input position): equal cycles keep
    // input order, and an engine only ever offers its next row, so its own order is kept.
    using head = std::tuple<std::int64_t, std::size_t, std::size_t>;  // cycle, position, engine
    std::priority_queue<head, std::vector<head>, std::greater<>> heap;
    std::vector<std::size_t> next(engines.size(), 0);
    for (std::size_t e = 0; e < engines.size(); ++e) heap.emplace(rows[engines[e][0]].data.cycle, engines[e][0], e);
    std::vector<replay_row> out;
    out.reserve(rows.size());
    while (!heap.empty()) {
        const auto [cycle, pos, e] = heap.top();
        heap.pop();
        out.push_back(std::move(rows[pos]));
        if (++next[e] < engines[e].size()) {
            const std::size_t p = engines[e][next[e]];
            heap.emplace(rows[p].data.cycle, p, e);
        }
    }
    rows = std::move(out);
}

Result<replay_summary> publish_plan(const replay_plan& plan, const replay_options& options,
                                    const std::function<void(const replay_progress&)>& on_progress) {
    if (options.qos < 0 || options.qos > 2) return {errc::invalid_argument, "QoS must be 0, 1 or 2"};
    if (options.max_in_flight < 1) return {errc::invalid_argument, "max_in_flight must be at least 1"};

    mqtt::client_options co;
    co.broker_url = options.broker_url;
    co.client_id = options.client_id;
    co.username = options.username;
    co.password = options.password;
    co.tls = options.tls;
    // Each connection is new (see publisher): no session state is wanted on either side.
    co.clean_session = true;
    // The window keeps Paho's queue far below this; it only has to be larger than the window.
    co.max_buffered = static_cast<int>(std::max<std::size_t>(100000, 2 * options.max_in_flight));
    client_factory connect = [co, timeout = options.connect_timeout]() -> Result<std::unique_ptr<mqtt::client>> {
        auto c = std::make_unique<mqtt::client>(co);
        if (auto r = c->connect(timeout); !r) return {errc::io_error, r.detail()};
        return c;
    };
    auto first = connect();
    if (!first) return {first.error(), first.detail()};
    mqtt::client& client = **first;
    publisher pub(plan, options, on_progress, client, connect, std::move(*first));
    auto summary = pub.run();
    if (summary) summary->bad_lines = plan.issues.size();
    return summary;
}

Result<replay_summary> publish_plan(const replay_plan& plan, const replay_options& options, mqtt::client& client,
                                    const std::function<void(const replay_progress&)>& on_progress) {
    if (options.qos < 0 || options.qos > 2) return {errc::invalid_argument, "QoS must be 0, 1 or 2"};
    if (options.max_in_flight < 1) return {errc::invalid_argument, "max_in_flight must be at least 1"};
    publisher pub(plan, options, on_progress, client);
    auto summary = pub.run();
    if (summary) summary->bad_lines = plan.issues.size();
    return summary;
}

int run_replay(const std::vector<std::string>& files, const std::string& prefix, bool interleave,
               const replay_options& options, bool quiet, std::ostream& err) {
    if (files.empty()) {
        err << "turbotwin replay: no input files\n";
        return exit_usage;
    }
    auto plan = load_replay_plan(files, prefix, interleave);
    if (!plan) {
        err << "turbotwin replay: " << plan.detail() << '\n';
        return exit_usage;
    }
    for (const auto& issue : plan->issues) err << issue.file << ':' << issue.line << ": " << issue.message << '\n';

    std::function<void(const replay_progress&)> progress;
    if (!quiet) {
        progress = [&err](const replay_progress& p) {
            err << "replay: " << p.sent << '/' << p.total << " rows sent, " << p.acked << " acked, "
                << fixed(p.rows_per_second, 0) << " rows/s\n";
            err.flush();
        };
    }
    auto summary = publish_plan(*plan, options, progress);
    if (!summary) {
        err << "turbotwin replay: " << summary.detail() << '\n';
        return exit_failed;
    }
    const auto& s = *summary;
    err << (s.cancelled ? "interrupted: published " : "published ") << s.published << " rows";
    if (s.cancelled) err << " of " << plan->rows.size();
    err << " from " << s.engines << (s.engines == 1 ? " engine" : " engines") << " (" << s.bad_lines
        << (s.bad_lines == 1 ? " bad line" : " bad lines") << " skipped) in " << fixed(s.seconds, 2) << " s: "
        << fixed(s.rows_per_second, 0) << " rows/s\n";
    return s.cancelled ? exit_interrupted : exit_ok;
}

}  // namespace turbotwin::replay
