#include "turbotwin/codec/config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <fstream>
#include <nlohmann/json.hpp>

namespace turbotwin::codec {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
Result<json> read_json(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {errc::io_error, "cannot open " + path};
    try {
        return json::parse(in, nullptr, true, /*ignore_comments=*/true);
    } catch (const json::exception& e) {
        return {errc::parse_error, path + ": " + e.what()};
    }
}

// A whole number in [lo, hi]; nlohmann's value<unsigned>() would wrap -1 to a huge limit.
struct bad_count : std::runtime_error {
    bad_count(std::string what, errc code) : std::runtime_error(std::move(what)), code(code) {}
    errc code;
};
template <class T>
T count_value(const json& obj, const char* name, T fallback, double lo, double hi) {
    if (!obj.contains(name)) return fallback;
    const json& v = obj.at(name);
    if (!v.is_number()) throw bad_count("not a number", errc::parse_error);
    const double d = v.get<double>();
    if (d != std::floor(d) || d < lo || d > hi)
        throw bad_count("must be a whole number in " + std::to_string((long long)lo) + ".." + std::to_string((long long)hi), errc::invalid_argument);
    return static_cast<T>(d);
}

std::string resolve(const fs::path& base, const std::string& p) {
    if (p.empty()) return p;
    fs::path path(p);
    return (path.is_absolute() ? path : (base / path)).lexically_normal().string();
}
}  // namespace

Result<serve_config> load_config(const std::string& path) {
    auto doc = read_json(path);
    if (!doc) return {doc.error(), doc.detail()};
    const json& j = *doc;
    const fs::path base = fs::absolute(fs::path(path)).parent_path();
    serve_config c;
    std::string key;
    try {
        key = "broker"; c.broker_url = j.value(key, c.broker_url);
        if (j.contains("mqtt")) {
            const auto& m = j.at("mqtt");
            key = "mqtt.client_id"; c.client_id = m.value("client_id", c.client_id);
            key = "mqtt.clean_session"; c.clean_session = m.value("clean_session", c.clean_session);
            key = "mqtt.max_payload_bytes"; c.max_payload_bytes = count_value(m, "max_payload_bytes", c.max_payload_bytes, 64, 256.0 * 1024 * 1024);
            key = "mqtt.username"; c.mqtt_username = m.value("username", c.mqtt_username);
            key = "mqtt.password"; c.mqtt_password = m.value("password", c.mqtt_password);
            key = "mqtt.password_file";
            if (const auto file = resolve(base, m.value("password_file", std::string())); !file.empty()) {
                if (!c.mqtt_password.empty())
                    return {errc::invalid_argument, path + ": set mqtt.password or mqtt.password_file, not both"};
                auto pw = read_password_file(file);
                if (!pw) return {pw.error(), path + ": mqtt.password_file: " + pw.detail()};
                c.mqtt_password = std::move(*pw);
            }
            if (m.contains("tls")) {
                key = "mqtt.tls";
                const auto& t = m.at("tls");
                if (!t.is_object()) return {errc::parse_error, path + ": bad value for 'mqtt.tls': must be an object"};
                auto& o = c.mqtt_tls;
                key = "mqtt.tls.ca_file"; o.ca_file = resolve(base, t.value("ca_file", o.ca_file));
                key = "mqtt.tls.cert_file"; o.cert_file = resolve(base, t.value("cert_file", o.cert_file));
                key = "mqtt.tls.key_file"; o.key_file = resolve(base, t.value("key_file", o.key_file));
                key = "mqtt.tls.key_password"; o.key_password = t.value("key_password", o.key_password);
                key = "mqtt.tls.verify_server"; o.verify_server = t.value("verify_server", o.verify_server);
            }
        }
        if (j.contains("http")) {
            const auto& h = j.at("http");
            key = "http.listen"; c.http_listen = h.value("listen", c.http_listen);
            key = "http.max_body_bytes"; c.http_max_body_bytes = count_value(h, "max_body_bytes", c.http_max_body_bytes, 0, 1024.0 * 1024 * 1024);
            key = "http.require_auth_for_reads"; c.http_require_auth_for_reads = h.value("require_auth_for_reads", false);
            if (h.contains("tokens")) {
                key = "http.tokens";
                const auto& list = h.at("tokens");
                if (!list.is_array()) return {errc::parse_error, path + ": http.tokens must be an array"};
                for (std::size_t i = 0; i < list.size(); ++i) {
                    key = "http.tokens[" + std::to_string(i) + "]";
                    const auto& t = list.at(i);
                    api_token_config tc{t.value("name", ""), t.at("role").get<std::string>(), t.at("sha256").get<std::string>()};
                    if (tc.role != "viewer" && tc.role != "operator")
                        return {errc::invalid_argument, path + ": " + key + ".role must be viewer or operator"};
                    if (tc.sha256.size() != 64 || tc.sha256.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                        return {errc::invalid_argument, path + ": " + key + ".sha256 must be 64 hex digits (the token's SHA-256, never the token)"};
                    if (tc.name.empty()) tc.name = tc.role + "-" + tc.sha256.substr(0, 8);
                    c.api_tokens.push_back(std::move(tc));
                }
            }
        }
        key = "data_dir"; c.data_dir = resolve(base, j.value(key, std::string("../data")));
        key = "model"; c.model_path = resolve(base, j.value(key, std::string("../models/fd001.json")));
        key = "sensor_catalogue"; c.catalogue_path = resolve(base, j.value(key, std::string("sensors.json")));
        if (j.contains("alerts")) {
            const auto& a = j.at("alerts");
            key = "alerts.warning_rul"; c.alerts.warning_rul = a.value("warning_rul", c.alerts.warning_rul);
            key = "alerts.critical_rul"; c.alerts.critical_rul = a.value("critical_rul", c.alerts.critical_rul);
            key = "alerts.clear_margin"; c.alerts.clear_margin = a.value("clear_margin", c.alerts.clear_margin);
            key = "alerts.probability"; c.alerts.probability = a.value("probability", c.alerts.probability);
        }
        if (j.contains("durability")) {
            const auto& d = j.at("durability");
            auto& o = c.durability;
            key = "durability.enabled"; o.enabled = d.value("enabled", o.enabled);
            key = "durability.fsync"; o.fsync = d.value("fsync", o.fsync);
            key = "durability.commit_interval_ms"; o.commit_interval_ms = count_value(d, "commit_interval_ms", o.commit_interval_ms, 1, 60000);
            key = "durability.commit_records"; o.commit_records = count_value(d, "commit_records", o.commit_records, 1, 10000000);
            key = "durability.journal_segment_bytes";
            o.journal_segment_bytes = count_value(d, "journal_segment_bytes", o.journal_segment_bytes, 4096, 64.0 * 1024 * 1024 * 1024);
            key = "durability.rul_history"; o.rul_history = d.value("rul_history", o.rul_history);
            key = "durability.readings"; o.readings = d.value("readings", o.readings);
        }
        key = "workers"; c.workers = count_value(j, "workers", c.workers, 1, 64);
        key = "log_level"; c.log_level = j.value(key, c.log_level);
        key = "log_format"; c.log_format = j.value(key, c.log_format);
    } catch (const json::exception& e) {
        return {errc::parse_error, path + ": bad value for '" + key + "': " + e.what()};
    } catch (const bad_count& e) {
        return {e.code, path + ": bad value for '" + key + "': " + e.what()};
    }
    if (c.alerts.critical_rul > c.alerts.warning_rul)
        return {errc::invalid_argument, path + ": alerts.critical_rul must not exceed alerts.warning_rul"};
    if (c.alerts.clear_margin < 0) return {errc::invalid_argument, path + ": alerts.clear_margin must be >= 0"};
    if (!(c.alerts.probability > 0 && c.alerts.probability < 1))
        return {errc::invalid_argument, path + ": alerts.probability must be in (0, 1)"};
    if (c.log_format != "text" && c.log_format != "json") return {errc::invalid_argument, path + ": log_format must be text or json"};
    if (c.workers < 1 || c.workers > 64) return {errc::invalid_argument, path + ": workers must be in 1..64"};
    return c;
}

void apply_mqtt_environment(serve_config& c, const env_lookup& getenv) {
    auto set = [&](const char* name, std::string& field) {
        if (const char* v = getenv(name); v && *v) field = v;
    };
    set("TURBOTWIN_BROKER", c.broker_url);
    set("TURBOTWIN_MQTT_USERNAME", c.mqtt_username);
    set("TURBOTWIN_MQTT_PASSWORD", c.mqtt_password);
}

void apply_mqtt_environment(serve_config& c) {
    apply_mqtt_environment(c, [](const char* name) { return std::getenv(name); });
}

Result<std::string> read_password_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {errc::io_error, "cannot read " + path + ": " + std::strerror(errno)};
    std::string line;
    std::getline(in, line);
    if (in.bad()) return {errc::io_error, "read error in " + path};
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) return {errc::invalid_argument, path + " is empty (expected the password on its first line)"};
    return line;
}

