#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <algorithm>
#include <memory>
#include <optional>
#include <string_view>

#include "commands.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/app/server.hpp"
#include "turbotwin/cluster/config.hpp"
#include "turbotwin/cluster/node.hpp"
#include "turbotwin/codec/config.hpp"

namespace turbotwin::cli {

namespace {
std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler needs a lock-free flag");
extern "C" void on_stop_signal(int) { stop_requested.store(true); }

// %* in a pattern: the log message as the inside of a JSON string (quotes, backslashes and
// control characters escaped), so each log line is one valid JSON object.
class json_message_flag final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
        static constexpr char hex[] = "0123456789abcdef";
        for (char ch : std::string_view(msg.payload.data(), msg.payload.size())) {
            const auto c = static_cast<unsigned char>(ch);
            if (c == '"' || c == '\\') {
                dest.push_back('\\');
                dest.push_back(ch);
            } else if (c < 0x20) {
                const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                dest.append(esc, esc + sizeof esc);
            } else {
                dest.push_back(ch);
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<json_message_flag>(); }
};

void use_json_logs() {
    auto f = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    f->add_flag<json_message_flag>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":"%*"})");
    spdlog::set_formatter(std::move(f));
}
}  // namespace

void register_serve(CLI::App& app) {
    struct args {
        std::string config, broker, http, data_dir, model, shadow_model, log_level, log_format;
        std::string cluster, instance, nats;
        unsigned workers = 0;
        bool no_durability = false;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("serve", "Run the twin server: MQTT ingest, RUL, alerts, REST API and dashboard");
    cmd->add_option("--config", a->config, "config file (default: config/turbotwin.json)");
    cmd->add_option("--broker", a->broker, "MQTT broker URL, e.g. tcp://127.0.0.1:1883 or ssl://host:8883 ($TURBOTWIN_BROKER)");
    cmd->add_option("--http", a->http, "REST listen address HOST:PORT");
    cmd->add_option("--data-dir", a->data_dir, "folder for the server's data");
    cmd->add_option("--model", a->model, "model file (default: the config's)");
    cmd->add_option("--shadow-model", a->shadow_model,
                    "a candidate model to run beside the active one on the live stream: its estimates and the alerts it would raise are "
                    "stored, nothing is published; compare with GET /api/v1/models/shadow/report, promote with POST /api/v1/models/promote");
    cmd->add_option("--workers", a->workers, "worker threads")->check(CLI::Range(1, 64));
    cmd->add_option("--log-level", a->log_level, "trace, debug, info, warn, error");
    cmd->add_option("--log-format", a->log_format, "text or json (one JSON object per line, for log shippers)")->check(CLI::IsMember({"text", "json"}));
    cmd->add_option("--cluster", a->cluster,
                    "join a turbotwin cluster on NATS JetStream (config/cluster/turbotwin-cluster.json; docs/scale-out.md): "
                    "own a share of the partitions, serve the whole fleet's REST API; --broker then names nothing");
    cmd->add_option("--instance", a->instance, "with --cluster: this member's id, unique in the cluster ([A-Za-z0-9_-])");
    cmd->add_option("--nats", a->nats, "with --cluster: NATS URLs, comma-separated (overrides the cluster config's nats_urls)");
    cmd->add_flag("--no-durability", a->no_durability,
                  "keep state in memory only: no ingest journal, no SQLite store (a crash loses the fleet's state)");
    cmd->callback([a] {
        auto rt = app::load_runtime(a->config.empty() ? default_config_path() : a->config, a->model);
        if (!rt) { std::cerr << "serve: " << rt.message() << "\n"; throw CLI::RuntimeError(2); }
        auto& c = rt->config;
        codec::apply_mqtt_environment(c);  // TURBOTWIN_BROKER, _MQTT_USERNAME, _MQTT_PASSWORD; flags win
        if (!a->broker.empty()) c.broker_url = a->broker;
        if (!a->http.empty()) c.http_listen = a->http;
        if (!a->data_dir.empty()) c.data_dir = a->data_dir;
        if (a->workers) c.workers = a->workers;
        if (!a->log_level.empty()) c.log_level = a->log_level;
        if (a->no_durability) c.durability.enabled = false;
        if (!a->log_format.empty()) c.log_format = a->log_format;
        std::optional<cluster::cluster_config> cluster_mode;
        if (!a->cluster.empty()) {
            if (!cluster::available()) {
                std::cerr << "serve: --cluster: this turbotwin was built without the NATS client (libnats-dev): install it and rebuild\n";
                throw CLI::RuntimeError(2);
            }
            auto cc = cluster::load_cluster_config(a->cluster);
            if (!cc) { std::cerr << "serve: " << cc.message() << "\n"; throw CLI::RuntimeError(2); }
            if (!a->instance.empty()) cc->instance = a->instance;
            if (!a->nats.empty()) {
                cc->nats_urls.clear();
                for (std::size_t from = 0; from <= a->nats.size();) {
                    const auto comma = std::min(a->nats.find(',', from), a->nats.size());
                    if (comma > from) cc->nats_urls.push_back(a->nats.substr(from, comma - from));
                    from = comma + 1;
                }
            }
            if (!a->broker.empty()) cc->mqtt_url = a->broker;
            if (auto ok = cluster::check_cluster_config(*cc); !ok) {
                std::cerr << "serve: " << a->cluster << ": " << ok.message() << "\n";
                throw CLI::RuntimeError(2);
            }
            // The replicated telemetry stream is the journal; twins are rebuilt from it on takeover.
            c.durability.enabled = false;
            cluster_mode = std::move(*cc);
        } else if (!a->instance.empty() || !a->nats.empty()) {
            std::cerr << "serve: --instance and --nats need --cluster\n";
            throw CLI::RuntimeError(2);
        }
        spdlog::set_level(spdlog::level::from_str(c.log_level));
        if (c.log_format == "json") use_json_logs();
        // A promotion made in this data dir outlives a restart (the promoted model stays active).
        auto roles = c.durability.enabled ? app::resume_model_roles(*rt, c.data_dir, a->shadow_model)
                                          : (a->shadow_model.empty() ? Result<bool>(true) : app::load_shadow(*rt, a->shadow_model));
        if (!roles) { std::cerr << "serve: " << roles.message() << "\n"; throw CLI::RuntimeError(2); }
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, nullptr);
        sigaction(SIGTERM, &sa, nullptr);
        std::signal(SIGPIPE, SIG_IGN);
        spdlog::info("turbotwin {} serving model '{}' ({} trees), broker {}", TURBOTWIN_VERSION, rt->twin.model->name,
                     rt->twin.model->trees.trees.size(), c.broker_url);
        auto done = app::run_server(*rt, stop_requested, cluster_mode ? &*cluster_mode : nullptr);
        if (!done) { spdlog::error("{}", done.message()); throw CLI::RuntimeError(1); }
    });
}

}  // namespace turbotwin::cli
