#include "turbotwin/core/result.hpp"

namespace turbotwin {

const char* reason_label(errc e) noexcept {
    switch (e) {
        case errc::ok: return "ok";
        case errc::malformed_json: return "malformed_json";
        case errc::not_an_object: return "not_an_object";
        case errc::missing_cycle: return "missing_cycle";
        case errc::bad_cycle: return "bad_cycle";
        case errc::wrong_type: return "wrong_type";
        case errc::no_valid_sensors: return "no_valid_sensors";
        case errc::payload_too_large: return "payload_too_large";
        case errc::too_deep: return "too_deep";
        case errc::bad_asset_id: return "bad_asset_id";
        case errc::duplicate_cycle: return "duplicate_cycle";
        case errc::out_of_order_cycle: return "out_of_order_cycle";
        case errc::bad_number: return "bad_number";
        case errc::numerical_fault: return "numerical_fault";
        case errc::io_error: return "io_error";
        case errc::parse_error: return "parse_error";
        case errc::unknown_asset: return "unknown_asset";
        case errc::invalid_argument: return "invalid_argument";
        case errc::not_found: return "not_found";
        case errc::conflict: return "conflict";
        case errc::unavailable: return "unavailable";
        case errc::asset_closed: return "asset_closed";
    }
    return "unknown";
}

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "turbotwin"; }
    std::string message(int v) const override { return reason_label(static_cast<errc>(v)); }
};
}  // namespace

const std::error_category& turbotwin_category() noexcept {
    static const category instance;
    return instance;
}

}  // namespace turbotwin
