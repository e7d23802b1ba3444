// libFuzzer target for the telemetry wire format: codec::decode_telemetry on the input as a
// payload, asset_from_telemetry_topic on it as a topic and as an asset id, and two round-trip
// properties. Every property violation aborts, so libFuzzer reports it as a crash.
//
//  1. Whatever decodes is a valid reading (cycle in range, finite values) and re-encodes to a
//     payload that decodes to the same reading, bit for bit (the replay guarantee).
//  2. The input bytes read as a raw reading (cycle + 24 doubles, any bit pattern) survive
//     encode -> decode bit for bit, non-finite values becoming missing.
//  3. A topic is accepted exactly when its id level is a valid asset id, and the id comes back
//     unchanged.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "turbotwin/codec/telemetry.hpp"

namespace {

using namespace turbotwin;

[[noreturn]] void violated(const char* property, std::string_view detail) {
    std::fprintf(stderr, "property violated: %s\n%.*s\n", property, int(std::min<std::size_t>(detail.size(), 2000)), detail.data());
    std::abort();
}

bool same_value(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Bit-exact equality; every NaN means "missing", so NaNs compare equal to each other.
bool same_reading(const reading& a, const reading& b) {
    if (a.cycle != b.cycle || a.ts_ms != b.ts_ms) return false;
    for (std::size_t i = 0; i < setting_count; ++i)
        if (!same_value(a.settings[i], b.settings[i])) return false;
    for (std::size_t i = 0; i < sensor_count; ++i)
        if (!same_value(a.sensors[i], b.sensors[i])) return false;
    return true;
}

void check_valid(const reading& r, std::string_view input) {
    if (r.cycle < 1 || r.cycle > max_cycle) violated("decoded cycle in 1..max_cycle", input);
    if (r.ts_ms && (*r.ts_ms < 0 || *r.ts_ms > (std::int64_t(1) << 53))) violated("decoded ts in 0..2^53", input);
    for (double v : r.settings)
        if (std::isinf(v)) violated("decoded settings finite or missing", input);
    for (double v : r.sensors)
        if (std::isinf(v)) violated("decoded sensors finite or missing", input);
}

void check_round_trip(const reading& original, std::string_view input) {
    const std::string encoded = codec::encode_telemetry(original);
    auto again = codec::decode_telemetry(encoded);
    if (!again) violated("encoded reading decodes", encoded + "\n" + again.message() + "\ninput: " + std::string(input));
    if (!same_reading(original, again->data)) violated("encode/decode round trip is bit-exact", encoded);
    if (again->bad_sensors != 0 || again->ignored_fields != 0) violated("encoded reading has no ignored fields", encoded);
    if (codec::encode_telemetry(again->data) != encoded) violated("re-encoding is stable", encoded);
}

/// Property 2: the bytes as a reading. Non-finite values cannot travel in JSON, so the
/// expectation is the same reading with them missing.
void check_raw_reading(const std::uint8_t* data, std::size_t size) {
    constexpr std::size_t values = setting_count + sensor_count;
    if (size < sizeof(std::uint32_t) + values * sizeof(double)) return;
    reading r;
    std::uint32_t cycle_bits = 0;
    std::memcpy(&cycle_bits, data, sizeof cycle_bits);
    r.cycle = 1 + std::int64_t(cycle_bits % std::uint32_t(max_cycle));
    const std::uint8_t* p = data + sizeof cycle_bits;
    for (std::size_t i = 0; i < values; ++i, p += sizeof(double)) {
        double v = 0;
        std::memcpy(&v, p, sizeof v);
        if (!std::isfinite(v)) v = missing;
        (i < setting_count ? r.settings[i] : r.sensors[i - setting_count]) = v;
    }
    check_round_trip(r, "(raw reading)");
}

void check_topic(std::string_view input) {
    // As a whole topic: whatever is accepted must be a valid id that rebuilds the topic.
    if (auto asset = codec::asset_from_telemetry_topic(input)) {
        if (!valid_asset_id(*asset)) violated("accepted topic has a valid asset id", input);
        if (codec::telemetry_topic(*asset) != input) violated("accepted topic rebuilds from its id", input);
    }
    // As the id level of a well-formed topic: accepted exactly when the id is valid.
    const auto by_topic = codec::asset_from_telemetry_topic(codec::telemetry_topic(input));
    if (by_topic.ok() != valid_asset_id(input)) violated("topic accepted iff its id is valid", input);
    if (by_topic && *by_topic != input) violated("id comes back unchanged", input);
    if (!by_topic && by_topic.error() != errc::bad_asset_id) violated("a bad id is reported as bad_asset_id", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    auto decoded = codec::decode_telemetry(input);
    if (decoded) {
        check_valid(decoded->data, input);
        check_round_trip(decoded->data, input);
    } else if (decoded.error() == errc::ok) {
        violated("a failure carries a reason", input);
    }
    check_raw_reading(data, size);
    check_topic(input);
    return 0;
}
