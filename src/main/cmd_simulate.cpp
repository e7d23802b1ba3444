// `turbotwin simulate` (a C-MAPSS-like fleet from models/simulator.json) and `turbotwin fit-sim`
// (fit that file to run-to-failure data). The model is in docs/simulator.md.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::cli {

namespace {

[[noreturn]] void fail(const std::string& message) {
    std::cerr << "turbotwin: " << message << '\n';
    throw CLI::RuntimeError(2);
}

struct simulate_args {
    int engines = simulation::fleet_options{}.engines;
    std::uint64_t seed = simulation::fleet_options{}.seed;
    double cut_short_fraction = simulation::fleet_options{}.cut_short_fraction;
    std::string out;
    std::string truth;
    std::string params = std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json";
};

struct fit_args {
    std::string data;
    std::string out;
};

void run_simulate(const simulate_args& a) {
    auto params = simulation::load_simulator_params(a.params);
    if (!params) fail("cannot load simulator params: " + params.message());
    const auto fleet = simulation::simulate_fleet(*params, {a.engines, a.seed, a.cut_short_fraction});

    std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
    if (!out) fail("cannot write " + a.out);
    simulation::write_fleet_cmapss(out, fleet, *params);
    out.flush();
    if (!out) fail("write error in " + a.out);
    if (!a.truth.empty()) {
        std::ofstream truth(a.truth, std::ios::binary | std::ios::trunc);
        if (!truth) fail("cannot write " + a.truth);
        simulation::write_fleet_truth(truth, fleet);
        truth.flush();
        if (!truth) fail("write error in " + a.truth);
    }

    std::size_t rows = 0, complete = 0;
    for (const auto& e : fleet) {
        rows += e.cycles.size();
        if (e.run_to_failure) ++complete;
    }
    std::cerr << "simulated " << fleet.size() << " engines (" << complete << " run to failure, " << fleet.size() - complete
              << " cut short), " << rows << " rows, seed " << a.seed << " -> " << a.out
              << (a.truth.empty() ? "" : " (truth: " + a.truth + ")") << '\n';
}

void run_fit(const fit_args& a) {
    auto file = dataset::read_cmapss(a.data);
    if (!file) fail(file.message());
    // A fit on a file with unreadable lines would silently describe some other fleet.
    if (!file->issues.empty()) {
        const auto& first = file->issues.front();
        fail(first.file + ":" + std::to_string(first.line) + ": " + first.message + " (" +
             std::to_string(file->issues.size()) + " bad lines)");
    }
    auto params = simulation::fit_simulator(dataset::group_by_unit(file->rows));
    if (!params) fail("cannot fit " + a.data + ": " + params.message());
    auto printed = simulation::cmapss_printed_decimals(a.data);
    if (!printed) fail(printed.message());
    simulation::raise_decimals(*params, *printed);
    params->fitted_on = std::filesystem::path(a.data).filename().string();

    if (auto saved = simulation::save_simulator_params(*params, a.out); !saved) fail(saved.message());
    std::size_t wearing = 0;
    for (const auto& s : params->sensors) wearing += s.constant ? 0 : 1;
    std::cerr << "fitted " << params->fitted_engines << " engines (" << file->rows.size() << " rows) from " << a.data
              << ": ln(life) ~ N(" << params->life.log_mean << ", " << params->life.log_sd << "^2), wear k "
              << params->wear.k << " (ln sd " << params->wear.log_k_sd << "), " << wearing << " wearing sensors -> " << a.out << '\n';
}

}  // namespace

void register_simulate(CLI::App& app) {
    // CLI11 keeps references to the option targets until parsing ends: they live as long as the
    // callbacks that read them.
    auto sim = std::make_shared<simulate_args>();
    auto* cmd = app.add_subcommand("simulate", "Generate a C-MAPSS FD001-like fleet from fitted simulator params");
    cmd->add_option("--engines", sim->engines, "Number of engines (units 1..N)")->capture_default_str()->check(CLI::Range(1, 100000));
    cmd->add_option("--seed", sim->seed, "Random seed; same seed and params give the same file")->capture_default_str();
    cmd->add_option("--out", sim->out, "C-MAPSS text file to write")->required();
    cmd->add_option("--params", sim->params, "Simulator params (JSON)")->capture_default_str();
    cmd->add_option("--cut-short-fraction", sim->cut_short_fraction,
                    "Share of engines whose record stops before failure (true RUL 1..150)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    cmd->add_option("--truth", sim->truth, "Also write unit,last_cycle,true_rul_at_last_cycle,life per engine (CSV)");
    cmd->callback([sim] { run_simulate(*sim); });

    auto fit = std::make_shared<fit_args>();
    auto* fit_cmd = app.add_subcommand("fit-sim", "Fit simulator params to a run-to-failure C-MAPSS file (e.g. train_FD001.txt)");
    fit_cmd->add_option("file", fit->data, "Run-to-failure C-MAPSS text file")->required();
    fit_cmd->add_option("--out", fit->out, "Params file to write, e.g. models/simulator.json")->required();
    fit_cmd->callback([fit] { run_fit(*fit); });
}

}  // namespace turbotwin::cli
