// Server tests over real loopback sockets. The client is written against raw POSIX sockets
// on purpose: the point is to send what curl and misbehaving clients send, byte for byte,
// including things a well-behaved HTTP library refuses to produce.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
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

/// One parsed HTTP response as the client saw it.
struct reply {
    unsigned status = 0;
    std::string status_line;
    std::vector<std::pair<std::string, std::string>> headers;  ///< names lower-cased
    std::string body;

    std::optional<std::string> header(std::string_view name) const {
        for (const auto& [k, v] : headers)
            if (k == name) return v;
        return std::nullopt;
    }
    nlohmann::json json() const { return nlohmann::json::parse(body); }
};

/// A blocking loopback client with a receive timeout so a server bug fails a test instead
/// of hanging it.
class raw_client {
public:
    explicit raw_client(unsigned short port, std::chrono::milliseconds recv_timeout = 3000ms) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0) throw std::runtime_error("socket");
        timeval tv{};
        tv.tv_sec = static_cast<long>(recv_timeout.count() / 1000);
        tv.tv_usec = static_cast<long>((recv_timeout.count() % 1000) * 1000);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            ::close(fd_);
            throw std::runtime_error("connect");
        }
    }
    ~raw_client() {
        if (fd_ >= 0) ::close(fd_);
    }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    int fd() const { return fd_; }

    /// Sends everything; false if the peer closed or reset.
    bool send(std::string_view data) {
        while (!data.empty()) {
            const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads one response. `head_request`: the body is absent whatever Content-Length says.
    std::optional<reply> read_reply(bool head_request = false) {
        std::size_t end = std::string::npos;
        while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) return std::nullopt;
        }
        reply r;
        const std::string head = pending_.substr(0, end);
        pending_.erase(0, end + 4);
        std::size_t line_end = head.find("\r\n");
        r.status_line = head.substr(0, line_end);
        if (r.status_line.size() < 12 || r.status_line.compare(0, 5, "HTTP/") != 0) return std::nullopt;
        r.status = static_cast<unsigned>(std::stoul(r.status_line.substr(9, 3)));
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
            r.headers.emplace_back(std::move(name), std::move(value));
        }
        if (head_request || r.status == 100 || r.status == 204 || r.status == 304) return r;
        const auto length = r.header("content-length");
        if (!length) return std::nullopt;  // our server always frames with Content-Length
        const std::size_t n = std::stoul(*length);
        while (pending_.size() < n) {
            if (!fill()) return std::nullopt;
        }
        r.body = pending_.substr(0, n);
        pending_.erase(0, n);
        return r;
    }

    /// True if the server closes (EOF or reset) within the receive timeout; data read on the
    /// way is discarded.
    bool wait_closed() {
        char buf[4096];
        for (;;) {
            const auto n = ::recv(fd_, buf, sizeof buf, 0);
            if (n == 0) return true;
            if (n < 0) return errno == ECONNRESET;  // EAGAIN: timed out, still open
        }
    }

private:
    bool fill() {
        char buf[16384];
        const auto n = ::recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return false;
        pending_.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    int fd_ = -1;
    std::string pending_;
};

std::string get_request(std::string_view target, std::string_view extra_headers = {}) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" + std::string(extra_headers) + "\r\n";
}

class http_server : public ::testing::Test {
protected:
    /// Starts a server whose handler forwards to `route_` (settable per test).
    void start(server_options options = {}) {
        options.port = 0;
        server_ = std::make_unique<server>(options, [this](const request& req) {
            ++calls_;
            {
                std::lock_guard lock(mutex_);
                last_ = req;
            }
            return route_(req);
        });
        const auto port = server_->start();
        ASSERT_TRUE(port.ok()) << port.message();
        port_ = *port;
        ASSERT_NE(port_, 0);
        EXPECT_EQ(server_->port(), port_);
    }

    void SetUp() override {
        route_ = [](const request& req) {
            response r;
            r.body = nlohmann::json{{"path", req.path}, {"method", req.method}}.dump();
            return r;
        };
    }
    void TearDown() override {
        if (server_) server_->stop();
    }

    request last_request() {
        std::lock_guard lock(mutex_);
        return last_;
    }

    std::function<response(const request&)> route_;
    std::unique_ptr<server> server_;
    unsigned short port_ = 0;
    std::atomic<int> calls_{0};
    std::mutex mutex_;
    request last_;
};

