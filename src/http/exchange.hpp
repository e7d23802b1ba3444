#pragma once
// The transport-independent steps of one HTTP exchange: arm a parser with the limits, vet the
// header, turn a read error into the answer the client can still hear, build the handler's
// request and call it, frame the answer. The socket server (server.cpp) runs them
// asynchronously; respond_to_raw (raw.cpp) runs them over an in-memory connection, so the
// fuzzer and the unit tests exercise the very decisions the server makes.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "turbotwin/http/server.hpp"

namespace turbotwin::http::detail {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using wire_response = boost::beast::http::response<boost::beast::http::string_body>;
/// The header of a streaming answer; its body is written chunk by chunk, outside Beast.
using stream_header = boost::beast::http::response<boost::beast::http::empty_body>;

/// Sent before reading a body the client announced with "Expect: 100-continue".
inline constexpr std::string_view interim_continue = "HTTP/1.1 100 Continue\r\n\r\n";

/// Replaces `parser` with a fresh one carrying the header and body limits (Beast parsers are
/// single-use).
void arm_parser(std::optional<request_parser>& parser, const server_options& options);

/// Once the header is parsed (`header_bytes` long, request line included): the error that ends
/// the exchange before any body byte is read (431 header over the limit, 505 unsupported
/// version, 413 announced body too large, 400 unsupported transfer-encoding), or nullopt to go on.
std::optional<response> check_header(const request_parser& parser, std::size_t header_bytes,
                                     const server_options& options);

/// True when the client waits for "100 Continue" before sending its body.
bool wants_continue(const request_parser& parser);

/// For a failed read (other than the client closing between requests): the error answer the
/// client can still hear (431, 413, 505, 400), or nullopt when nobody is left to read one
/// (timeout, reset, stop(), a request cut short). `unparsed_input` is what the read buffer
/// still holds: Beast leaves a request line it could not parse there.
std::optional<response> answer_read_error(boost::beast::error_code ec, std::string_view unparsed_input,
                                          const server_options& options);

/// One request after routing: the handler's answer and how to frame it.
struct routed_request {
    response out;
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
};

/// Builds the handler's request from the parsed message, refuses bad targets (400) before the
/// handler sees them, and calls the handler (500 without details if it throws). Moves the body
/// out of the parser.
routed_request route(request_parser& parser, const handler& on_request);

/// Frames `out` into `res`: status (500 if the handler's is not a final status), Server,
/// Content-Type, Cache-Control, the handler's safe extra headers, Content-Length, body
/// (none for HEAD, 204 and 304) and Connection.
void frame(wire_response& res, response out, unsigned version, bool keep_alive, bool head);

/// Frames the header of a streaming answer (`out.stream` set, status 200): Server, Content-Type,
/// Cache-Control, the handler's safe extra headers, no Content-Length; Transfer-Encoding: chunked
/// for HTTP/1.1, Connection: close for HTTP/1.0 (whose body ends when the connection closes).
void frame_stream(stream_header& res, const response& out, unsigned version);

/// True when the answer to a request of this HTTP version is sent in chunks.
inline bool stream_is_chunked(unsigned version) { return version == 11; }

/// Appends `data` to `wire` as one chunk of a chunked body (nothing for empty data).
void append_chunk(std::string& wire, std::string_view data);

/// The end of a chunked body.
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

/// HTTP version to answer an error in: the request's, once its header is parsed, else 1.1.
unsigned error_version(const std::optional<request_parser>& parser);

}  // namespace turbotwin::http::detail
