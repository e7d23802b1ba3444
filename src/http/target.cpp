#include "turbotwin/http/target.hpp"

#include <cstddef>

namespace turbotwin::http {
namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7f; }

/// True for "." and "..", the segments that change meaning once something resolves the path.
/// Backslash counts as a separator too: the server itself never resolves paths, but a handler
/// might hand a segment to something that does.
bool has_dot_segment(std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find_first_of("/\\", start);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view segment = path.substr(start, end - start);
        if (segment == "." || segment == "..") return true;
        start = end + 1;
    }
    return false;
}

}  // namespace

Result<std::string> percent_decode(std::string_view in, bool plus_is_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return {errc::parse_error, "invalid percent-encoding"};
            const int hi = hex_value(in[i + 1]);
            const int lo = hex_value(in[i + 2]);
            if (hi < 0 || lo < 0) return {errc::parse_error, "invalid percent-encoding"};
            const char decoded = static_cast<char>(hi * 16 + lo);
            if (decoded == '\0') return {errc::parse_error, "NUL byte in request target"};
            out.push_back(decoded);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else if (c == '\0') {
            return {errc::parse_error, "NUL byte in request target"};
        } else {
            out.push_back(c);
        }
    }
    return out;
}

Result<parsed_target> parse_target(std::string_view target) {
    // A fragment is never meant for the server; drop it rather than decode it into the path.
    if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);

    // Absolute-form is what clients send to proxies; RFC 9112 3.2.2 says servers must accept
    // it, so strip the scheme and authority and carry on with the path.
    for (std::string_view scheme : {"http://", "https://"}) {
        if (target.size() >= scheme.size()) {
            bool match = true;
            for (std::size_t i = 0; i < scheme.size(); ++i) {
                char c = target[i];
                if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
                if (c != scheme[i]) {
                    match = false;
                    break;
                }
            }
            if (match) {
                target.remove_prefix(scheme.size());
                const auto slash = target.find_first_of("/?");
                target = slash == std::string_view::npos ? std::string_view{} : target.substr(slash);
                // "http://host" and "http://host?x" have an empty path, which means "/".
                if (target.empty() || target.front() == '?') {
                    std::string rooted(1, '/');
                    rooted.append(target);
                    return parse_target(rooted);
                }
                break;
            }
        }
    }

    if (target.empty() || target.front() != '/') {
        return {errc::parse_error, "request target must start with '/'"};
    }

    const auto question = target.find('?');
    const std::string_view raw_path = target.substr(0, question);
    const std::string_view raw_query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

    parsed_target out;
    // '+' is literal in a path (RFC 3986); only form-encoded queries use it for a space.
    auto path = percent_decode(raw_path, false);
    if (!path) return {path.error(), path.detail()};
    out.path = std::move(path.value());
    for (const char c : out.path) {
        if (is_control(static_cast<unsigned char>(c))) {
            return {errc::parse_error, "control character in path"};
        }
    }
    if (has_dot_segment(out.path)) return {errc::parse_error, "dot segment in path"};

    std::size_t start = 0;
    while (start < raw_query.size()) {
        std::size_t end = raw_query.find('&', start);
        if (end == std::string_view::npos) end = raw_query.size();
        const std::string_view pair = raw_query.substr(start, end - start);
        start = end + 1;
        if (pair.empty()) continue;  // "a=1&&b=2" or a trailing '&'
        const auto eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq), true);
        if (!key) return {key.error(), key.detail()};
        std::string value;
        if (eq != std::string_view::npos) {
            auto decoded = percent_decode(pair.substr(eq + 1), true);
            if (!decoded) return {decoded.error(), decoded.detail()};
            value = std::move(decoded.value());
        }
        out.query.emplace_back(std::move(key.value()), std::move(value));
    }
    return out;
}

}  // namespace turbotwin::http
