#pragma once
/// Who may call what on the REST API: bearer tokens with a role. Tokens are kept only as
/// SHA-256 hashes (the config file holds hashes; plain tokens from TURBOTWIN_API_TOKENS are
/// hashed at start-up), and a presented token is hashed and compared with every known hash in
/// constant time, so neither timing nor a leaked config file gives a token away.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/http/server.hpp"

namespace turbotwin::app {

/// Ordered: a role may do everything the roles below it may.
enum class role { viewer = 1, operator_ = 2 };
const char* to_string(role r) noexcept;
std::optional<role> parse_role(std::string_view s) noexcept;

using sha256_digest = std::array<unsigned char, 32>;
sha256_digest sha256(std::string_view data);
std::string to_hex(const sha256_digest& d);
/// Parses 64 hex digits (either case).
std::optional<sha256_digest> digest_from_hex(std::string_view hex);

struct api_token {
    std::string name;  ///< shown as who acknowledged an alert; never the token itself
    role grants = role::viewer;
    sha256_digest hash{};
};

/// Parses TURBOTWIN_API_TOKENS: "role:token,role:token". Each token is named
/// "<role>-<first 8 hex digits of its hash>". Tokens must be at least 16 characters.
Result<std::vector<api_token>> parse_token_list(std::string_view text);

/// The identity a request proved.
struct principal {
    std::string name;
    role grants = role::viewer;
};

class access_policy {
public:
    access_policy() = default;
    access_policy(std::vector<api_token> tokens, bool require_auth_for_reads)
        : tokens_(std::move(tokens)), require_auth_for_reads_(require_auth_for_reads) {}

    /// The identity of the request's "Authorization: Bearer ..." token, if it is a known one.
    std::optional<principal> identify(const http::request& req) const;

    /// nullopt when the request may go on with at least role `needed`; otherwise the 401 (no or
    /// unknown token, with WWW-Authenticate) or 403 (role too weak) to answer with.
    std::optional<http::response> require(const http::request& req, role needed) const;

    /// For reads: require(viewer) when reads need auth, else nothing.
    std::optional<http::response> require_read(const http::request& req) const {
        return require_auth_for_reads_ ? require(req, role::viewer) : std::nullopt;
    }

    bool reads_need_auth() const noexcept { return require_auth_for_reads_; }
    std::size_t token_count() const noexcept { return tokens_.size(); }

private:
    std::vector<api_token> tokens_;
    bool require_auth_for_reads_ = false;
};

}  // namespace turbotwin::app
