#pragma once
// The connection's side of an event_stream: attach a wake-up, take what is queued, account for
// what was written, end it. Only the server (server.cpp, raw.cpp) uses this.
#include <cstddef>
#include <functional>
#include <string>

#include "turbotwin/http/event_stream.hpp"

namespace turbotwin::http::detail {

struct stream_link {
    /// Starts serving `s` on a connection: sets the backlog limit and the wake-up (which must
    /// post, never run the connection's code inline). Wakes at once if chunks are queued. Does
    /// nothing if the stream has already ended.
    static void attach(event_stream& s, std::size_t max_backlog_bytes, std::function<void()> wake);
    /// Moves every queued chunk, concatenated, to the end of `out` (they stay in the backlog
    /// until written()), clears the pending wake-up, and returns how the stream stands.
    static stream_end take(event_stream& s, std::string& out);
    /// `bytes` taken earlier have reached the socket.
    static void written(event_stream& s, std::size_t bytes);
    /// Ends the stream with `reason` unless it has ended already; drops what is queued and the
    /// wake-up, so that nothing is posted to the connection's executor afterwards.
    static void finish(event_stream& s, stream_end reason);
};

/// "too_slow", "client_gone", ...: for logs.
const char* to_string(stream_end e);

}  // namespace turbotwin::http::detail
