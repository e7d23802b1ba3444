// The transport half of the REST API. Structure follows Beast's advanced_server example at
// boost-1.74.0: a listener and one session per connection, each on its own strand, lifetimes
// held by shared_from_this, beast::tcp_stream deadlines, request_parser limits. Differences,
// and why:
//  - requests are served one at a time per connection (read, handle, write, read ...); the
//    example's pipelining queue buys nothing for a JSON API and would be one more bound to get
//    right. Pipelined requests still work: they wait in the read buffer.
//  - every failure the client can still hear about gets a real HTTP status with a JSON body,
//    followed by a lingering close, because curl and load balancers act on the status code.
//  - the server keeps a registry of live sessions so stop() can close them and join.
//  - the decisions of an exchange (limits, header checks, error answers, routing, framing)
//    live in exchange.cpp, shared with respond_to_raw, so the fuzzer runs the server's code.
//  - a handler may answer with an event_stream (Server-Sent Events). The session then writes
//    the header, and from there on it only writes what is pushed (the pusher posts a wake-up to
//    the strand, never waits), keeps one read outstanding to notice the client leaving, and
//    sends a keepalive comment when idle. See "Streaming answers" below.
#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "exchange.hpp"
#include "stream_link.hpp"
#include "turbotwin/http/server.hpp"

namespace turbotwin::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// After an error response we keep reading (and discarding) for this long, or this many
/// bytes, before closing: closing a socket with unread input makes the kernel send RST,
/// which can destroy our response before the client has read it.
constexpr std::chrono::milliseconds linger_timeout{1000};
constexpr std::size_t linger_max_bytes = 64 * 1024 * 1024;
constexpr std::size_t linger_chunk_bytes = 16 * 1024;
/// How long the listener waits after a failed accept (EMFILE, ENOBUFS) so it does not spin.
constexpr std::chrono::milliseconds accept_backoff{50};
/// How long ending an event stream may take to hand the client its last chunk (stop() waits).
constexpr std::chrono::milliseconds last_chunk_timeout{500};
/// An SSE comment line: clients ignore it, proxies see traffic.
constexpr std::string_view keepalive_comment = ": keepalive\n\n";

/// What the listener decided for a new connection.
enum class admission {
    serve,   ///< under the cap: a normal session
    reject,  ///< over the cap: answer 503 and close
    refuse,  ///< far over the cap, or stopping: close without a word
};

class session;

/// Everything one run of the server shares between the listener, its sessions and stop().
/// Sessions hold it by shared_ptr, so it outlives the last of them whatever the order of
/// destruction inside the io_context.
struct shared_state {
    shared_state(server_options o, handler h) : options(std::move(o)), on_request(std::move(h)) {}

    const server_options options;
    const handler on_request;

    /// Classifies a new connection against the cap and registers it for stop().
    admission admit(const std::shared_ptr<session>& s);
    /// Called from the session's destructor.
    void release(const session* s, admission kind);
    /// Marks the server as stopping and returns the sessions still alive.
    std::vector<std::shared_ptr<session>> begin_stop();
    /// Takes one of the max_streams slots; false at the cap or when stopping.
    bool acquire_stream();
    /// Gives a slot back.
    void release_stream();

private:
    std::mutex mutex_;
    bool stopping_ = false;      // guarded by mutex_
    std::size_t serving_ = 0;    // guarded by mutex_
    std::size_t rejecting_ = 0;  // guarded by mutex_
    std::size_t streams_ = 0;    // guarded by mutex_
    bool stream_cap_logged_ = false;  // guarded by mutex_: warned since the count was last below the cap
    std::unordered_map<const session*, std::weak_ptr<session>> sessions_;  // guarded by mutex_
};

/// One connection. All of its handlers run on its strand, so it needs no lock of its own.
class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket&& socket, std::shared_ptr<shared_state> state)
        : stream_(std::move(socket)),
          heartbeat_(stream_.get_executor()),
          state_(std::move(state)),
          peer_(describe_peer(stream_.socket())) {}

    ~session() {
        // No strand handler is left, so nothing can be posted to it any more: detach the stream.
        if (sse_) detail::stream_link::finish(*sse_, stream_end::client_gone);
        release_stream_slot();
        state_->release(this, kind_);
    }

    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// Set by shared_state::admit, under its lock, before the session starts.
    void set_kind(admission kind) { kind_ = kind; }

    /// Starts serving requests.
    void run() { net::dispatch(stream_.get_executor(), beast::bind_front_handler(&session::do_read, shared_from_this())); }

    /// Answers 503 without reading a request: the server is at its connection cap.
    void reject() {
        net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            self->send_error(json_error(503, "unavailable", "too many connections, retry later"));
        });
    }

    /// Closes the socket from any thread; pending operations complete with an error and the
    /// session unwinds. An event stream the client is keeping up with gets its last chunk first.
    void close_async() {
        net::post(stream_.get_executor(), [self = shared_from_this()] { self->on_stop(); });
    }

