#pragma once
/// Small error handling vocabulary shared by every module: a documented error enum and a
/// Result<T> over std::error_code (std::expected needs C++23).
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace turbotwin {

/// Why a piece of input or a domain operation was rejected. Each value is also a metrics
/// label (see reason_label), so keep them stable.
enum class errc {
    ok = 0,
    malformed_json = 1,        ///< payload is not valid JSON (or not valid UTF-8)
    not_an_object,             ///< top level JSON value is not an object
    missing_cycle,             ///< no "cycle" field
    bad_cycle,                 ///< "cycle" is not an integer in 1..max_cycle
    wrong_type,                ///< a field has the wrong JSON type
    no_valid_sensors,          ///< no sensor in the message survived validation
    payload_too_large,         ///< payload exceeds the configured size limit
    too_deep,                  ///< JSON nesting deeper than allowed
    bad_asset_id,              ///< asset id in the topic is empty, too long or has bad characters
    duplicate_cycle,           ///< cycle already applied for this asset (redelivery)
    out_of_order_cycle,        ///< cycle older than the asset's last applied cycle
    bad_number,                ///< a number is not finite or does not fit a double
    numerical_fault,           ///< the estimator produced a non-finite or non-PD state
    io_error,                  ///< a file could not be read or written
    parse_error,               ///< a text line could not be parsed
    unknown_asset,             ///< the asset is not tracked
    invalid_argument,          ///< an argument is out of its documented range
    not_found,                 ///< the thing asked for does not exist
    conflict,                  ///< the request contradicts the current state (e.g. ack a cleared alert)
    unavailable,               ///< the service cannot answer now (busy, shutting down)
    asset_closed,              ///< telemetry for an engine recorded as failed or removed
};

/// Stable snake_case label of an error, used in metrics and error messages.
const char* reason_label(errc e) noexcept;

const std::error_category& turbotwin_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), turbotwin_category()}; }

/// Either a value or an error code with an optional human readable detail.
template <class T>
class Result {
public:
    Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit on purpose, like expected
    Result(errc e, std::string detail = {}) : state_(failure{e, std::move(detail)}) {}

    bool ok() const noexcept { return std::holds_alternative<T>(state_); }
    explicit operator bool() const noexcept { return ok(); }
    T& value() & { return std::get<T>(state_); }
    const T& value() const& { return std::get<T>(state_); }
    T&& value() && { return std::get<T>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    errc error() const noexcept { return ok() ? errc::ok : std::get<failure>(state_).code; }
    const std::string& detail() const {
        static const std::string none;
        return ok() ? none : std::get<failure>(state_).detail;
    }
    /// "reason: detail" for messages.
    std::string message() const {
        std::string m = reason_label(error());
        if (!detail().empty()) m += ": " + detail();
        return m;
    }

private:
    struct failure {
        errc code;
        std::string detail;
    };
    std::variant<T, failure> state_;
};

}  // namespace turbotwin

template <>
struct std::is_error_code_enum<turbotwin::errc> : std::true_type {};
