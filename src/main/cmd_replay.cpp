// `turbotwin replay`: argument parsing and Ctrl-C only; the work is turbotwin::replay::run_replay.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/mqtt/client.hpp"
#include "turbotwin/replay/replay.hpp"

namespace turbotwin::cli {

namespace {

std::atomic<bool> replay_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

// First Ctrl-C: stop cleanly (exit 130). A second one gets the default action, so an impatient
// user is never stuck behind the drain.
extern "C" void on_replay_sigint(int) {
    replay_interrupted.store(true);
    std::signal(SIGINT, SIG_DFL);
}

struct replay_args {
    std::vector<std::string> files;
    std::string broker;
    std::string speed = "max";
    std::string prefix = "ENG-";
    bool interleave = false;
    int qos = 1;
    std::size_t window = 256;
    double resume_delay_s = 2.0;
    bool quiet = false;
    // Connection security (docs/security.md). Secrets come from the environment or files,
    // never from the command line, where `ps` would show them.
    std::string config;
    std::string username;
    std::string password_env;
    std::string password_file;
    std::string ca_file, cert_file, key_file;
    std::string key_password_env;
    bool insecure = false;
};

[[noreturn]] void replay_usage_error(const std::string& message) {
    std::cerr << "turbotwin replay: " << message << '\n';
    throw CLI::RuntimeError(replay::exit_usage);
}

std::string from_env(const std::string& flag, const std::string& name) {
    const char* v = std::getenv(name.c_str());
    if (!v || !*v) replay_usage_error(flag + " " + name + ": that environment variable is not set");
    return v;
}

// Broker URL, credentials and TLS: the --config file's (as serve reads them), then
// TURBOTWIN_BROKER / TURBOTWIN_MQTT_USERNAME / TURBOTWIN_MQTT_PASSWORD, then the flags.
void connection_options(const replay_args& a, replay::replay_options& o) {
    auto loaded = client_connection_config(a.config);
    if (!loaded) replay_usage_error(loaded.detail());
    codec::serve_config c = std::move(*loaded);
    if (!a.broker.empty()) c.broker_url = a.broker;
    if (!a.username.empty()) c.mqtt_username = a.username;
    if (!a.password_env.empty()) c.mqtt_password = from_env("--password-env", a.password_env);
    if (!a.password_file.empty()) {
        auto pw = codec::read_password_file(a.password_file);
        if (!pw) replay_usage_error("--password-file: " + pw.detail());
        c.mqtt_password = std::move(*pw);
    }
    if (!a.ca_file.empty()) c.mqtt_tls.ca_file = a.ca_file;
    if (!a.cert_file.empty()) c.mqtt_tls.cert_file = a.cert_file;
    if (!a.key_file.empty()) c.mqtt_tls.key_file = a.key_file;
    if (!a.key_password_env.empty()) c.mqtt_tls.key_password = from_env("--key-password-env", a.key_password_env);
    if (a.insecure) c.mqtt_tls.verify_server = false;
    if (c.broker_url.empty())
        replay_usage_error("--broker URL is required (or $TURBOTWIN_BROKER, or --config FILE), e.g. --broker tcp://127.0.0.1:1883");

    o.broker_url = c.broker_url;
    o.username = c.mqtt_username;
    o.password = c.mqtt_password;
    o.tls = {c.mqtt_tls.ca_file, c.mqtt_tls.cert_file, c.mqtt_tls.key_file, c.mqtt_tls.key_password, c.mqtt_tls.verify_server};
    mqtt::client_options probe;
    probe.broker_url = o.broker_url;
    probe.username = o.username;
    probe.password = o.password;
    probe.tls = o.tls;
    if (auto ok = mqtt::check_options(probe); !ok) replay_usage_error(ok.detail());
}

void run(const replay_args& a) {
    if (a.files.empty()) replay_usage_error("no input files (turbotwin replay FILE... --broker URL)");
    if (a.qos < 0 || a.qos > 2) replay_usage_error("--qos must be 0, 1 or 2");
    if (a.window < 1) replay_usage_error("--window must be at least 1");

    replay::replay_options o;
    connection_options(a, o);
    o.qos = a.qos;
    o.max_in_flight = a.window;
    o.resume_delay = std::chrono::milliseconds(static_cast<long long>(a.resume_delay_s * 1000));
    if (a.speed != "max") {
        char* end = nullptr;
        const double v = std::strtod(a.speed.c_str(), &end);
        if (a.speed.empty() || *end != '\0' || !(v > 0) || v > 1e9)
            replay_usage_error("--speed must be a positive number of rows per second or 'max', not '" + a.speed + "'");
        o.rows_per_second = v;
    }
    o.stop = &replay_interrupted;

    replay_interrupted.store(false);
    auto previous = std::signal(SIGINT, on_replay_sigint);
    const int code = replay::run_replay(a.files, a.prefix, a.interleave, o, a.quiet, std::cerr);
    std::signal(SIGINT, previous == SIG_ERR ? SIG_DFL : previous);
    if (code != replay::exit_ok) throw CLI::RuntimeError(code);
}

}  // namespace

void register_replay(CLI::App& app) {
    auto args = std::make_shared<replay_args>();
    auto* sub = app.add_subcommand("replay", "Publish C-MAPSS files to a broker as engine telemetry (QoS 1)");
    sub->add_option("files", args->files, "C-MAPSS text files (26 columns), published in the order given");
    sub->add_option("--broker", args->broker,
                    "Broker URL, e.g. tcp://127.0.0.1:1883 or ssl://host:8883 (required, unless $TURBOTWIN_BROKER or --config gives it)");
    sub->add_option("--config", args->config,
                    "Take the broker URL, user, password and TLS files from this config file's \"broker\" and \"mqtt\" keys, as serve does; "
                    "the environment and the flags below override them");
    sub->add_option("--username", args->username, "MQTT user name (default: $TURBOTWIN_MQTT_USERNAME)");
    auto* pw_env = sub->add_option("--password-env", args->password_env,
                                   "Name of the environment variable holding the MQTT password (default: TURBOTWIN_MQTT_PASSWORD, when set)");
    sub->add_option("--password-file", args->password_file, "File whose first line is the MQTT password")->excludes(pw_env);
    sub->add_option("--ca-file", args->ca_file, "PEM file of the CAs trusted for the broker's certificate (TLS)");
    sub->add_option("--cert-file", args->cert_file, "PEM client certificate, for a broker that requires one (TLS)");
    sub->add_option("--key-file", args->key_file, "PEM private key of --cert-file (default: inside --cert-file)");
    sub->add_option("--key-password-env", args->key_password_env, "Name of the environment variable holding --key-file's password");
    sub->add_flag("--insecure", args->insecure, "Do not check the broker's certificate and host name (testing only)");
    sub->add_option("--speed", args->speed, "Rows per second (one row is one engine cycle), or 'max'")->capture_default_str();
    sub->add_option("--prefix", args->prefix, "Asset id prefix: unit 1 becomes PREFIX001")->capture_default_str();
    sub->add_flag("--interleave", args->interleave, "Order rows by cycle across engines, as a fleet flying together");
    sub->add_option("--qos", args->qos, "MQTT QoS (1: every row acknowledged by the broker)")->capture_default_str();
    sub->add_option("--window", args->window, "Unacknowledged publishes in flight at most")->capture_default_str();
    sub->add_option("--resume-delay", args->resume_delay_s,
                    "Seconds to wait after reconnecting to a restarted broker before publishing again, so that "
                    "subscribers the broker forgot (no persistence) are back first")
        ->check(CLI::Range(0.0, 600.0))
        ->capture_default_str();
    sub->add_flag("--quiet,-q", args->quiet, "No progress lines, only bad lines, errors and the summary");
    sub->footer("Exit status: 0 every row acknowledged, 1 broker unreachable or a publish failed, "
                "2 usage or file error, 130 interrupted.");
    sub->callback([args] { run(*args); });
}

}  // namespace turbotwin::cli
