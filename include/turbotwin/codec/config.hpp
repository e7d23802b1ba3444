#pragma once
/// The config file (config/turbotwin.json) and the sensor catalogue (config/sensors.json).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

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
    bool readings = true;                  ///< ... with the reading itself (explain and shadow models re-run them; about 6% of serve's CPU per message)
};

/// An API token in the config file: its SHA-256 only (`printf %s TOKEN | sha256sum`).
struct api_token_config {
    std::string name;    ///< who, as shown on an acknowledged alert
    std::string role;    ///< "viewer" or "operator"
    std::string sha256;  ///< 64 hex digits
};

/// TLS to the broker: the "mqtt.tls" block (docs/security.md). Paths absolute after loading.
struct mqtt_tls_config {
    std::string ca_file;       ///< PEM CAs trusted for the broker; empty: the system's store
    std::string cert_file;     ///< PEM client certificate, if the broker requires one
    std::string key_file;      ///< its private key; empty: inside cert_file
    std::string key_password;  ///< for an encrypted key_file; never logged
    bool verify_server = true; ///< check the broker's certificate and host name
};

struct serve_config {
    std::string broker_url = "tcp://127.0.0.1:1883";  ///< "broker", or $TURBOTWIN_BROKER
    std::string mqtt_username;  ///< mqtt.username, or $TURBOTWIN_MQTT_USERNAME
    /// mqtt.password, or the first line of mqtt.password_file, or $TURBOTWIN_MQTT_PASSWORD.
    /// Never logged.
    std::string mqtt_password;
    mqtt_tls_config mqtt_tls;   ///< TLS when the broker URL is ssl:// or mqtts://, or a CA/cert file is set
    std::string client_id = "turbotwin-serve";  ///< fixed, so the broker can resume the session
    /// false: the broker keeps serve's subscription and queues QoS 1 telemetry while it is down.
    bool clean_session = false;
    std::size_t max_payload_bytes = 64 * 1024;
    std::string http_listen = "127.0.0.1:8080";
    std::size_t http_max_body_bytes = 1024 * 1024;
    /// Reads need a viewer token too (writes always need an operator token).
    bool http_require_auth_for_reads = false;
    std::vector<api_token_config> api_tokens;  ///< plus TURBOTWIN_API_TOKENS at start-up
    std::string data_dir;            ///< absolute after loading
    std::string model_path;          ///< absolute after loading
    std::string catalogue_path;      ///< absolute after loading
    alerting::thresholds alerts;
    unsigned workers = 2;
    std::string log_level = "info";
    std::string log_format = "text";  ///< "text" or "json" (one JSON object per line)
    durability_config durability;
};

/// Loads a config file; relative paths inside it are resolved against its folder.
/// Unknown keys are ignored; wrong types fail with the key's name.
Result<serve_config> load_config(const std::string& path);

/// Looks up an environment variable (std::getenv, or a fake in tests); null when unset.
using env_lookup = std::function<const char*(const char*)>;

/// Overrides the file's broker and credentials with TURBOTWIN_BROKER, TURBOTWIN_MQTT_USERNAME
/// and TURBOTWIN_MQTT_PASSWORD, each only when set and not empty. Command-line flags are
/// applied after this, so they win.
void apply_mqtt_environment(serve_config& config, const env_lookup& getenv);
void apply_mqtt_environment(serve_config& config);  ///< with the process environment

/// The first line of a password file (without its line end): mqtt.password_file, replay's
/// --password-file. Errors name the file.
Result<std::string> read_password_file(const std::string& path);

Result<sensor_catalogue> load_catalogue(const std::string& path);

/// Splits "HOST:PORT" ("[::1]:8080" for IPv6).
Result<std::pair<std::string, unsigned short>> parse_host_port(const std::string& s);

}  // namespace turbotwin::codec
