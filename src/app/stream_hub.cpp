#include "turbotwin/app/stream_hub.hpp"

#include <algorithm>

#include "turbotwin/app/json_out.hpp"

namespace turbotwin::app {

namespace {

std::string sse_frame(std::string_view event, std::string_view data) {
    std::string frame;
    frame.reserve(event.size() + data.size() + 16);
    frame += "event: ";
    frame += event;
    frame += "\ndata: ";
    frame += data;  // one line: JSON as dumped has no raw newline
    frame += "\n\n";
    return frame;
}

}  // namespace

stream_hub::~stream_hub() { close_all(); }

http::response stream_hub::open(std::optional<std::string> asset) {
    auto stream = std::make_shared<http::event_stream>();
    std::lock_guard lock(mu_);
    prune_locked();
    clients_.push_back({stream, std::move(asset)});
    listening_.store(clients_.size(), std::memory_order_relaxed);
    return http::event_stream_response(std::move(stream));
}

template <class MakeFrame>
void stream_hub::publish(const std::string& asset, MakeFrame&& make_frame) {
    if (listening_.load(std::memory_order_relaxed) == 0) return;  // the common case: nobody watches
    std::lock_guard lock(mu_);
    std::optional<std::string> frame;
    bool ended = false;
    for (auto& c : clients_) {
        if (c.asset && *c.asset != asset) continue;
        if (!frame) frame = make_frame();
        // push() only queues (never waits for the client), so holding the lock here is short.
        if (!c.stream->push(*frame)) ended = true;
    }
    if (ended) prune_locked();
}

void stream_hub::publish_rul(const std::string& asset, const twin::twin_update& u) {
    publish(asset, [&] { return sse_frame("rul", rul_message(asset, u, u.origin ? u.origin : origin_)); });
}

void stream_hub::publish_alert(const alerting::alert& a) {
    publish(a.asset, [&] {
        return sse_frame("alert", alert_json(a).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    });
}

void stream_hub::prune_locked() const {
    std::erase_if(clients_, [this](const client& c) {
        const auto end = c.stream->ended();
        if (end == http::stream_end::too_slow) ++dropped_slow_;
        return end != http::stream_end::none;
    });
    listening_.store(clients_.size(), std::memory_order_relaxed);
}

std::size_t stream_hub::clients() const {
    std::lock_guard lock(mu_);
    prune_locked();
    return clients_.size();
}

std::uint64_t stream_hub::dropped_slow() const {
    std::lock_guard lock(mu_);
    prune_locked();
    return dropped_slow_;
}

std::string stream_hub::prometheus() const {
    std::lock_guard lock(mu_);
    prune_locked();
    std::string out;
    out += "# HELP turbotwin_stream_clients Open event streams (GET /api/v1/stream).\n";
    out += "# TYPE turbotwin_stream_clients gauge\n";
    out += "turbotwin_stream_clients " + std::to_string(clients_.size()) + "\n";
    out += "# HELP turbotwin_stream_dropped_total Event stream clients disconnected for falling too far behind.\n";
    out += "# TYPE turbotwin_stream_dropped_total counter\n";
    out += "turbotwin_stream_dropped_total " + std::to_string(dropped_slow_) + "\n";
    return out;
}

void stream_hub::close_all() {
    std::lock_guard lock(mu_);
    for (auto& c : clients_) c.stream->close();
    prune_locked();
}

void stream_tee::rul(const std::string& asset, const twin::twin_update& u) {
    next_.rul(asset, u);
    hub_.publish_rul(asset, u);
}

void stream_tee::alert(const alerting::alert& a) {
    next_.alert(a);
    hub_.publish_alert(a);
}

void stream_tee::rejected(const std::string& topic, const std::string& reason) { next_.rejected(topic, reason); }

}  // namespace turbotwin::app
