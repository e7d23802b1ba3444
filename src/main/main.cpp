#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>

#include "commands.hpp"

namespace turbotwin::cli {

std::string default_config_path() {
    if (const char* env = std::getenv("TURBOTWIN_CONFIG"); env && *env) return env;
    if (std::filesystem::exists("config/turbotwin.json")) return "config/turbotwin.json";
    return std::string(TURBOTWIN_SOURCE_DIR) + "/config/turbotwin.json";
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
    CLI11_PARSE(app, argc, argv);
    return 0;
}