private:
    const server_options& options() const { return state_->options; }

    void do_read() {
        detail::arm_parser(parser_, options());
        // One deadline for the whole request (header, 100-continue, body): a client that
        // dribbles bytes cannot hold the connection longer than request_timeout.
        stream_.expires_after(options().request_timeout);
        bhttp::async_read_header(stream_, buffer_, *parser_,
                                 beast::bind_front_handler(&session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t header_bytes) {
        if (ec) return on_read_error(ec);
        if (auto refusal = detail::check_header(*parser_, header_bytes, options())) return send_error(std::move(*refusal));
        if (parser_->is_done()) return handle_request();
        if (detail::wants_continue(*parser_)) {
            // Without this, curl waits a second before sending the body.
            net::async_write(stream_, net::buffer(detail::interim_continue.data(), detail::interim_continue.size()),
                             beast::bind_front_handler(&session::on_continue, shared_from_this()));
            return;
        }
        do_read_body();
    }

    void on_continue(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return on_transport_error(ec, "write 100-continue");
        do_read_body();
    }

    void do_read_body() {
        bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&session::on_body, shared_from_this()));
    }

    void on_body(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return on_read_error(ec);
        handle_request();
    }

    void on_read_error(beast::error_code ec) {
        if (ec == bhttp::error::end_of_stream) {
            // The client closed between requests: the normal end of a keep-alive connection.
            beast::error_code ignored;
            stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
            stream_.close();
            return;
        }
        const auto unparsed = buffer_.data();
        if (auto answer = detail::answer_read_error(
                ec, std::string_view(static_cast<const char*>(unparsed.data()), unparsed.size()), options())) {
            spdlog::debug("http: bad request from {}: {}", peer(), ec.message());
            return send_error(std::move(*answer));
        }
        // Timeout (tcp_stream already closed the socket), reset, stop(), or the client hung up
        // mid-request: nobody is left to read an answer.
        on_transport_error(ec, "read");
    }

    void on_transport_error(beast::error_code ec, const char* what) {
        if (ec != net::error::operation_aborted) spdlog::debug("http: {} from {}: {}", what, peer(), ec.message());
        stream_.close();
    }

    /// Captured at accept: once a timeout has closed the socket, it can no longer tell us.
    static std::string describe_peer(const tcp::socket& socket) {
        beast::error_code ec;
        const auto ep = socket.remote_endpoint(ec);
        if (ec) return "?";
        return ep.address().to_string() + ":" + std::to_string(ep.port());
    }

    const std::string& peer() const { return peer_; }

    void handle_request() {
        auto routed = detail::route(*parser_, state_->on_request);
        if (routed.out.stream) return start_stream(std::move(routed));
        send(std::move(routed.out), routed.version, routed.keep_alive, routed.head);
    }

    /// Frames `out` into res_ and writes it; closes afterwards unless `keep_alive`.
    void send(response out, unsigned version, bool keep_alive, bool head) {
        detail::frame(res_, std::move(out), version, keep_alive, head);
        close_after_write_ = !keep_alive;
        stream_.expires_after(options().request_timeout);
        bhttp::async_write(stream_, res_, beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    /// Answers with a JSON error and closes the connection gracefully.
    void send_error(response error) { send(std::move(error), detail::error_version(parser_), false, false); }

    void on_write(beast::error_code ec, std::size_t /*bytes*/) {
        if (ec) return on_transport_error(ec, "write");
        if (close_after_write_) return linger_close();
        do_read();
    }

    /// Half-close, then discard input for a bounded time and amount before closing, so the
    /// kernel does not answer unread input with RST and destroy the response in flight.
    void linger_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        if (ec) {
            stream_.close();
            return;
        }
        // One deadline for the whole linger: the tcp_stream timer is absolute.
        stream_.expires_after(linger_timeout);
        drain_.resize(linger_chunk_bytes);
        drained_ = 0;
        do_drain();
    }

    void do_drain() {
        stream_.async_read_some(net::buffer(drain_), beast::bind_front_handler(&session::on_drain, shared_from_this()));
    }

    void on_drain(beast::error_code ec, std::size_t bytes) {
        drained_ += bytes;
        if (ec || drained_ >= linger_max_bytes) {
            stream_.close();
            return;
        }
        do_drain();
    }

    // ---- Streaming answers ----------------------------------------------------------------
    // Once the header is out, three things run on the strand: writes of whatever the stream has
    // queued (one at a time, each bounded by request_timeout), a read that only waits for the
    // client to leave (no deadline: idle is normal here), and the heartbeat timer. Every way out
    // goes through end_stream(), which detaches the event_stream (no more wake-ups) and frees
    // the slot; the socket closes after it.

    void start_stream(detail::routed_request routed) {
        auto stream = std::move(routed.out.stream);
        if (routed.out.status != 200) {
            detail::stream_link::finish(*stream, stream_end::refused);
            return send(std::move(routed.out), routed.version, routed.keep_alive, routed.head);
        }
        sse_header_.emplace();
        detail::frame_stream(*sse_header_, routed.out, routed.version);
        sse_serializer_.emplace(*sse_header_);
        stream_.expires_after(options().request_timeout);
        if (routed.head) {
            // The header GET would get, then nothing: a HEAD answer has no body to stream.
            detail::stream_link::finish(*stream, stream_end::refused);
            bhttp::async_write_header(stream_, *sse_serializer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
                if (ec) return self->on_transport_error(ec, "write");
                self->linger_close();
            });
            return;
        }
        if (!state_->acquire_stream()) {
            detail::stream_link::finish(*stream, stream_end::refused);
            auto busy = json_error(503, "unavailable", "too many event streams, retry later");
            busy.headers.emplace_back("Retry-After", "5");
            return send(std::move(busy), routed.version, routed.keep_alive, false);
        }
        holds_stream_slot_ = true;
        sse_ = std::move(stream);
        sse_chunked_ = detail::stream_is_chunked(routed.version);
        // From here a pusher may wake us at any time; chunks wait in the stream until the header
        // is out. The wake-up only posts, so push() never runs session code on its own thread.
        detail::stream_link::attach(*sse_, options().max_stream_backlog_bytes,
                                    [weak = weak_from_this(), ex = stream_.get_executor()] {
                                        net::post(ex, [weak] {
                                            if (auto self = weak.lock()) self->pump();
                                        });
                                    });
        sse_writing_ = true;
        bhttp::async_write_header(stream_, *sse_serializer_, beast::bind_front_handler(&session::on_stream_header, shared_from_this()));
    }

    void on_stream_header(beast::error_code ec, std::size_t /*bytes*/) {
        sse_writing_ = false;
        if (ec) {
            end_stream(stream_end::client_gone);
            return on_transport_error(ec, "write stream header");
        }
        if (sse_done_) return stream_.close();  // stop() came while the header was on its way
        spdlog::debug("http: event stream to {} open", peer());
        sse_started_ = true;
        stream_.expires_never();
        last_write_ = std::chrono::steady_clock::now();
        do_stream_read();
        arm_heartbeat();
        pump();
    }

    /// Runs on the strand after a push (or close) and after each write: sends what is queued, or
    /// ends the stream as it asks.
    void pump() {
        if (!sse_ || sse_done_) return;
        // Checked even mid-write: a stalled write is exactly when a client falls behind.
        if (sse_->ended() == stream_end::too_slow) return drop_slow_client();
        if (!sse_started_ || sse_writing_) return;
        std::string data;
        const stream_end end = detail::stream_link::take(*sse_, data);
        if (end == stream_end::too_slow) return drop_slow_client();
        if (!data.empty()) return write_stream(std::move(data));
        if (end != stream_end::none) {
            end_stream(end);
            write_last_chunk();
        }
    }

    void write_stream(std::string data) {
        sse_in_flight_ = data.size();
        if (sse_chunked_) {
            sse_wire_.clear();
            detail::append_chunk(sse_wire_, data);
        } else {
            sse_wire_ = std::move(data);
        }
        sse_writing_ = true;
        // The read is pending, so this deadline applies to the write only.
        stream_.expires_after(options().request_timeout);
        net::async_write(stream_, net::buffer(sse_wire_), beast::bind_front_handler(&session::on_stream_write, shared_from_this()));
    }

    void on_stream_write(beast::error_code ec, std::size_t /*bytes*/) {
        sse_writing_ = false;
        detail::stream_link::written(*sse_, sse_in_flight_);
        sse_in_flight_ = 0;
        if (ec) {
            end_stream(stream_end::client_gone);
            return on_transport_error(ec, "write stream");
        }
        // Ended meanwhile with the socket still good: stop() waited for this write to finish.
        if (sse_done_) return write_last_chunk();
        last_write_ = std::chrono::steady_clock::now();
        pump();
    }

    /// A client has nothing to say on a stream: whatever it sends is discarded; the read is
    /// there to notice it leaving.
    void do_stream_read() {
        stream_.async_read_some(net::buffer(sse_discard_), beast::bind_front_handler(&session::on_stream_read, shared_from_this()));
    }

    void on_stream_read(beast::error_code ec, std::size_t /*bytes*/) {
        if (!ec) return do_stream_read();
        if (!sse_done_) {
            end_stream(stream_end::client_gone);
            if (ec != net::error::eof) spdlog::debug("http: event stream client {}: {}", peer(), ec.message());
        }
        stream_.close();
    }

    void arm_heartbeat() {
        const auto every = options().stream_heartbeat;
        if (every <= std::chrono::milliseconds::zero()) return;
        const auto now = std::chrono::steady_clock::now();
        auto next = last_write_ + every;
        if (next <= now) {
            if (!sse_writing_) sse_->push(std::string(keepalive_comment));
            next = now + every;
        }
        heartbeat_.expires_at(next);
        heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec && !self->sse_done_) self->arm_heartbeat();
        });
    }

    void drop_slow_client() {
        end_stream(stream_end::too_slow);
        spdlog::info("http: event stream client {} fell more than {} bytes behind; disconnected", peer(),
                     options().max_stream_backlog_bytes);
        stream_.close();
    }

    /// Ends the stream's life on this connection (idempotent): no more wake-ups, heartbeat
    /// off, slot free. The caller closes the socket.
    void end_stream(stream_end reason) {
        if (!sse_ || sse_done_) return;
        sse_done_ = true;
        detail::stream_link::finish(*sse_, reason);
        heartbeat_.cancel();
        release_stream_slot();
        spdlog::debug("http: event stream to {} ended: {}", peer(), detail::to_string(sse_->ended()));
    }

    /// Ends a chunked body properly (HTTP/1.0: the close is the end), then closes.
    void write_last_chunk() {
        if (!sse_chunked_ || sse_writing_) return close_after_stream();
        sse_writing_ = true;
        stream_.expires_after(last_chunk_timeout);
        net::async_write(stream_, net::buffer(detail::last_chunk.data(), detail::last_chunk.size()),
                         [self = shared_from_this()](beast::error_code, std::size_t) {
                             self->sse_writing_ = false;
                             self->close_after_stream();
                         });
    }

    void close_after_stream() {
        heartbeat_.cancel();  // stop()'s deadline, if set
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.close();
    }

    /// stop(): an event stream gets its last chunk, after the write in flight if there is one,
    /// as long as the client takes it within last_chunk_timeout; then the socket closes.
    void on_stop() {
        if (sse_ && !sse_done_) {
            end_stream(stream_end::server_stopped);
            if (sse_started_ && !sse_writing_) return write_last_chunk();
            if (sse_started_) {
                // on_stream_write sends the last chunk when the write completes; a client that
                // does not take it in time is cut off (the timer is free: end_stream stopped it).
                heartbeat_.expires_after(last_chunk_timeout);
                heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
                    if (!ec) self->stream_.close();
                });
                return;
            }
        }
        stream_.close();
    }

    void release_stream_slot() {
        if (!holds_stream_slot_) return;
        holds_stream_slot_ = false;
        state_->release_stream();
    }

    beast::tcp_stream stream_;
    net::steady_timer heartbeat_;  ///< the event stream's keepalive (declared after stream_: uses its executor)
    beast::flat_buffer buffer_;  ///< bounded by the parser's header limit plus one read
    std::shared_ptr<shared_state> state_;
    std::string peer_;  ///< "address:port", for logs
    admission kind_ = admission::refuse;
    std::optional<detail::request_parser> parser_;
    detail::wire_response res_;  ///< kept alive here for the async write
    bool close_after_write_ = false;
    std::vector<char> drain_;  ///< allocated only when lingering
    std::size_t drained_ = 0;  ///< bytes discarded while lingering

    // Event stream state; all of it touched on the strand only.
    std::shared_ptr<event_stream> sse_;          ///< the stream this connection serves, if any
    std::optional<detail::stream_header> sse_header_;
    std::optional<bhttp::response_serializer<bhttp::empty_body>> sse_serializer_;  ///< writes sse_header_
    bool sse_chunked_ = false;        ///< HTTP/1.1 chunks (else HTTP/1.0, ended by the close)
    bool sse_started_ = false;        ///< header written
    bool sse_writing_ = false;        ///< a write (header, chunk, last chunk) is in flight
    bool sse_done_ = false;           ///< end_stream() has run
    bool holds_stream_slot_ = false;  ///< counted in shared_state's streams
    std::string sse_wire_;            ///< the chunk being written
    std::size_t sse_in_flight_ = 0;   ///< payload bytes in sse_wire_
    std::array<char, 512> sse_discard_{};
    std::chrono::steady_clock::time_point last_write_{};
};