TEST_F(http_server, get_decodes_path_query_and_headers) {
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/api/v1/a%20b?limit=5&name=x%26y+z&limit=6", "X-Trace-ID: Abc\r\n")));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_EQ(r->header("server"), "turbotwin");
    EXPECT_EQ(r->header("cache-control"), "no-store");
    EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
    EXPECT_EQ(r->json()["path"], "/api/v1/a b");

    const request seen = last_request();
    EXPECT_EQ(seen.method, "GET");
    EXPECT_EQ(seen.target, "/api/v1/a%20b?limit=5&name=x%26y+z&limit=6");
    EXPECT_EQ(seen.path, "/api/v1/a b");
    const std::vector<std::pair<std::string, std::string>> expected_query{
        {"limit", "5"}, {"name", "x&y z"}, {"limit", "6"}};
    EXPECT_EQ(seen.query, expected_query);
    EXPECT_EQ(seen.query_param("limit"), "5");
    EXPECT_EQ(seen.query_param("missing"), std::nullopt);
    EXPECT_EQ(seen.header("x-trace-id"), "Abc");
    EXPECT_EQ(seen.header("host"), "localhost");
}

TEST_F(http_server, handler_status_and_extra_headers_pass_through) {
    route_ = [](const request& req) {
        if (req.path != "/known") return json_error(404, "not_found", "no route for " + req.path);
        response r;
        r.content_type = "text/plain";
        r.body = "hi";
        r.headers = {{"ETag", "\"v1\""}, {"Cache-Control", "max-age=5"}, {"Content-Length", "999"},
                     {"X-Evil", "a\r\nSet-Cookie: x=1"}};
        return r;
    };
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/nope")));
    const auto missing = c.read_reply();
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404u);
    EXPECT_EQ(missing->json()["error"]["code"], "not_found");
    EXPECT_EQ(missing->json()["error"]["message"], "no route for /nope");

    ASSERT_TRUE(c.send(get_request("/known")));
    const auto known = c.read_reply();
    ASSERT_TRUE(known);
    EXPECT_EQ(known->status, 200u);
    EXPECT_EQ(known->body, "hi");
    EXPECT_EQ(known->header("content-type"), "text/plain");
    EXPECT_EQ(known->header("etag"), "\"v1\"");
    EXPECT_EQ(known->header("cache-control"), "max-age=5");
    EXPECT_EQ(known->header("content-length"), "2");  // framing is the server's, not the handler's
    EXPECT_EQ(known->header("x-evil"), std::nullopt);
    EXPECT_EQ(known->header("set-cookie"), std::nullopt);
}

TEST_F(http_server, throwing_handler_gives_500_without_details) {
    route_ = [](const request&) -> response { throw std::runtime_error("secret database path /var/lib/x"); };
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/boom")));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500u);
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_EQ(r->body, R"({"error":{"code":"internal","message":"internal error"}})");
    // The connection survives a handler failure.
    ASSERT_TRUE(c.send(get_request("/boom")));
    const auto again = c.read_reply();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 500u);
}

TEST_F(http_server, invalid_handler_status_gives_500) {
    route_ = [](const request&) {
        response r;
        r.status = 42;
        return r;
    };
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/")));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500u);
}

TEST_F(http_server, huge_header_gives_431) {
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/", "X-Big: " + std::string(200 * 1024, 'a') + "\r\n")));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431u);
    EXPECT_EQ(r->json()["error"]["code"], "header_too_large");
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
    EXPECT_EQ(calls_, 0);
}

TEST_F(http_server, huge_streamed_body_gives_413_before_the_body_is_read) {
    start();
    raw_client c(port_);
    constexpr std::size_t body_bytes = 20'000'000;
    ASSERT_TRUE(c.send("POST /api/v1/ingest HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/octet-stream\r\n"
                       "Content-Length: " + std::to_string(body_bytes) + "\r\n\r\n"));
    // Stream the body while reading, like a client that does not wait for 100-continue.
    std::thread writer([&c] {
        const std::string chunk(64 * 1024, '\0');
        for (std::size_t sent = 0; sent < body_bytes; sent += chunk.size()) {
            if (!c.send(chunk)) return;  // the server may close once it has lingered enough
        }
    });
    const auto r = c.read_reply();
    writer.join();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 413 Payload Too Large");
    EXPECT_EQ(r->json()["error"]["code"], "payload_too_large");
    EXPECT_EQ(calls_, 0);
}

TEST_F(http_server, huge_body_with_expect_continue_gets_413_without_sending_it) {
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20000000\r\nExpect: 100-continue\r\n\r\n"));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413u);
    EXPECT_TRUE(c.wait_closed());
}

TEST_F(http_server, chunked_body_over_the_limit_gives_413) {
    server_options options;
    options.max_body_bytes = 1000;
    start(options);
    raw_client c(port_);
    std::string req = "POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) req += "200\r\n" + std::string(0x200, 'x') + "\r\n";
    req += "0\r\n\r\n";
    ASSERT_TRUE(c.send(req));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413u);
    EXPECT_EQ(calls_, 0);
}

