#include "turbotwin/app/access.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace turbotwin::app {

const char* to_string(role r) noexcept { return r == role::operator_ ? "operator" : "viewer"; }

std::optional<role> parse_role(std::string_view s) noexcept {
    if (s == "viewer") return role::viewer;
    if (s == "operator") return role::operator_;
    return std::nullopt;
}

sha256_digest sha256(std::string_view data) {
    sha256_digest d{};
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
    return d;
}

std::string to_hex(const sha256_digest& d) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (unsigned char c : d) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

std::optional<sha256_digest> digest_from_hex(std::string_view hex) {
    if (hex.size() != 64) return std::nullopt;
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    sha256_digest d{};
    for (std::size_t i = 0; i < 32; ++i) {
        const int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        d[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    return d;
}

Result<std::vector<api_token>> parse_token_list(std::string_view text) {
    std::vector<api_token> out;
    std::size_t index = 0;
    while (!text.empty()) {
        const auto comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        ++index;
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.empty()) continue;
        // Messages name the entry by position only: the token must not reach a log.
        const auto colon = item.find(':');
        const std::string where = "API token #" + std::to_string(index);
        if (colon == std::string_view::npos) return {errc::invalid_argument, where + ": expected role:token"};
        const auto r = parse_role(item.substr(0, colon));
        if (!r) return {errc::invalid_argument, where + ": role must be viewer or operator"};
        const auto token = item.substr(colon + 1);
        if (token.size() < 16) return {errc::invalid_argument, where + ": token shorter than 16 characters"};
        api_token t;
        t.grants = *r;
        t.hash = sha256(token);
        t.name = std::string(to_string(*r)) + "-" + to_hex(t.hash).substr(0, 8);
        out.push_back(std::move(t));
    }
    return out;
}

std::optional<principal> access_policy::identify(const http::request& req) const {
    const auto header = req.header("authorization");
    if (!header) return std::nullopt;
    constexpr std::string_view scheme = "bearer ";
    if (header->size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (char c = (*header)[i]; (c >= 'A' && c <= 'Z' ? char(c + 32) : c) != scheme[i]) return std::nullopt;
    const auto presented = sha256(std::string_view(*header).substr(scheme.size()));
    // Every known hash is compared, whatever matched before, in constant time each.
    const api_token* match = nullptr;
    for (const auto& t : tokens_)
        if (CRYPTO_memcmp(t.hash.data(), presented.data(), presented.size()) == 0 && !match) match = &t;
    if (!match) return std::nullopt;
    return principal{match->name, match->grants};
}

std::optional<http::response> access_policy::require(const http::request& req, role needed) const {
    const auto who = identify(req);
    if (!who) {
        const bool presented = req.header("authorization").has_value();
        auto r = http::json_error(401, "unauthorized",
                                  tokens_.empty()  ? "this server has no API tokens configured (see docs/security.md)"
                                  : presented      ? "the bearer token is not valid"
                                                   : "a bearer token is required (Authorization: Bearer <token>)");
        r.headers.emplace_back("WWW-Authenticate", presented ? R"(Bearer realm="turbotwin", error="invalid_token")" : R"(Bearer realm="turbotwin")");
        return r;
    }
    if (static_cast<int>(who->grants) < static_cast<int>(needed))
        return http::json_error(403, "forbidden", std::string("this needs the ") + to_string(needed) + " role; the token has " + to_string(who->grants));
    return std::nullopt;
}

}  // namespace turbotwin::app
