#pragma once
/// Request-target parsing and validation, kept apart from the socket code so it can be tested
/// (and fuzzed) on its own.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "turbotwin/core/result.hpp"

namespace turbotwin::http {

/// A request target split into a decoded path and decoded query parameters.
struct parsed_target {
    std::string path;                                        ///< percent-decoded, starts with '/'
    std::vector<std::pair<std::string, std::string>> query;  ///< percent-decoded, in order
};

/// Decodes %XX escapes; with `plus_is_space` (query strings) '+' becomes ' '. Fails with
/// errc::parse_error on a truncated or non-hex escape and on a decoded NUL byte, because a
/// NUL cuts strings short in C APIs further down and never has a legitimate use here.
Result<std::string> percent_decode(std::string_view in, bool plus_is_space);

/// Parses an origin-form ("/a/b?x=1") or absolute-form ("http://host/a/b?x=1") target.
/// Rejects (errc::parse_error, with a client-safe detail) anything else, invalid escapes,
/// NUL bytes, control characters and any "." or ".." path segment after decoding, so that
/// no handler ever has to think about path traversal. A fragment, if a client sends one, is
/// dropped.
Result<parsed_target> parse_target(std::string_view target);

}  // namespace turbotwin::http