TEST_F(http_server, body_within_limit_reaches_handler_with_and_without_expect) {
    route_ = [](const request& req) {
        response r;
        r.content_type = "text/plain";
        r.body = req.method + ":" + req.body;
        return r;
    };
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello"));
    auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "POST:hello");

    ASSERT_TRUE(c.send("PUT /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
    r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 100u);  // the interim answer first
    ASSERT_TRUE(c.send("abc"));
    r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_EQ(r->body, "PUT:abc");
}

TEST_F(http_server, traversal_nul_and_bad_escapes_give_400_before_the_handler) {
    start();
    for (const char* target : {"/../../etc/passwd", "/api/v1/assets/..%2F..%2Fetc%2Fpasswd", "/api/%2e%2e/x",
                               "/a%00b", "/a%zz", "/a?x=%4"}) {
        raw_client c(port_);
        ASSERT_TRUE(c.send(get_request(target)));
        const auto r = c.read_reply();
        ASSERT_TRUE(r) << target;
        EXPECT_EQ(r->status, 400u) << target;
        EXPECT_EQ(r->json()["error"]["code"], "bad_request") << target;
    }
    EXPECT_EQ(calls_, 0);
}

TEST_F(http_server, malformed_requests_give_400_and_bad_version_505) {
    start();
    {
        raw_client c(port_);
        ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400u);
        EXPECT_EQ(r->json()["error"]["code"], "bad_request");
        EXPECT_TRUE(c.wait_closed());
    }
    {
        raw_client c(port_);
        ASSERT_TRUE(c.send("this is not http\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400u);
    }
    {
        raw_client c(port_);
        ASSERT_TRUE(c.send("GET / HTTP/2.0\r\nHost: x\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 505u);
    }
    {
        raw_client c(port_);
        ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 400u);
    }
    // Ambiguous framing is what request smuggling feeds on: refuse it.
    for (const char* framing : {"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: gzip\r\n",
                                "Content-Length: 3\r\nContent-Length: 4\r\n"}) {
        raw_client c(port_);
        ASSERT_TRUE(c.send("POST / HTTP/1.1\r\nHost: x\r\n" + std::string(framing) + "\r\n3\r\nabc\r\n0\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r) << framing;
        EXPECT_EQ(r->status, 400u) << framing;
    }
    EXPECT_EQ(calls_, 0);
}

TEST_F(http_server, keep_alive_and_pipelining_on_one_connection) {
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/one")));
    const auto first = c.read_reply();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->json()["path"], "/one");
    EXPECT_NE(first->header("connection"), "close");
    ASSERT_TRUE(c.send(get_request("/two")));
    const auto second = c.read_reply();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->json()["path"], "/two");
    // Two requests in one segment are answered in order.
    ASSERT_TRUE(c.send(get_request("/three") + get_request("/four", "Connection: close\r\n")));
    const auto third = c.read_reply();
    const auto fourth = c.read_reply();
    ASSERT_TRUE(third && fourth);
    EXPECT_EQ(third->json()["path"], "/three");
    EXPECT_EQ(fourth->json()["path"], "/four");
    EXPECT_EQ(fourth->header("connection"), "close");
    EXPECT_TRUE(c.wait_closed());
    EXPECT_EQ(calls_, 4);
}

TEST_F(http_server, http_1_0_closes_unless_keep_alive_is_asked_for) {
    start();
    {
        raw_client c(port_);
        ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status_line, "HTTP/1.0 200 OK");
        EXPECT_TRUE(c.wait_closed());
    }
    {
        raw_client c(port_);
        ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
        ASSERT_TRUE(c.read_reply());
        ASSERT_TRUE(c.send("GET /old2 HTTP/1.0\r\n\r\n"));
        const auto r = c.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->json()["path"], "/old2");
    }
}

TEST_F(http_server, head_is_get_without_body) {
    start();
    raw_client c(port_);
    ASSERT_TRUE(c.send(get_request("/thing")));
    const auto g = c.read_reply();
    ASSERT_TRUE(g);
    ASSERT_TRUE(c.send("HEAD /thing HTTP/1.1\r\nHost: x\r\n\r\n"));
    const auto h = c.read_reply(true);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200u);
    EXPECT_EQ(h->header("content-length"), std::to_string(g->body.size()));
    EXPECT_EQ(last_request().method, "GET");
    // Nothing but the next response may follow the HEAD response on the wire.
    ASSERT_TRUE(c.send(get_request("/after")));
    const auto after = c.read_reply();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->json()["path"], "/after");
}

