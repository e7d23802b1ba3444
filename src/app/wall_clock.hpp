#pragma once
// The server's wall clock as stored and shown (alerts, acks, events, audit rows): one definition
// for every file of the module.
#include <chrono>
#include <cstdint>

namespace turbotwin::app {

/// Milliseconds since the Unix epoch, now.
inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace turbotwin::app
