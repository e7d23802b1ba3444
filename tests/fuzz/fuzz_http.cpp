// libFuzzer target for HTTP request handling: the input is the raw byte stream a client sends
// on one connection. It goes through http::respond_to_raw, i.e. Beast's parser with the
// server's limits, the header checks, target validation, the real REST API (app::rest_api over
// a small fleet) and the server's framing. Properties, each aborting when violated:
//  - the output is well-formed HTTP/1.x: status lines, token header names, no stray CR/LF,
//    Content-Length on every final response and matching the body;
//  - no 5xx except 505 for an unsupported HTTP version (nothing may make the API fail);
//  - every JSON response body parses, and every error body is {"error":{"code","message"}};
//  - every request the handler sees gets a response, and a response that closes the
//    connection is the last one;
//  - the same bytes arriving in other pieces route the same requests and give the same
//    responses, except for a closing error at the end. (Not "the same output": where Beast
//    notices a broken header depends on how the bytes arrive. It checks a request line as soon
//    as one read holds it whole, but once it has had to wait it waits for the blank line, so a
//    bare-LF request gets 400 at once or, dribbling in, the timeout; and it notices a header
//    over the limit up to one read late, so a client that stops just past the limit may get
//    the timeout instead of 431. Either answer ends the connection; memory stays bounded by
//    the header limit plus one read.)
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/app/metrics.hpp"
#include "turbotwin/app/rest_api.hpp"
#include "turbotwin/http/server.hpp"

namespace {

using namespace turbotwin;

[[noreturn]] void violated(const char* property, std::string_view output) {
    std::fprintf(stderr, "property violated: %s\n--- output ---\n%.*s\n", property,
                 int(std::min<std::size_t>(output.size(), 4000)), output.data());
    std::abort();
}

/// A small fleet: three engines (one with filtered channels and a fault) and an alert log,
/// so the asset, paging and alert routes have something to page through.
struct fixture {
    app::fleet_view view;
    app::metrics counters;
    app::rest_api api;

    fixture() : api(view, counters, status()) {
        for (const char* id : {"ENG-001", "ENG-002", "ENG-010"}) {
            app::asset_summary s;
            s.id = id;
            s.last_cycle = 120;
            s.rul = 42.5;
            s.rul_lo = 30.25;
            s.rul_hi = 61.0;
            s.level = alerting::severity::warning;
            s.readings = 120;
            s.channels.push_back({1590.2, 0.4, 0.05, 0.01});
            s.channels.push_back({47.6, 0.1, 0.002, 0.001});
            if (s.id == "ENG-002") s.notes = std::make_shared<const app::asset_notes>(app::asset_notes{{}, {}, "covariance not positive definite", {}});
            view.upsert(std::move(s));
        }
        alerting::alert raised;
        raised.id = "ENG-001-1";
        raised.asset = "ENG-001";
        raised.raised_cycle = raised.cycle = 100;
        raised.rul = 49.0;
        view.record_alert(raised);
        raised.state = alerting::alert_state::cleared;
        raised.cleared_cycle = 110;
        view.record_alert(raised);
        counters.messages_received = 10;
        counters.count_rejected(errc::malformed_json);
    }