admission shared_state::admit(const std::shared_ptr<session>& s) {
    std::lock_guard lock(mutex_);
    admission kind = admission::refuse;
    if (stopping_) {
        kind = admission::refuse;
    } else if (serving_ < options.max_connections) {
        kind = admission::serve;
        ++serving_;
    } else if (rejecting_ < std::max<std::size_t>(options.max_connections, 1)) {
        // Answering 503 costs a socket for up to linger_timeout; cap that too, or a flood
        // would turn the rejections themselves into the resource leak.
        kind = admission::reject;
        ++rejecting_;
    }
    s->set_kind(kind);
    if (kind != admission::refuse) sessions_.emplace(s.get(), s);
    return kind;
}

void shared_state::release(const session* s, admission kind) {
    std::lock_guard lock(mutex_);
    if (kind == admission::serve) --serving_;
    if (kind == admission::reject) --rejecting_;
    if (kind != admission::refuse) sessions_.erase(s);
}

bool shared_state::acquire_stream() {
    std::lock_guard lock(mutex_);
    if (stopping_) return false;
    if (streams_ >= options.max_streams) {
        if (!stream_cap_logged_) spdlog::warn("http: event stream cap of {} reached, answering 503", options.max_streams);
        stream_cap_logged_ = true;
        return false;
    }
    ++streams_;
    return true;
}