TEST_F(http_server, concurrent_keep_alive_clients_all_get_their_answers) {
    start();
    constexpr int clients = 8;
    constexpr int requests = 50;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
        threads.emplace_back([&, t] {
            raw_client c(port_);
            for (int i = 0; i < requests; ++i) {
                const std::string path = "/c" + std::to_string(t) + "/" + std::to_string(i);
                if (!c.send(get_request(path))) return;
                const auto r = c.read_reply();
                if (!r || r->status != 200 || r->json()["path"] != path) return;
                ++ok;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(ok, clients * requests);
}

TEST_F(http_server, slow_client_is_dropped_after_request_timeout) {
    server_options options;
    options.request_timeout = 200ms;
    start(options);
    raw_client c(port_);
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
    const auto t0 = clock_type::now();
    EXPECT_TRUE(c.wait_closed());
    const auto elapsed = clock_type::now() - t0;
    EXPECT_GE(elapsed, 150ms);
    EXPECT_LT(elapsed, 2000ms);
    EXPECT_EQ(calls_, 0);
}

TEST_F(http_server, connections_beyond_the_cap_get_503) {
    server_options options;
    options.max_connections = 2;
    start(options);
    // Two served, idle keep-alive connections: a full round trip proves each was admitted.
    std::optional<raw_client> a(std::in_place, port_);
    raw_client b(port_);
    for (raw_client* c : {&*a, &b}) {
        ASSERT_TRUE(c->send(get_request("/")));
        const auto r = c->read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200u);
    }
    {
        raw_client over(port_);
        ASSERT_TRUE(over.send(get_request("/")));
        const auto r = over.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 503u);
        EXPECT_EQ(r->json()["error"]["code"], "unavailable");
        EXPECT_TRUE(over.wait_closed());
    }
    // Closing one frees its slot once the server has seen the EOF.
    a.reset();
    unsigned status = 0;
    for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
        raw_client next(port_);
        ASSERT_TRUE(next.send(get_request("/")));
        const auto r = next.read_reply();
        ASSERT_TRUE(r);
        status = r->status;
        if (status != 200) std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(status, 200u);
}

TEST_F(http_server, stop_closes_connected_clients_and_joins) {
    server_options options;
    options.request_timeout = 10s;  // stop() must not wait for timeouts
    start(options);
    raw_client idle(port_);
    raw_client served(port_);
    ASSERT_TRUE(served.send(get_request("/")));
    ASSERT_TRUE(served.read_reply());
    raw_client half(port_);
    ASSERT_TRUE(half.send("GET / HTTP/1.1\r\nHo"));
    std::this_thread::sleep_for(50ms);  // let the server accept them all

    const auto t0 = clock_type::now();
    server_->stop();
    EXPECT_LT(clock_type::now() - t0, 2s);
    EXPECT_EQ(server_->port(), 0);
    EXPECT_TRUE(idle.wait_closed());
    EXPECT_TRUE(served.wait_closed());
    EXPECT_TRUE(half.wait_closed());
    server_->stop();  // idempotent
}

TEST_F(http_server, can_restart_after_stop_and_rejects_double_start) {
    start();
    const auto again = server_->start();
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.error(), errc::invalid_argument);
    server_->stop();
    const auto restarted = server_->start();
    ASSERT_TRUE(restarted.ok()) << restarted.message();
    raw_client c(*restarted);
    ASSERT_TRUE(c.send(get_request("/")));
    const auto r = c.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
}

TEST(http_server_bind, busy_port_fails_with_a_clear_message) {
    server first({.port = 0}, [](const request&) { return response{}; });
    const auto port = first.start();
    ASSERT_TRUE(port.ok()) << port.message();
    server_options options;
    options.port = *port;
    server second(options, [](const request&) { return response{}; });
    const auto r = second.start();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::io_error);
    EXPECT_NE(r.message().find("cannot listen on 127.0.0.1:" + std::to_string(*port) + ": "), std::string::npos)
        << r.message();
    EXPECT_EQ(second.port(), 0);
}

TEST(http_server_bind, unresolvable_host_fails) {
    server_options options;
    options.host = "no-such-host.invalid";
    options.port = 0;
    server s(options, [](const request&) { return response{}; });
    const auto r = s.start();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), errc::io_error);
}

TEST(json_error, builds_the_documented_shape) {
    const response r = json_error(404, "not_found", "asset \"x\" \xff unknown");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.content_type, "application/json");
    const auto j = nlohmann::json::parse(r.body);
    EXPECT_EQ(j["error"]["code"], "not_found");
    EXPECT_TRUE(j["error"]["message"].is_string());
}

}  // namespace
}  // namespace turbotwin::http
