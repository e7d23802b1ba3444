#include "turbotwin/cluster/config.hpp"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "turbotwin/cluster/partitioning.hpp"

namespace turbotwin::cluster {

Result<bool> check_cluster_config(const cluster_config& c) {
    if (c.nats_urls.empty()) return {errc::invalid_argument, "nats_urls: at least one NATS URL is needed"};
    if (c.mqtt_url.empty()) return {errc::invalid_argument, "mqtt_url: the NATS cluster's MQTT listener is needed for outputs"};
    if (!valid_member_id(c.instance)) return {errc::invalid_argument, "instance: 1..64 of [A-Za-z0-9_-] (--instance ID)"};
    if (c.partitions < 1 || c.partitions > 4096) return {errc::invalid_argument, "partitions: 1..4096"};
    if (c.replicas < 1 || c.replicas > 5) return {errc::invalid_argument, "replicas: 1..5"};
    if (c.heartbeat < std::chrono::milliseconds(50)) return {errc::invalid_argument, "heartbeat_ms: at least 50"};
    if (c.lease_ttl < 3 * c.heartbeat) return {errc::invalid_argument, "lease_ttl_ms: at least three heartbeats"};
    if (c.telemetry_max_age < std::chrono::hours(1)) return {errc::invalid_argument, "telemetry_max_age_hours: at least 1"};
    return true;
}

Result<cluster_config> load_cluster_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {errc::io_error, "cannot read cluster config " + path};
    std::stringstream text;
    text << in.rdbuf();
    cluster_config c;
    try {
        const auto j = nlohmann::json::parse(text.str());
        if (!j.is_object()) return {errc::invalid_argument, path + ": not a JSON object"};
        if (j.contains("nats_urls")) c.nats_urls = j.at("nats_urls").get<std::vector<std::string>>();
        c.mqtt_url = j.value("mqtt_url", c.mqtt_url);
        c.instance = j.value("instance", c.instance);
        c.advertise_url = j.value("advertise_url", c.advertise_url);
        c.partitions = j.value("partitions", c.partitions);
        c.replicas = j.value("replicas", c.replicas);
        c.lease_ttl = std::chrono::milliseconds(j.value("lease_ttl_ms", static_cast<long>(c.lease_ttl.count())));
        c.heartbeat = std::chrono::milliseconds(j.value("heartbeat_ms", static_cast<long>(c.heartbeat.count())));
        c.telemetry_max_age = std::chrono::hours(j.value("telemetry_max_age_hours", static_cast<long>(c.telemetry_max_age.count())));
        c.stream = j.value("stream", c.stream);
        c.bucket = j.value("bucket", c.bucket);
    } catch (const nlohmann::json::exception& e) {
        return {errc::invalid_argument, path + ": " + e.what()};
    }
    return c;
}

}  // namespace turbotwin::cluster
