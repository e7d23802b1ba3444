#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "commands.hpp"

namespace turbotwin::cli {

std::string format_number(const nlohmann::json& v, const char* format) {
    if (!v.is_number()) return "-";
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v.get<double>());
    return buf;
}

std::string default_config_path() {
    if (const char* env = std::getenv("TURBOTWIN_CONFIG"); env && *env) return env;
    if (std::filesystem::exists("config/turbotwin.json")) return "config/turbotwin.json";
    return std::string(TURBOTWIN_SOURCE_DIR) + "/config/turbotwin.json";
}

Result<codec::serve_config> client_connection_config(const std::string& config_path) {
    codec::serve_config c;
    c.broker_url.clear();  // no default broker: a client must be told where to publish
    if (!config_path.empty()) {
        auto loaded = codec::load_config(config_path);
        if (!loaded) return {loaded.error(), loaded.detail()};
        c = std::move(*loaded);
    }
    codec::apply_mqtt_environment(c);
    return c;
}

}  // namespace turbotwin::cli

int main(int argc, char** argv) {
    CLI::App app{"turbotwin: a digital twin server for jet-engine predictive maintenance"};
    app.set_version_flag("--version", std::string(TURBOTWIN_VERSION));
    app.require_subcommand(1);
    using namespace turbotwin::cli;
    register_serve(app);
    register_replay(app);
    register_predict(app);
    register_train(app);
    register_evaluate(app);
    register_simulate(app);
    register_loadgen(app);
    register_explain(app);
    register_shadow_report(app);
    register_evaluate_learning(app);
    register_planning(app);
    CLI11_PARSE(app, argc, argv);
    return 0;
}
