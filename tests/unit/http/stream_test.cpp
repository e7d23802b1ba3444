// Streaming answers (event_stream, for Server-Sent Events) over real loopback sockets. The
// client is raw POSIX sockets with its own chunk decoder, so the tests see the bytes on the
// wire: the header, each chunk, the last chunk, the close.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "turbotwin/http/server.hpp"

namespace turbotwin::http {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// A loopback client that reads one answer: the header, then the body as it arrives (decoded
/// from chunks when the answer is chunked). Every wait has a deadline, so a server bug fails a
/// test instead of hanging it.
class stream_client {
public:
    /// `receive_buffer_bytes` > 0 shrinks the socket's receive buffer (a client that reads slowly
    /// fills it sooner).
    explicit stream_client(unsigned short port, int receive_buffer_bytes = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        if (receive_buffer_bytes > 0)
            ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect");
        }
    }
    ~stream_client() { close(); }
    stream_client(const stream_client&) = delete;
    stream_client& operator=(const stream_client&) = delete;

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

    bool send(std::string_view data) {
        while (!data.empty()) {
            const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads up to the end of the header. False if the server closed or went quiet first.
    bool read_header(std::chrono::milliseconds timeout = 3000ms) {
        const auto deadline = clock_type::now() + timeout;
        std::size_t end = std::string::npos;
        while ((end = raw_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(deadline)) return false;
        }
        const std::string head = raw_.substr(0, end);
        raw_.erase(0, end + 4);
        std::size_t line_end = head.find("\r\n");
        status_line = head.substr(0, line_end);
        if (status_line.size() < 12) return false;
        status = static_cast<unsigned>(std::stoul(status_line.substr(9, 3)));
        while (line_end != std::string::npos) {
            const std::size_t start = line_end + 2;
            line_end = head.find("\r\n", start);
            const std::string line = head.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
            const auto colon = line.find(':');
            if (colon == std::string::npos) continue;
            std::string name = line.substr(0, colon);
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            headers.emplace_back(std::move(name), std::move(value));
        }
        chunked_ = header("transfer-encoding") == "chunked";
        decode();
        return true;
    }

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers)
            if (k == name) return v;
        return std::nullopt;
    }

    /// Reads until the body holds `needle`; false at the deadline or if the server closed first.
    bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = 3000ms) {
        const auto deadline = clock_type::now() + timeout;
        while (body_.find(needle) == std::string::npos) {
            if (!fill(deadline)) return false;
        }
        return true;
    }

    /// Reads (and keeps) until the server closes; false if it is still open at the deadline.
    bool wait_closed(std::chrono::milliseconds timeout = 3000ms) {
        const auto deadline = clock_type::now() + timeout;
        while (!closed_) {
            if (!fill(deadline) && !closed_) return false;
        }
        return true;
    }

    /// The body so far: chunk payloads for a chunked answer, else the raw bytes.
    const std::string& body() const { return body_; }
    /// The last chunk (end of a chunked body) has arrived.
    bool saw_last_chunk() const { return last_chunk_; }
    bool closed() const { return closed_; }

    unsigned status = 0;
    std::string status_line;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased

private:
    /// One read, waiting at most until `deadline`; false on timeout or close.
    bool fill(clock_type::time_point deadline) {
        if (closed_) return false;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left <= 0ms) return false;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[65536];
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) {
            closed_ = true;
            return false;
        }
        raw_.append(buf, static_cast<std::size_t>(n));
        if (!headers.empty() || status != 0) decode();
        return true;
    }

    void decode() {
        if (!chunked_) {
            body_ += raw_;
            raw_.clear();
            return;
        }
        while (!last_chunk_) {
            const auto eol = raw_.find("\r\n");
            if (eol == std::string::npos) return;
            const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
            if (size == 0) {
                if (raw_.size() < eol + 4) return;  // "0\r\n\r\n"
                EXPECT_EQ(raw_.substr(eol, 4), "\r\n\r\n");
                raw_.erase(0, eol + 4);
                last_chunk_ = true;
                return;
            }
            if (raw_.size() < eol + 2 + size + 2) return;
            body_ += raw_.substr(eol + 2, size);
            EXPECT_EQ(raw_.substr(eol + 2 + size, 2), "\r\n") << "chunk framing";
            raw_.erase(0, eol + 2 + size + 2);
        }
    }

    int fd_ = -1;
    std::string raw_;
    std::string body_;
    bool chunked_ = false;
    bool last_chunk_ = false;
    bool closed_ = false;
};