void shared_state::release_stream() {
    std::lock_guard lock(mutex_);
    --streams_;
    stream_cap_logged_ = false;
}

std::vector<std::shared_ptr<session>> shared_state::begin_stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    std::vector<std::shared_ptr<session>> alive;
    alive.reserve(sessions_.size());
    for (const auto& [key, weak] : sessions_) {
        if (auto s = weak.lock()) alive.push_back(std::move(s));
    }
    return alive;
}

/// Accepts connections and hands each to a session on a new strand.
class listener : public std::enable_shared_from_this<listener> {
public:
    listener(net::io_context& ioc, std::shared_ptr<shared_state> state)
        : ioc_(ioc), acceptor_(net::make_strand(ioc)), backoff_(acceptor_.get_executor()), state_(std::move(state)) {}

    /// Opens, binds and listens; returns the step that failed, if any.
    beast::error_code open(const tcp::endpoint& endpoint) {
        beast::error_code ec;
        acceptor_.open(endpoint.protocol(), ec);
        if (ec) return ec;
        // Lets a restarted server bind while old connections sit in TIME_WAIT.
        acceptor_.set_option(net::socket_base::reuse_address(true), ec);
        if (ec) return ec;
        acceptor_.bind(endpoint, ec);
        if (ec) return ec;
        acceptor_.listen(net::socket_base::max_listen_connections, ec);
        return ec;
    }

