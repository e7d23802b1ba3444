// respond_to_raw: the server's exchange over memory. These tests pin the behaviour the fuzzer
// relies on (same answers as the socket server, see server_test.cpp) and the in-memory
// specifics: pipelining, pieces, and what a cut-short request produces.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "turbotwin/http/server.hpp"

namespace turbotwin::http {
namespace {

/// One response as written on the wire.
struct wire_reply {
    unsigned status = 0;
    std::string status_line;
    std::string head;  ///< header block, lower-cased
    std::string body;
};

/// Splits the server's output into responses, honouring Content-Length. Fails the test on
/// anything that is not well-formed framing.
std::vector<wire_reply> split(std::string out, bool head_request = false) {
    std::vector<wire_reply> replies;
    while (!out.empty()) {
        const auto end = out.find("\r\n\r\n");
        if (end == std::string::npos) {
            ADD_FAILURE() << "unterminated response header: " << out;
            break;
        }
        wire_reply r;
        r.status_line = out.substr(0, out.find("\r\n"));
        r.status = unsigned(std::stoul(r.status_line.substr(9, 3)));
        r.head = out.substr(0, end);
        for (auto& c : r.head) c = char(std::tolower(static_cast<unsigned char>(c)));
        out.erase(0, end + 4);
        std::size_t length = 0;
        if (const auto at = r.head.find("\r\ncontent-length: "); at != std::string::npos) {
            length = std::stoul(r.head.substr(at + 18));
        }
        if (!head_request && r.status >= 200) {
            if (length > out.size()) {
                ADD_FAILURE() << "body shorter than content-length";
                break;
            }
            r.body = out.substr(0, length);
            out.erase(0, length);
        }
        replies.push_back(std::move(r));
    }
    return replies;
}

class raw_exchange : public ::testing::Test {
protected:
    std::string respond(std::string_view raw, std::size_t max_read_bytes = 0) {
        return respond_to_raw(raw, options_, [this](const request& req) {
            seen_.push_back(req);
            response r;
            r.body = nlohmann::json{{"path", req.path}, {"method", req.method}, {"body", req.body}}.dump();
            return r;
        }, max_read_bytes);
    }

    server_options options_;
    std::vector<request> seen_;
};

TEST_F(raw_exchange, get_is_validated_routed_and_framed) {
    const auto replies = split(respond("GET /api/a%20b?limit=5 HTTP/1.1\r\nHost: x\r\nX-Trace: T\r\n\r\n"));
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].status_line, "HTTP/1.1 200 OK");
    EXPECT_NE(replies[0].head.find("content-type: application/json"), std::string::npos);
    EXPECT_NE(replies[0].head.find("cache-control: no-store"), std::string::npos);
    EXPECT_EQ(nlohmann::json::parse(replies[0].body)["path"], "/api/a b");
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].query_param("limit"), "5");
    EXPECT_EQ(seen_[0].header("x-trace"), "T");
}

TEST_F(raw_exchange, pipelined_requests_are_answered_in_order_until_connection_close) {
    const std::string raw =
        "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
        "GET /three HTTP/1.1\r\nHost: x\r\n\r\n";
    const auto replies = split(respond(raw));
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(nlohmann::json::parse(replies[0].body)["path"], "/one");
    EXPECT_EQ(nlohmann::json::parse(replies[1].body)["body"], "abc");
    EXPECT_NE(replies[1].head.find("connection: close"), std::string::npos);
    EXPECT_EQ(seen_.size(), 2u) << "nothing after Connection: close is routed";
}

TEST_F(raw_exchange, input_in_one_byte_pieces_gives_the_same_bytes) {
    const std::string raw =
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
        "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        "PUT /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nxy"
        "GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::string whole = respond(raw);
    EXPECT_EQ(respond(raw, 1), whole);
    EXPECT_EQ(respond(raw, 7), whole);
    EXPECT_EQ(split(whole).size(), 5u);  // a, b, 100 Continue, c, 400
}

TEST_F(raw_exchange, expect_continue_gets_the_interim_response_first) {
    const auto replies =
        split(respond("PUT /c HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\nxy"));
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(replies[0].status_line, "HTTP/1.1 100 Continue");
    EXPECT_EQ(replies[1].status, 200u);
    EXPECT_EQ(nlohmann::json::parse(replies[1].body)["body"], "xy");
}

