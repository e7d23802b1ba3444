#include <nlohmann/json.hpp>

#include "turbotwin/http/server.hpp"

namespace turbotwin::http {
namespace {

std::optional<std::string> find_first(const std::vector<std::pair<std::string, std::string>>& pairs,
                                      std::string_view name) {
    for (const auto& [key, value] : pairs) {
        if (key == name) return value;
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> request::query_param(std::string_view name) const { return find_first(query, name); }

std::optional<std::string> request::header(std::string_view lower_name) const { return find_first(headers, lower_name); }

response json_error(unsigned status, std::string_view code, std::string_view message) {
    const nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
    response r;
    r.status = status;
    // Messages may quote client input; replace invalid UTF-8 instead of letting dump() throw.
    r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return r;
}

}  // namespace turbotwin::http