    unsigned short local_port() const {
        beast::error_code ec;
        const auto ep = acceptor_.local_endpoint(ec);
        return ec ? 0 : ep.port();
    }

    void run() { net::dispatch(acceptor_.get_executor(), beast::bind_front_handler(&listener::do_accept, shared_from_this())); }

    void close_async() {
        net::post(acceptor_.get_executor(), [self = shared_from_this()] {
            beast::error_code ec;
            self->acceptor_.close(ec);
            self->backoff_.cancel();
        });
    }

private:
    void do_accept() {
        acceptor_.async_accept(net::make_strand(ioc_), beast::bind_front_handler(&listener::on_accept, shared_from_this()));
    }

    void on_accept(beast::error_code ec, tcp::socket socket) {
        if (!acceptor_.is_open()) return;  // stop()
        if (ec) {
            spdlog::warn("http: accept failed: {}", ec.message());
            // Out of descriptors fails every accept at once; back off instead of spinning.
            backoff_.expires_after(accept_backoff);
            backoff_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
                if (!wait_ec && self->acceptor_.is_open()) self->do_accept();
            });
            return;
        }
        auto s = std::make_shared<session>(std::move(socket), state_);
        switch (state_->admit(s)) {
            case admission::serve:
                at_cap_ = false;
                s->run();
                break;
            case admission::reject:
                // Once per episode: a flood must not turn into a flood of log lines too.
                if (!at_cap_) spdlog::warn("http: connection cap of {} reached, answering 503", state_->options.max_connections);
                at_cap_ = true;
                s->reject();
                break;
            case admission::refuse:
                break;  // the socket closes with the session
        }
        do_accept();
    }

    net::io_context& ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer backoff_;
    std::shared_ptr<shared_state> state_;
    bool at_cap_ = false;  ///< rejecting since the last admitted connection
};