Result<sensor_catalogue> load_catalogue(const std::string& path) {
    auto doc = read_json(path);
    if (!doc) return {doc.error(), doc.detail()};
    sensor_catalogue cat;
    try {
        auto fill = [&](const json& group, auto& specs, const auto& names, const char* what) -> Result<bool> {
            for (std::size_t i = 0; i < names.size(); ++i) {
                const std::string name(names[i]);
                if (!group.contains(name)) return {errc::parse_error, path + ": " + what + " '" + name + "' missing"};
                const auto& s = group.at(name);
                specs[i].unit = s.value("unit", "");
                specs[i].description = s.value("description", "");
                specs[i].min = s.at("min").template get<double>();
                specs[i].max = s.at("max").template get<double>();
                if (!(specs[i].min < specs[i].max)) return {errc::parse_error, path + ": " + name + " has min >= max"};
            }
            return true;
        };
        if (auto r = fill(doc->at("sensors"), cat.sensors, sensor_names, "sensor"); !r) return {r.error(), r.detail()};
        if (auto r = fill(doc->at("settings"), cat.settings, setting_names, "setting"); !r) return {r.error(), r.detail()};
    } catch (const json::exception& e) {
        return {errc::parse_error, path + ": " + e.what()};
    }
    return cat;
}

Result<std::pair<std::string, unsigned short>> parse_host_port(const std::string& s) {
    auto colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
        return {errc::invalid_argument, "expected HOST:PORT, got '" + s + "'"};
    std::string host = s.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port_text = s.substr(colon + 1);
    unsigned long port = 0;
    for (char ch : port_text) {
        if (ch < '0' || ch > '9') return {errc::invalid_argument, "bad port in '" + s + "'"};
        port = port * 10 + unsigned(ch - '0');
        if (port > 65535) return {errc::invalid_argument, "port out of range in '" + s + "'"};
    }
    return std::pair{host, static_cast<unsigned short>(port)};
}

}  // namespace turbotwin::codec