std::string versioned_get_request(std::string_view target, std::string_view version = "HTTP/1.1") {
    return "GET " + std::string(target) + " " + std::string(version) + "\r\nHost: localhost\r\n\r\n";
}

/// Polls `cond` until it holds or `timeout` passes.
template <class Cond>
bool eventually(Cond cond, std::chrono::milliseconds timeout = 3000ms) {
    const auto deadline = clock_type::now() + timeout;
    while (!cond()) {
        if (clock_type::now() > deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

class http_stream : public ::testing::Test {
protected:
    /// Starts a server whose /events route opens a stream (kept in streams_) and whose other
    /// routes answer a small JSON document.
    void start(server_options options = {}) {
        options.port = 0;
        server_ = std::make_unique<server>(options, [this](const request& req) {
            if (req.path != "/events") return json_error(404, "not_found", "no route");
            auto s = std::make_shared<event_stream>();
            if (before_answer_) before_answer_(*s);
            {
                std::lock_guard lock(mutex_);
                streams_.push_back(s);
            }
            auto r = event_stream_response(s);
            r.headers.emplace_back("X-Test", "1");
            if (status_) r.status = status_;
            return r;
        });
        const auto port = server_->start();
        ASSERT_TRUE(port.ok()) << port.message();
        port_ = *port;
    }

    void TearDown() override {
        if (server_) server_->stop();
    }

    /// The stream behind the n-th /events request (0-based), once its handler has run.
    std::shared_ptr<event_stream> stream(std::size_t n) {
        std::shared_ptr<event_stream> s;
        eventually([&] {
            std::lock_guard lock(mutex_);
            if (streams_.size() > n) s = streams_[n];
            return s != nullptr;
        });
        return s;
    }

    /// Opens /events and reads the streaming header.
    std::unique_ptr<stream_client> open_stream(int receive_buffer_bytes = 0) {
        auto c = std::make_unique<stream_client>(port_, receive_buffer_bytes);
        EXPECT_TRUE(c->send(versioned_get_request("/events")));
        EXPECT_TRUE(c->read_header());
        EXPECT_EQ(c->status, 200u);
        return c;
    }

    std::unique_ptr<server> server_;
    unsigned short port_ = 0;
    std::function<void(event_stream&)> before_answer_;
    std::atomic<unsigned> status_{0};  ///< non-zero: the /events handler answers this status with its stream
    std::mutex mutex_;
    std::vector<std::shared_ptr<event_stream>> streams_;  // guarded by mutex_
};

TEST_F(http_stream, header_then_pushed_frames_in_order) {
    start();
    auto c = open_stream();
    EXPECT_EQ(c->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(c->header("content-type"), "text/event-stream");
    EXPECT_EQ(c->header("cache-control"), "no-store");
    EXPECT_EQ(c->header("transfer-encoding"), "chunked");
    EXPECT_EQ(c->header("content-length"), std::nullopt);
    EXPECT_EQ(c->header("x-accel-buffering"), "no");
    EXPECT_EQ(c->header("x-test"), "1");
    EXPECT_EQ(c->header("server"), "turbotwin");

    // GIVEN two threads pushing interleaved frames WHEN they push THEN each one's frames arrive in
    // its push order, and every frame arrives whole.
    auto s = stream(0);
    ASSERT_TRUE(s);
    constexpr int frames = 400;
    auto pusher = [&s](char who) {
        for (int i = 0; i < frames; ++i) EXPECT_TRUE(s->push(std::string("event: ") + who + "\ndata: " + std::to_string(i) + "\n\n"));
    };
    std::thread a(pusher, 'a'), b(pusher, 'b');
    a.join();
    b.join();
    ASSERT_TRUE(c->wait_for("event: a\ndata: " + std::to_string(frames - 1) + "\n\n"));
    ASSERT_TRUE(c->wait_for("event: b\ndata: " + std::to_string(frames - 1) + "\n\n"));
    int next_a = 0, next_b = 0;
    std::string_view body = c->body();
    while (!body.empty()) {
        const auto end = body.find("\n\n");
        ASSERT_NE(end, std::string_view::npos) << "a frame was cut: " << body.substr(0, 80);
        const std::string_view frame = body.substr(0, end);
        ASSERT_EQ(frame.substr(0, 7), "event: ");
        const char who = frame[7];
        const int n = std::stoi(std::string(frame.substr(frame.find("data: ") + 6)));
        EXPECT_EQ(n, who == 'a' ? next_a++ : next_b++) << "out of order from " << who;
        body.remove_prefix(end + 2);
    }
    EXPECT_EQ(next_a, frames);
    EXPECT_EQ(next_b, frames);
    EXPECT_TRUE(s->is_open());
}

TEST_F(http_stream, chunks_pushed_before_the_header_is_out_are_sent_first) {
    before_answer_ = [](event_stream& s) { EXPECT_TRUE(s.push("event: hello\ndata: {}\n\n")); };
    start();
    auto c = open_stream();
    ASSERT_TRUE(c->wait_for("event: hello\n"));
    ASSERT_TRUE(stream(0)->push("event: next\ndata: {}\n\n"));
    ASSERT_TRUE(c->wait_for("event: next\n"));
    EXPECT_EQ(c->body(), "event: hello\ndata: {}\n\nevent: next\ndata: {}\n\n");
}

TEST_F(http_stream, idle_stream_gets_keepalives_and_no_request_timeout) {
    server_options options;
    options.request_timeout = 200ms;
    options.stream_heartbeat = 300ms;
    start(options);
    auto c = open_stream();
    // Well past the request timeout: the stream is still served, and kept warm.
    ASSERT_TRUE(c->wait_for(": keepalive\n\n", 2000ms));
    std::this_thread::sleep_for(600ms);
    EXPECT_FALSE(c->closed());
    auto s = stream(0);
    EXPECT_TRUE(s->is_open());
    ASSERT_TRUE(s->push("event: late\ndata: 1\n\n"));
    EXPECT_TRUE(c->wait_for("event: late\ndata: 1\n\n"));
    // Keepalives are comment lines only, between whole frames.
    std::string rest = c->body();
    for (std::size_t at; (at = rest.find(": keepalive\n\n")) != std::string::npos;) rest.erase(at, 13);
    EXPECT_EQ(rest, "event: late\ndata: 1\n\n");
}

TEST_F(http_stream, client_leaving_ends_the_stream) {
    start();
    auto c = open_stream();
    auto s = stream(0);
    ASSERT_TRUE(s->push("event: x\ndata: 1\n\n"));
    ASSERT_TRUE(c->wait_for("data: 1"));
    c->close();
    ASSERT_TRUE(eventually([&] { return !s->is_open(); }));
    EXPECT_EQ(s->ended(), stream_end::client_gone);
    EXPECT_FALSE(s->push("event: x\ndata: 2\n\n"));
}

TEST_F(http_stream, slow_client_is_dropped_without_blocking_the_pusher) {
    server_options options;
    options.max_stream_backlog_bytes = 256 * 1024;
    start(options);
    // A client with a small receive buffer that reads the header and then nothing.
    auto c = open_stream(4096);
    auto s = stream(0);
    const std::string chunk = "data: " + std::string(64 * 1024, 'x') + "\n\n";
    auto slowest = clock_type::duration::zero();
    std::size_t pushed = 0;
    bool accepted = true;
    // The socket buffers take a few MB; past them the backlog grows to the limit and the stream ends.
    for (int i = 0; i < 4000 && accepted; ++i) {
        const auto t0 = clock_type::now();
        accepted = s->push(chunk);
        slowest = std::max(slowest, clock_type::now() - t0);
        if (accepted) ++pushed;
        EXPECT_LE(s->backlog_bytes(), options.max_stream_backlog_bytes);
    }
    ASSERT_FALSE(accepted) << "pushed " << pushed << " chunks and the client is still served";
    EXPECT_EQ(s->ended(), stream_end::too_slow);
    // push() only queues: even while the client is stuck it returns at once.
    EXPECT_LT(slowest, 100ms);
    EXPECT_FALSE(s->push("data: more\n\n"));
    // The server hangs up on it.
    EXPECT_TRUE(c->wait_closed(5000ms));
    EXPECT_FALSE(c->saw_last_chunk());
}

TEST_F(http_stream, close_sends_what_is_queued_then_ends_the_body) {
    start();
    auto c = open_stream();
    auto s = stream(0);
    ASSERT_TRUE(s->push("event: a\ndata: 1\n\n"));
    ASSERT_TRUE(s->push("event: b\ndata: 2\n\n"));
    s->close();
    EXPECT_FALSE(s->push("event: c\ndata: 3\n\n"));
    EXPECT_TRUE(c->wait_closed());
    EXPECT_TRUE(c->saw_last_chunk());
    EXPECT_EQ(c->body(), "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
    EXPECT_EQ(s->ended(), stream_end::closed);
}

TEST_F(http_stream, stop_ends_every_stream_promptly_with_the_last_chunk) {
    server_options options;
    options.request_timeout = 10s;  // stop() must not wait for any timeout
    start(options);
    std::vector<std::unique_ptr<stream_client>> clients;
    for (int i = 0; i < 3; ++i) clients.push_back(open_stream());
    for (std::size_t i = 0; i < clients.size(); ++i) {
        ASSERT_TRUE(stream(i)->push("event: x\ndata: " + std::to_string(i) + "\n\n"));
        ASSERT_TRUE(clients[i]->wait_for("data: " + std::to_string(i)));
    }
    const auto t0 = clock_type::now();
    server_->stop();
    EXPECT_LT(clock_type::now() - t0, 2s);
    for (std::size_t i = 0; i < clients.size(); ++i) {
        EXPECT_TRUE(clients[i]->wait_closed()) << i;
        EXPECT_TRUE(clients[i]->saw_last_chunk()) << i;
        EXPECT_EQ(stream(i)->ended(), stream_end::server_stopped) << i;
        EXPECT_FALSE(stream(i)->push("data: after\n\n")) << i;
    }
}

TEST_F(http_stream, streams_beyond_the_cap_get_503) {
    server_options options;
    options.max_streams = 2;
    start(options);
    auto first = open_stream();
    auto second = open_stream();
    {
        stream_client over(port_);
        ASSERT_TRUE(over.send(versioned_get_request("/events")));
        ASSERT_TRUE(over.read_header());
        EXPECT_EQ(over.status, 503u);
        EXPECT_EQ(over.header("retry-after"), "5");
        EXPECT_EQ(over.header("content-type"), "application/json");
        const auto length = over.header("content-length");
        ASSERT_TRUE(length);
        ASSERT_TRUE(over.wait_for("}}"));
        EXPECT_EQ(over.body().size(), std::stoul(*length));
        EXPECT_EQ(nlohmann::json::parse(over.body())["error"]["code"], "unavailable");
        EXPECT_EQ(stream(2)->ended(), stream_end::refused);
        EXPECT_FALSE(stream(2)->push("data: x\n\n"));
    }
    // The first two are still served.
    ASSERT_TRUE(stream(1)->push("data: still\n\n"));
    EXPECT_TRUE(second->wait_for("data: still\n\n"));
    // A slot frees when a client leaves.
    first->close();
    ASSERT_TRUE(eventually([&] { return !stream(0)->is_open(); }));
    auto third = open_stream();
    EXPECT_EQ(third->header("content-type"), "text/event-stream");
    ASSERT_TRUE(stream(3)->push("data: in\n\n"));
    EXPECT_TRUE(third->wait_for("data: in\n\n"));
}

TEST_F(http_stream, http_1_0_stream_is_ended_by_the_close) {
    start();
    stream_client c(port_);
    ASSERT_TRUE(c.send(versioned_get_request("/events", "HTTP/1.0")));
    ASSERT_TRUE(c.read_header());
    EXPECT_EQ(c.status_line, "HTTP/1.0 200 OK");
    EXPECT_EQ(c.header("transfer-encoding"), std::nullopt);
    EXPECT_EQ(c.header("content-length"), std::nullopt);
    EXPECT_EQ(c.header("connection"), "close");
    auto s = stream(0);
    ASSERT_TRUE(s->push("event: a\ndata: 1\n\n"));
    ASSERT_TRUE(c.wait_for("event: a\ndata: 1\n\n"));
    s->close();
    EXPECT_TRUE(c.wait_closed());
    EXPECT_EQ(c.body(), "event: a\ndata: 1\n\n");
}

TEST_F(http_stream, head_and_error_answers_do_not_start_a_stream) {
    start();
    {
        stream_client c(port_);
        ASSERT_TRUE(c.send("HEAD /events HTTP/1.1\r\nHost: x\r\n\r\n"));
        ASSERT_TRUE(c.read_header());
        EXPECT_EQ(c.status, 200u);
        EXPECT_EQ(c.header("content-type"), "text/event-stream");
        EXPECT_TRUE(c.wait_closed());
        EXPECT_EQ(c.body(), "");
        EXPECT_EQ(stream(0)->ended(), stream_end::refused);
    }
    status_ = 401;
    {
        stream_client c(port_);
        ASSERT_TRUE(c.send(versioned_get_request("/events")));
        ASSERT_TRUE(c.read_header());
        EXPECT_EQ(c.status, 401u);
        EXPECT_TRUE(c.header("content-length"));
        EXPECT_EQ(stream(1)->ended(), stream_end::refused);
    }
}

TEST(http_stream_raw, respond_to_raw_answers_a_stream_with_its_header_and_an_empty_body) {
    std::shared_ptr<event_stream> seen;
    const handler h = [&seen](const request&) {
        seen = std::make_shared<event_stream>();
        EXPECT_TRUE(seen->push("data: dropped\n\n"));
        return event_stream_response(seen);
    };
    const std::string out = respond_to_raw(versioned_get_request("/events") + versioned_get_request("/again"), server_options{}, h);
    ASSERT_EQ(out.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("Content-Type: text/event-stream\r\n"), std::string::npos) << out;
    EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << out;
    // The empty body, and nothing after it: the connection closes.
    EXPECT_EQ(out.substr(out.size() - 9), "\r\n\r\n0\r\n\r\n") << out;
    EXPECT_EQ(out.find("HTTP/1.1", 1), std::string::npos) << out;
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->ended(), stream_end::refused);
}

TEST(event_stream_alone, bounded_before_any_connection_serves_it) {
    event_stream s;
    EXPECT_TRUE(s.is_open());
    EXPECT_TRUE(s.push("data: 1\n\n"));
    EXPECT_EQ(s.backlog_bytes(), 9u);
    EXPECT_FALSE(s.push(std::string(default_stream_backlog_bytes, 'x')));
    EXPECT_EQ(s.ended(), stream_end::too_slow);
    EXPECT_EQ(s.backlog_bytes(), 0u);
    s.close();  // already ended: stays too_slow
    EXPECT_EQ(s.ended(), stream_end::too_slow);
}

}  // namespace
}  // namespace turbotwin::http
