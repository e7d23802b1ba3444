#pragma once
/// A small, hardened HTTP/1.1 server on Boost.Beast + Asio (modelled on Beast's
/// advanced_server example at boost-1.74.0). The server owns the transport only: it parses,
/// bounds and validates requests, calls one `handler` that routes, and frames the answer.
/// It never touches the filesystem. Boost stays out of this header so that callers (the app,
/// tests) do not pay for Beast's compile time.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/http/event_stream.hpp"

namespace turbotwin::http {

/// One parsed, validated request as the handler sees it.
struct request {
    std::string method;  ///< "GET", "POST", ... (a HEAD request reaches the handler as "GET")
    std::string target;  ///< raw request target, e.g. "/api/v1/assets?limit=5"
    std::string path;    ///< percent-decoded path without query, e.g. "/api/v1/assets"
    std::vector<std::pair<std::string, std::string>> query;    ///< percent-decoded, in order
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased, in order
    std::string body;

    /// Value of the first query parameter called `name`, if any.
    std::optional<std::string> query_param(std::string_view name) const;
    /// Value of the first header called `lower_name` (give the name in lower case).
    std::optional<std::string> header(std::string_view lower_name) const;
};

/// What the handler answers. The server adds Content-Length, Server and, unless set here,
/// Cache-Control: no-store.
///
/// With `stream` set and status 200, the answer is a streaming one instead: the server sends the
/// status and headers without Content-Length (HTTP/1.1: Transfer-Encoding: chunked; HTTP/1.0:
/// the body ends when the connection closes), ignores `body`, and then writes each chunk pushed
/// to the stream until it ends; the connection closes afterwards. No request timeout applies
/// while streaming, but a write the client does not take within request_timeout drops it, and
/// an idle stream gets a comment line (": keepalive") every stream_heartbeat so that proxies keep
/// the connection. Past max_streams concurrent streams the client gets 503 instead. In every
/// case where the stream does not start (another status, HEAD, the cap) it ends as `refused`.
struct response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (ETag, Cache-Control...)
    std::shared_ptr<event_stream> stream;                      ///< set: a streaming answer (see above)
};

/// A 200 streaming answer of Server-Sent Events (Content-Type: text/event-stream) fed by `stream`.
response event_stream_response(std::shared_ptr<event_stream> stream);

/// {"error":{"code":"not_found","message":"..."}} with the given status.
response json_error(unsigned status, std::string_view code, std::string_view message);

/// Routes one request. Called on the connection's strand, possibly on several threads at
/// once for different connections, so it must be thread-safe. If it throws, the client gets
/// a 500 with no internal details.
using handler = std::function<response(const request&)>;

/// Limits and sizing of a server.
struct server_options {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;                        ///< 0 = pick a free port
    std::size_t max_header_bytes = 16 * 1024;          ///< request line + headers, bytes
    std::size_t max_body_bytes = 1024 * 1024;          ///< request body, bytes
    std::chrono::milliseconds request_timeout{10000};  ///< a slow (or idle keep-alive) client is dropped after this
    std::size_t max_connections = 512;                 ///< beyond this, new connections get 503
    unsigned threads = 2;                              ///< io_context threads (0 counts as 1)
    std::size_t max_streams = 64;                      ///< concurrent streaming answers; beyond this, 503
    std::size_t max_stream_backlog_bytes = default_stream_backlog_bytes;  ///< a stream client further behind is dropped
    std::chrono::milliseconds stream_heartbeat{15000};  ///< ": keepalive" on a stream idle this long
};

/// HTTP/1.1 server with keep-alive, size limits, timeouts, a connection cap and streaming answers.
class server {
public:
    server(server_options options, handler h);
    ~server();  ///< stops
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens, then runs its own io_context threads. Returns the bound port.
    /// Fails with errc::io_error ("cannot listen on 127.0.0.1:80: Permission denied") when
    /// the address cannot be bound, errc::invalid_argument if already running.
    Result<unsigned short> start();
    /// Closes the acceptor and every connection, then joins the threads. Idempotent. Waits
    /// for handler calls already running to return, so never call it from a handler. Open event
    /// streams end (server_stopped) with the last chunk where the client can still take it.
    void stop();
    /// The bound port while running, else 0.
    unsigned short port() const;

private:
    class impl;
    std::unique_ptr<impl> impl_;
};

/// Runs raw request bytes through the server's own exchange steps (Beast's parser with the
/// limits in `options`, the header checks, target validation, `h`, response framing) over an
/// in-memory connection instead of a socket, and returns the bytes the server would have
/// written: one response per complete request while the connection stays open, an interim
/// "100 Continue" where the server would send one, an error response where the server would
/// answer and close. A request cut short produces nothing, as on a socket (where the client
/// would meet the timeout instead). For the fuzzer and for tests; no threads, no sockets.
/// `max_read_bytes` bounds each read from the input (0: all remaining bytes at once), so
/// callers can exercise requests arriving in pieces. A streaming answer is sent as its headers
/// and an empty body (the last chunk, for HTTP/1.1), the stream ends as `refused`, and the
/// connection closes.
std::string respond_to_raw(std::string_view raw, const server_options& options, const handler& h,
                           std::size_t max_read_bytes = 0);

}  // namespace turbotwin::http
