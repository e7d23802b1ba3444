// respond_to_raw: the server's exchange (exchange.cpp) driven synchronously over memory. The
// loop mirrors session::do_read .. on_write in server.cpp step for step; Beast's synchronous
// read_header/read/write use the same parser and buffer logic as the asynchronous ones. A
// streaming answer ends at once (there is no other thread to push): headers, empty body, close.
#include <algorithm>
#include <optional>
#include <string>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/system/system_error.hpp>

#include "exchange.hpp"
#include "stream_link.hpp"
#include "turbotwin/http/server.hpp"

namespace turbotwin::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;

/// A connection whose input is a fixed byte string and whose output is collected; meets
/// Beast's SyncReadStream and SyncWriteStream. The end of the input reads as the client
/// closing its side (eof), which is what a socket reports.
class memory_connection {
public:
    memory_connection(std::string_view input, std::size_t max_read_bytes) : input_(input), max_read_(max_read_bytes) {}

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
        if (input_.empty()) {
            ec = net::error::eof;
            return 0;
        }
        const std::size_t available = max_read_ == 0 ? input_.size() : std::min(input_.size(), max_read_);
        const std::size_t n = net::buffer_copy(buffers, net::buffer(input_.data(), available));
        input_.remove_prefix(n);
        ec = {};
        return n;
    }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        beast::error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec) throw boost::system::system_error(ec);
        return n;
    }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, beast::error_code& ec) {
        std::size_t n = 0;
        for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
            const net::const_buffer b = *it;
            output_.append(static_cast<const char*>(b.data()), b.size());
            n += b.size();
        }
        ec = {};
        return n;
    }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        beast::error_code ec;
        return write_some(buffers, ec);
    }

    std::string take_output() { return std::move(output_); }

private:
    std::string_view input_;
    std::size_t max_read_;
    std::string output_;
};

void write_response(memory_connection& connection, detail::wire_response& res, response out, unsigned version,
                    bool keep_alive, bool head) {
    detail::frame(res, std::move(out), version, keep_alive, head);
    beast::error_code ignored;  // writing to memory cannot fail
    bhttp::write(connection, res, ignored);
}

/// The header of a streaming answer and an empty body (the server would write chunks next).
void write_stream_header(memory_connection& connection, const response& out, unsigned version, bool head) {
    detail::stream_header res;
    detail::frame_stream(res, out, version);
    bhttp::response_serializer<bhttp::empty_body> serializer(res);
    beast::error_code ignored;  // writing to memory cannot fail
    bhttp::write_header(connection, serializer, ignored);
    if (!head && detail::stream_is_chunked(version))
        connection.write_some(net::buffer(detail::last_chunk.data(), detail::last_chunk.size()));
}

}  // namespace

std::string respond_to_raw(std::string_view raw, const server_options& options, const handler& h,
                           std::size_t max_read_bytes) {
    memory_connection connection(raw, max_read_bytes);
    beast::flat_buffer buffer;
    std::optional<detail::request_parser> parser;
    detail::wire_response res;
    for (;;) {
        detail::arm_parser(parser, options);
        beast::error_code ec;
        const std::size_t header_bytes = bhttp::read_header(connection, buffer, *parser, ec);
        if (!ec) {
            if (auto refusal = detail::check_header(*parser, header_bytes, options)) {
                write_response(connection, res, std::move(*refusal), detail::error_version(parser), false, false);
                break;
            }
            if (!parser->is_done()) {
                if (detail::wants_continue(*parser)) {
                    connection.write_some(net::buffer(detail::interim_continue.data(), detail::interim_continue.size()));
                }
                bhttp::read(connection, buffer, *parser, ec);
            }
        }
        if (ec) {
            // end_of_stream: the input ended between requests, the normal end of a connection.
            if (ec == bhttp::error::end_of_stream) break;
            const auto unparsed = buffer.data();
            if (auto answer = detail::answer_read_error(
                    ec, std::string_view(static_cast<const char*>(unparsed.data()), unparsed.size()), options)) {
                write_response(connection, res, std::move(*answer), detail::error_version(parser), false, false);
            }
            break;
        }
        auto routed = detail::route(*parser, h);
        if (auto stream = std::move(routed.out.stream)) {
            // No threads to push from here: a stream ends before it starts.
            detail::stream_link::finish(*stream, stream_end::refused);
            if (routed.out.status == 200) {
                write_stream_header(connection, routed.out, routed.version, routed.head);
                break;
            }
        }
        write_response(connection, res, std::move(routed.out), routed.version, routed.keep_alive, routed.head);
        if (!routed.keep_alive) break;
    }
    return connection.take_output();
}

}  // namespace turbotwin::http
