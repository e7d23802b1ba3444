#pragma once
/// Each subcommand lives in its own file and registers itself on the CLI here.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "turbotwin/codec/config.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::cli {

void register_serve(CLI::App& app);
void register_replay(CLI::App& app);
void register_predict(CLI::App& app);
void register_train(CLI::App& app);
void register_evaluate(CLI::App& app);
void register_simulate(CLI::App& app);
void register_loadgen(CLI::App& app);
void register_explain(CLI::App& app);
void register_shadow_report(CLI::App& app);
void register_evaluate_learning(CLI::App& app);
void register_planning(CLI::App& app);  ///< forecast, scenario, plan

/// A JSON number printed with a printf `format` for a table; "-" for null (or anything else).
std::string format_number(const nlohmann::json& v, const char* format = "%.2f");

/// The default config file: $TURBOTWIN_CONFIG, ./config/turbotwin.json, or the source tree's.
std::string default_config_path();

/// Broker URL, credentials and TLS for a client command (replay, loadgen): the --config file's
/// (as serve reads them; none given: no broker URL), then TURBOTWIN_BROKER /
/// TURBOTWIN_MQTT_USERNAME / TURBOTWIN_MQTT_PASSWORD. The command's flags go on top.
Result<codec::serve_config> client_connection_config(const std::string& config_path);

}  // namespace turbotwin::cli