    static app::server_status status() {
        app::server_status s;
        s.broker_connected = [] { return true; };
        s.broker_reconnects = [] { return std::uint64_t{0}; };
        s.ingest_backlog = [] { return std::size_t{0}; };
        s.model_name = "fuzz";
        s.channel_names = {"T30", "Ps30"};
        s.version = "0.0.0";
        return s;
    }
};

bool is_token_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

/// Where the final (non-1xx) responses in an output end.
struct response_ends {
    std::vector<std::size_t> finals;
    /// End of the last final response that is not an error closing the connection: the part
    /// of the output that must not depend on how the input was split.
    std::size_t settled = 0;
};

/// Checks the server's output and finds where its responses end.
response_ends check_output(std::string_view out) {
    const std::string_view whole = out;
    response_ends ends;
    bool closed = false;
    while (!out.empty()) {
        if (closed) violated("nothing follows a response that closes the connection", whole);
        const auto header_end = out.find("\r\n\r\n");
        if (header_end == std::string_view::npos) violated("response header is terminated", whole);
        const std::string_view head = out.substr(0, header_end + 2);
        out.remove_prefix(header_end + 4);

        const auto line_end = head.find("\r\n");
        const std::string_view status_line = head.substr(0, line_end);
        if (status_line.size() < 12 || (status_line.substr(0, 9) != "HTTP/1.1 " && status_line.substr(0, 9) != "HTTP/1.0 ") ||
            !std::isdigit(static_cast<unsigned char>(status_line[9])) || status_line[12] != ' ')
            violated("status line is HTTP/1.x NNN reason", whole);
        const unsigned status = unsigned(std::stoul(std::string(status_line.substr(9, 3))));
        if (status >= 500 && status != 505) violated("no 5xx but 505", whole);

        std::string content_type;
        std::string connection;
        std::optional<std::size_t> content_length;
        std::string_view fields = head.substr(line_end + 2);
        while (!fields.empty()) {
            const auto eol = fields.find("\r\n");
            const std::string_view field = fields.substr(0, eol);
            fields.remove_prefix(eol + 2);
            const auto colon = field.find(':');
            if (colon == std::string_view::npos || colon == 0) violated("header field has a name", whole);
            const std::string_view name = field.substr(0, colon);
            if (!std::all_of(name.begin(), name.end(), is_token_char)) violated("header name is a token", whole);
            std::string_view value = field.substr(colon + 1);
            if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) violated("header value has no CR, LF or NUL", whole);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            const std::string key = lower(name);
            if (key == "content-type") content_type = std::string(value);
            if (key == "content-length") {
                if (content_length) violated("one Content-Length", whole);
                content_length = std::stoul(std::string(value));
            }
            if (key == "connection") connection = lower(value);
        }
        // HTTP/1.1 keeps the connection unless told otherwise, HTTP/1.0 closes it unless told.
        closed = status_line[7] == '1' ? connection == "close" : connection != "keep-alive";
        if (status < 200) {
            closed = false;  // 100 Continue: header only, the final response follows
            continue;
        }
        if (!content_length) violated("final response has a Content-Length", whole);
        // A HEAD answer carries the length but no body. Our bodies are JSON, HTML or metrics
        // text, never "HTTP/", so a following status line marks a HEAD answer.
        const bool head_answer = *content_length > 0 && (out.empty() || out.substr(0, 7) == "HTTP/1.");
        if (head_answer) {
            ends.finals.push_back(whole.size() - out.size());
            if (!(closed && status >= 400)) ends.settled = ends.finals.back();
            continue;
        }
        if (*content_length > out.size()) violated("body as long as Content-Length", whole);
        const std::string body(out.substr(0, *content_length));
        out.remove_prefix(*content_length);
        ends.finals.push_back(whole.size() - out.size());
        if (!(closed && status >= 400)) ends.settled = ends.finals.back();
        if (content_type == "application/json") {
            const auto j = nlohmann::json::parse(body, nullptr, false);
            if (j.is_discarded()) violated("JSON body parses", whole);
            if (status >= 400) {
                if (!j.contains("error") || !j["error"].is_object() || !j["error"].contains("code") ||
                    !j["error"]["code"].is_string() || !j["error"].contains("message") || !j["error"]["message"].is_string())
                    violated("error body is {\"error\":{\"code\",\"message\"}}", whole);
            }
        } else if (status >= 400) {
            violated("errors are JSON", whole);
        }
    }
    return ends;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // One fixture per delivery: the API counts the requests it answers (on /metrics), so each
    // delivery must see the same history for their answers to be comparable.
    static fixture fx, fx_pieces;
    // Small limits so that inputs of a few KiB reach the header and body limit paths.
    static const http::server_options options = [] {
        http::server_options o;
        o.max_header_bytes = 2048;
        o.max_body_bytes = 1024;
        return o;
    }();
    const std::string_view raw(reinterpret_cast<const char*>(data), size);

    std::size_t routed = 0;
    const http::handler counting = [&routed](const http::request& req) {
        ++routed;
        return fx.api(req);
    };
    const std::string whole = http::respond_to_raw(raw, options, counting);
    const std::size_t routed_whole = routed;
    const auto finals = check_output(whole);
    // Requests refused before the handler (a bad target) get a response too, so ">=".
    if (finals.finals.size() < routed_whole) violated("every routed request gets a response", whole);

    // The same bytes as TCP might deliver them, in small pieces.
    const std::size_t piece = 1 + size % 7;
    routed = 0;
    const http::handler counting_pieces = [&routed](const http::request& req) {
        ++routed;
        return fx_pieces.api(req);
    };
    const std::string pieces = http::respond_to_raw(raw, options, counting_pieces, piece);
    const std::size_t routed_pieces = routed;
    const auto piece_finals = check_output(pieces);
    const std::string both = whole + "\n--- in pieces ---\n" + pieces;
    if (routed_pieces != routed_whole) violated("the same requests routed in pieces", both);
    if (piece_finals.settled != finals.settled || pieces.compare(0, finals.settled, whole, 0, finals.settled) != 0)
        violated("the same responses in pieces, but for a closing error", both);
    return 0;
}