TEST_F(raw_exchange, errors_answer_with_json_and_framing_errors_end_the_connection) {
    struct error_case {
        std::string raw;
        unsigned status;
        const char* code;
        bool closes;  ///< framing is lost (limits, malformed header): nothing after it is read
    };
    options_.max_header_bytes = 1024;
    options_.max_body_bytes = 16;
    const std::vector<error_case> cases = {
        {"GET / HTTP/1.1\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431, "header_too_large", true},
        {"POST / HTTP/1.1\r\nContent-Length: 17\r\n\r\n" + std::string(17, 'b'), 413, "payload_too_large", true},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" + std::string(32, 'c') + "\r\n0\r\n\r\n", 413,
         "payload_too_large", true},
        {"GET / HTTP/2.0\r\n\r\n", 505, "http_version_not_supported", true},
        {"this is not http\r\n\r\n", 400, "bad_request", true},
        {"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "bad_request", true},
        {"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, "bad_request", true},
        // A bad target is refused like a bad route: the request was framed fine, so the
        // connection goes on.
        {"GET /api/v1/assets/..%2F..%2Fetc HTTP/1.1\r\n\r\n", 400, "bad_request", false},
        {"GET /a%00 HTTP/1.1\r\n\r\n", 400, "bad_request", false},
    };
    for (const auto& c : cases) {
        const auto replies = split(respond(c.raw + "GET /after HTTP/1.1\r\n\r\n"));
        ASSERT_EQ(replies.size(), c.closes ? 1u : 2u) << c.raw.substr(0, 60);
        EXPECT_EQ(replies[0].status, c.status) << c.raw.substr(0, 60);
        EXPECT_EQ(nlohmann::json::parse(replies[0].body)["error"]["code"], c.code) << c.raw.substr(0, 60);
        EXPECT_EQ(replies[0].head.find("connection: close") != std::string::npos, c.closes) << c.raw.substr(0, 60);
        if (!c.closes) {
            EXPECT_EQ(nlohmann::json::parse(replies[1].body)["path"], "/after");
        }
    }
    ASSERT_EQ(seen_.size(), 2u) << "the handler never sees a refused request";
    EXPECT_EQ(seen_[0].path, "/after");
}

/// A GET whose header (request line to blank line) is exactly `size` bytes: one big field, or
/// many small ones.
std::string header_of_size(std::size_t size, bool many_fields) {
    std::string req = "GET /h HTTP/1.1\r\n";
    if (many_fields) {
        for (int i = 0; req.size() + 20 + 12 < size; ++i) req += "X-" + std::to_string(10000 + i) + ": vvvvvvvvvv\r\n";
    }
    req += "X-Pad: ";
    req += std::string(size - req.size() - 4, 'a');
    req += "\r\n\r\n";
    return req;
}

// Found by fuzz_http (corpus: regression_header_limit_*): Beast 1.74 does not count the request
// line against header_limit, nor fields it consumed in an earlier read, so a header up to about
// 1 KiB over max_header_bytes got through when it arrived in large reads, and not when it
// arrived in small ones.
TEST_F(raw_exchange, header_limit_is_exact_whatever_the_segmentation) {
    options_.max_header_bytes = 2048;
    for (const bool many : {false, true}) {
        for (const std::size_t piece : {0, 1, 7, 100, 1000, 4096}) {
            const auto at = split(respond(header_of_size(2048, many), piece));
            ASSERT_EQ(at.size(), 1u);
            EXPECT_EQ(at[0].status, 200u) << "many=" << many << " piece=" << piece;
            for (const std::size_t over : {2049, 2100, 2600, 3100}) {
                const auto replies = split(respond(header_of_size(over, many), piece));
                ASSERT_EQ(replies.size(), 1u);
                EXPECT_EQ(replies[0].status, 431u) << over << " bytes, many=" << many << " piece=" << piece;
            }
        }
    }
}

// Also from fuzz_http (regression_header_limit_noticed_late): Beast notices an unterminated
// header over the limit up to one read late, so a client that stops just past the limit meets
// the timeout instead of 431. What must hold is the bound: however the bytes arrive, a header
// that never ends is refused within the limit plus one read, not buffered without end.
TEST_F(raw_exchange, an_endless_header_is_refused_within_the_limit_plus_one_read) {
    options_.max_header_bytes = 2048;
    const std::string endless = "GET /h HTTP/1.1\r\nX-Endless: " + std::string(100000, 'a');
    for (const std::size_t piece : {0, 1, 7, 100, 1000, 4096}) {
        const auto replies = split(respond(endless, piece));
        ASSERT_EQ(replies.size(), 1u) << "piece=" << piece;
        EXPECT_EQ(replies[0].status, 431u) << "piece=" << piece;
    }
    // Cut just past the limit, it may wait for more instead; it never routes the request.
    for (const std::size_t piece : {0, 1, 7, 100, 1000}) {
        const auto replies = split(respond(endless.substr(0, 2100), piece));
        EXPECT_TRUE(replies.empty() || replies[0].status == 431u) << "piece=" << piece;
    }
    EXPECT_TRUE(seen_.empty());
}

TEST_F(raw_exchange, a_request_cut_short_gets_no_answer) {
    EXPECT_EQ(respond(""), "");
    EXPECT_EQ(respond("GET /slow HTTP/1.1\r\nHost: x\r\n"), "");
    EXPECT_EQ(respond("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"), "");
    EXPECT_TRUE(seen_.empty());
}

TEST_F(raw_exchange, head_keeps_the_length_and_drops_the_body) {
    const std::string out = respond("HEAD /h HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const auto replies = split(out, true);
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].status, 200u);
    EXPECT_NE(replies[0].head.find("content-length: "), std::string::npos);
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << "no body bytes after the header";
    ASSERT_EQ(seen_.size(), 1u);
    EXPECT_EQ(seen_[0].method, "GET");
}

TEST_F(raw_exchange, a_chunked_body_arriving_byte_by_byte_is_read_whole) {
    // Byte by byte, the last chunk "0\r\n" is followed by reads of one and two bytes: Boost
    // 1.74's Beast asserts on those in debug builds (src/http/boost_assert.cpp lets it pass).
    const std::string request =
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    const auto replies = split(respond(request, 1));
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].status, 200u);
    EXPECT_EQ(nlohmann::json::parse(replies[0].body)["body"], "abc");
    // Cut short after the last chunk: no answer, and no abort on the way.
    seen_.clear();
    EXPECT_EQ(respond("POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\xff", 1), "");
    EXPECT_TRUE(seen_.empty());
}

TEST(raw_exchange_handler, a_throwing_handler_gives_500_without_details) {
    const auto replies = split(respond_to_raw("GET / HTTP/1.1\r\n\r\n", {}, [](const request&) -> response {
        throw std::runtime_error("secret detail");
    }));
    ASSERT_EQ(replies.size(), 1u);
    EXPECT_EQ(replies[0].status, 500u);
    EXPECT_EQ(replies[0].body.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace turbotwin::http