std::string host_port(const std::string& host, unsigned short port) {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

class server::impl {
public:
    impl(server_options options, handler h) : options_(std::move(options)), handler_(std::move(h)) {}

    Result<unsigned short> start() {
        std::lock_guard lock(control_);
        if (ioc_) return {errc::invalid_argument, "server already started"};
        const unsigned threads = std::max(1u, options_.threads);
        auto ioc = std::make_unique<net::io_context>(static_cast<int>(threads));
        const std::string where = "cannot listen on " + host_port(options_.host, options_.port);

        beast::error_code ec;
        tcp::endpoint endpoint;
        const auto address = net::ip::make_address(options_.host, ec);
        if (!ec) {
            endpoint = tcp::endpoint(address, options_.port);
        } else {
            tcp::resolver resolver(*ioc);
            const auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
            if (ec || results.empty()) {
                return {errc::io_error, where + ": cannot resolve host: " + (ec ? ec.message() : "no address")};
            }
            endpoint = results.begin()->endpoint();
        }

        auto state = std::make_shared<shared_state>(options_, handler_);
        auto l = std::make_shared<listener>(*ioc, state);
        if (const auto open_ec = l->open(endpoint)) return {errc::io_error, where + ": " + open_ec.message()};
        const unsigned short bound = l->local_port();

        // The first accept must be queued before the threads start, or run() could find no
        // work and return at once.
        l->run();
        ioc_ = std::move(ioc);
        state_ = std::move(state);
        listener_ = std::move(l);
        threads_.reserve(threads);
        for (unsigned i = 0; i < threads; ++i) {
            threads_.emplace_back([ioc = ioc_.get()] {
                // Handlers catch their own exceptions; this keeps a stray one (say bad_alloc)
                // from taking the whole process down via std::terminate.
                for (;;) {
                    try {
                        ioc->run();
                        return;
                    } catch (const std::exception& e) {
                        spdlog::warn("http: exception escaped io_context: {}", e.what());
                    }
                }
            });
        }
        port_ = bound;
        spdlog::info("http: listening on {}", host_port(endpoint.address().to_string(), bound));
        return bound;
    }

    void stop() {
        std::lock_guard lock(control_);
        if (!ioc_) return;
        listener_->close_async();
        for (const auto& s : state_->begin_stop()) s->close_async();
        // No work guard: once the acceptor and every session are closed, run() returns.
        for (auto& t : threads_) t.join();
        threads_.clear();
        listener_.reset();
        state_.reset();
        ioc_.reset();
        port_ = 0;
        spdlog::debug("http: stopped");
    }

    unsigned short port() const { return port_; }

private:
    const server_options options_;
    const handler handler_;
    std::mutex control_;  ///< serialises start() and stop()
    std::unique_ptr<net::io_context> ioc_;
    std::shared_ptr<shared_state> state_;
    std::shared_ptr<listener> listener_;
    std::vector<std::thread> threads_;
    std::atomic<unsigned short> port_{0};
};

server::server(server_options options, handler h) : impl_(std::make_unique<impl>(std::move(options), std::move(h))) {}

server::~server() { stop(); }

Result<unsigned short> server::start() { return impl_->start(); }

void server::stop() { impl_->stop(); }

unsigned short server::port() const { return impl_->port(); }

}  // namespace turbotwin::http
