// `turbotwin replay`: argument parsing and Ctrl-C only; the work is turbotwin::replay::run_replay.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
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
};

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "turbotwin replay: " << message << '\n';
    throw CLI::RuntimeError(replay::exit_usage);
}

void run(const replay_args& a) {
    if (a.files.empty()) usage_error("no input files (turbotwin replay FILE... --broker URL)");
    if (a.broker.empty()) usage_error("--broker URL is required, e.g. --broker tcp://127.0.0.1:1883");
    if (a.qos < 0 || a.qos > 2) usage_error("--qos must be 0, 1 or 2");
    if (a.window < 1) usage_error("--window must be at least 1");

    replay::replay_options o;
    o.broker_url = a.broker;
    o.qos = a.qos;
    o.max_in_flight = a.window;
    o.resume_delay = std::chrono::milliseconds(static_cast<long long>(a.resume_delay_s * 1000));
    if (a.speed != "max") {
        char* end = nullptr;
        const double v = std::strtod(a.speed.c_str(), &end);
        if (a.speed.empty() || *end != '\0' || !(v > 0) || v > 1e9)
            usage_error("--speed must be a positive number of rows per second or 'max', not '" + a.speed + "'");
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
    sub->add_option("--broker", args->broker, "Broker URL, e.g. tcp://127.0.0.1:1883 (required)");
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
