#pragma once
/// Each subcommand lives in its own file and registers itself on the CLI here.
#include <CLI/CLI.hpp>
#include <string>

namespace turbotwin::cli {

void register_serve(CLI::App& app);
void register_replay(CLI::App& app);
void register_predict(CLI::App& app);
void register_train(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_simulate(CLI::App& app);
void register_loadgen(CLI::App& app);

/// The default config file: $TURBOTWIN_CONFIG, ./config/turbotwin.json, or the source tree's.
std::string default_config_path();

}  // namespace turbotwin::cli
