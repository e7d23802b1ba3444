#pragma once
/// The config file (config/turbotwin.json) and the sensor catalogue (config/sensors.json).
#include <cstdint>
#include <string>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/core/sensor_catalogue.hpp"

namespace turbotwin::codec {

/// Durable state under data_dir (docs/durability.md).
struct durability_config {
    bool enabled = true;                   ///< journal + SQLite store; false: state lives in memory only
    bool fsync = false;                    ///< fdatasync the journal per message, SQLite synchronous=FULL (power loss)
    unsigned commit_interval_ms = 200;     ///< store commit period (upper bound on its lag)
    std::size_t commit_records = 20000;    ///< commit sooner once this many records wait
    std::uint64_t journal_segment_bytes = 64ull * 1024 * 1024;  ///< journal rotation size
    bool rul_history = true;               ///< keep every processed cycle's RUL in the store
};

struct serve_config {
    std::string broker_url = "tcp://127.0.0.1:1883";
    std::string client_id = "turbotwin-serve";  ///< fixed, so the broker can resume the session
    /// false: the broker keeps serve's subscription and queues QoS 1 telemetry while it is down.
    bool clean_session = false;
    std::size_t max_payload_bytes = 64 * 1024;
    std::string http_listen = "127.0.0.1:8080";
    std::size_t http_max_body_bytes = 1024 * 1024;
    std::string data_dir;            ///< absolute after loading
    std::string model_path;          ///< absolute after loading
    std::string catalogue_path;      ///< absolute after loading
    alerting::thresholds alerts;
    unsigned workers = 2;
    std::string log_level = "info";
    durability_config durability;
};

/// Loads a config file; relative paths inside it are resolved against its folder.
/// Unknown keys are ignored; wrong types fail with the key's name.
Result<serve_config> load_config(const std::string& path);

Result<sensor_catalogue> load_catalogue(const std::string& path);

/// Splits "HOST:PORT" ("[::1]:8080" for IPv6).
Result<std::pair<std::string, unsigned short>> parse_host_port(const std::string& s);

}  // namespace turbotwin::codec
