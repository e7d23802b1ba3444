#include "turbotwin/http/event_stream.hpp"

#include <algorithm>
#include <utility>

#include "stream_link.hpp"
#include "turbotwin/http/server.hpp"

namespace turbotwin::http {

bool event_stream::push(std::string chunk) {
    std::lock_guard lock(mutex_);
    if (end_ != stream_end::none) return false;
    if (chunk.empty()) return true;  // an empty chunk would end a chunked body
    if (chunk.size() > max_backlog_bytes_ || backlog_bytes_ > max_backlog_bytes_ - chunk.size()) {
        // The client is not keeping up: cut it off rather than buffer without bound or make the
        // pusher wait. The connection closes as soon as its strand sees this.
        end_ = stream_end::too_slow;
        queue_.clear();
        backlog_bytes_ = 0;
        wake_locked(true);
        return false;
    }
    backlog_bytes_ += chunk.size();
    queue_.push_back(std::move(chunk));
    wake_locked(false);
    return true;
}

void event_stream::close() {
    std::lock_guard lock(mutex_);
    if (end_ != stream_end::none) return;
    end_ = stream_end::closed;
    wake_locked(true);
}

bool event_stream::is_open() const {
    std::lock_guard lock(mutex_);
    return end_ == stream_end::none;
}

stream_end event_stream::ended() const {
    std::lock_guard lock(mutex_);
    return end_;
}

std::size_t event_stream::backlog_bytes() const {
    std::lock_guard lock(mutex_);
    return backlog_bytes_;
}

void event_stream::wake_locked(bool even_if_pending) {
    if (!wake_ || (wake_pending_ && !even_if_pending)) return;
    wake_pending_ = true;
    wake_();
}

response event_stream_response(std::shared_ptr<event_stream> stream) {
    response r;
    r.content_type = "text/event-stream";
    // nginx buffers proxied answers unless told otherwise, which would hold events back.
    r.headers.emplace_back("X-Accel-Buffering", "no");
    r.stream = std::move(stream);
    return r;
}

namespace detail {

void stream_link::attach(event_stream& s, std::size_t max_backlog_bytes, std::function<void()> wake) {
    std::lock_guard lock(s.mutex_);
    if (s.end_ != stream_end::none) return;
    s.max_backlog_bytes_ = max_backlog_bytes;
    s.wake_ = std::move(wake);
    s.wake_pending_ = false;
    if (!s.queue_.empty()) s.wake_locked(false);
}

stream_end stream_link::take(event_stream& s, std::string& out) {
    std::lock_guard lock(s.mutex_);
    s.wake_pending_ = false;
    for (auto& chunk : s.queue_) out += chunk;
    s.queue_.clear();
    return s.end_;
}

void stream_link::written(event_stream& s, std::size_t bytes) {
    std::lock_guard lock(s.mutex_);
    s.backlog_bytes_ -= std::min(bytes, s.backlog_bytes_);
}

void stream_link::finish(event_stream& s, stream_end reason) {
    std::function<void()> wake;  // destroyed outside the lock
    std::lock_guard lock(s.mutex_);
    if (s.end_ == stream_end::none) s.end_ = reason;
    s.queue_.clear();
    s.backlog_bytes_ = 0;
    wake.swap(s.wake_);
}

const char* to_string(stream_end e) {
    switch (e) {
        case stream_end::none: return "open";
        case stream_end::closed: return "closed";
        case stream_end::client_gone: return "client_gone";
        case stream_end::too_slow: return "too_slow";
        case stream_end::refused: return "refused";
        case stream_end::server_stopped: return "server_stopped";
    }
    return "?";
}

}  // namespace detail
}  // namespace turbotwin::http
