#pragma once
/// A streaming HTTP response body: one client's live feed of text chunks, for Server-Sent
/// Events. A handler creates an event_stream, keeps a shared_ptr to it wherever events come
/// from, and returns it in response::stream; the server then sends the status and headers and
/// writes every pushed chunk as it comes, until either side ends the stream.
///
/// The pusher is typically a fleet worker, so push() never waits for the network: it appends to
/// a queue and, if the connection is not already busy, posts a wake-up to the connection's
/// strand, which does the writing. The queue is bounded (server_options::max_stream_backlog_bytes):
/// a client that falls further behind is disconnected rather than allowed to grow memory or slow
/// the pusher. Boost stays out of this header, as in server.hpp.
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace turbotwin::http {

namespace detail {
struct stream_link;  // the server's side of an event_stream (src/http/stream_link.hpp)
}  // namespace detail

/// How far behind (bytes pushed and not yet written) a stream may fall before it is attached to
/// a connection; once attached, server_options::max_stream_backlog_bytes applies.
// 4 MiB: a replay at full speed sends a few thousand RUL frames (about 450 bytes each) in a burst,
// which a dashboard on a loaded machine reads a little later; 1 MiB dropped such clients.
inline constexpr std::size_t default_stream_backlog_bytes = 4 * 1024 * 1024;

/// Why an event stream ended.
enum class stream_end {
    none,            ///< still open (or waiting for its response header to go out)
    closed,          ///< close() was called: queued chunks were still sent, then the response ended
    client_gone,     ///< the client disconnected, or a write to it failed or timed out
    too_slow,        ///< the client fell more than the backlog limit behind and was disconnected
    refused,         ///< never started: stream cap reached, not a 200 answer, a HEAD request, or respond_to_raw
    server_stopped,  ///< server::stop()
};

/// One client's stream of chunks. Thread-safe: push() and close() may be called from any thread.
class event_stream {
public:
    event_stream() = default;
    event_stream(const event_stream&) = delete;
    event_stream& operator=(const event_stream&) = delete;

    /// Queues `chunk` for the client and returns at once. False once the stream has ended (the
    /// chunk is dropped); a chunk that would put the client more than the backlog limit behind
    /// ends it (too_slow) and returns false. Chunks reach the client in push order.
    bool push(std::string chunk);
    /// Ends the stream from the server side: chunks already queued are still sent, then the
    /// response ends (the last chunk of a chunked body). Idempotent.
    void close();
    /// False once the stream has ended for any reason.
    bool is_open() const;
    /// Why the stream ended, or stream_end::none while it is open.
    stream_end ended() const;
    /// Bytes pushed and not yet written to the client's socket.
    std::size_t backlog_bytes() const;

private:
    friend struct detail::stream_link;

    /// Calls wake_ (under mutex_) unless a wake-up is already on its way.
    void wake_locked(bool even_if_pending);

    mutable std::mutex mutex_;
    std::deque<std::string> queue_;                              // guarded by mutex_
    std::size_t backlog_bytes_ = 0;                              // guarded: queued + being written
    std::size_t max_backlog_bytes_ = default_stream_backlog_bytes;  // guarded by mutex_
    stream_end end_ = stream_end::none;                          // guarded by mutex_
    bool wake_pending_ = false;                                  // guarded by mutex_
    /// Set while a connection serves the stream: posts a wake-up to its strand. Cleared when the
    /// stream ends, before the server's io_context can go away.
    std::function<void()> wake_;  // guarded by mutex_
};

}  // namespace turbotwin::http
