// `turbotwin simulate` (a C-MAPSS-like fleet from models/simulator.json, optionally with sensor
// faults and their ground truth) and `turbotwin fit-sim` (fit that file to run-to-failure data).
// The model and the fault spec are in docs/simulator.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/simulation/faults.hpp"
#include "turbotwin/simulation/fleet.hpp"
#include "turbotwin/simulation/simulator_params.hpp"

namespace turbotwin::cli {

namespace {

[[noreturn]] void simulate_fail(const std::string& message) {
    std::cerr << "turbotwin: " << message << '\n';
    throw CLI::RuntimeError(2);
}

struct simulate_args {
    int engines = simulation::fleet_options{}.engines;
    std::uint64_t seed = simulation::fleet_options{}.seed;
    double cut_short_fraction = simulation::fleet_options{}.cut_short_fraction;
    double wear_rate = simulation::fleet_options{}.wear_rate;
    std::string out;
    std::string truth;
    std::string params = std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json";
    std::string inject_faults;  ///< fault spec (inline or @file); empty: a healthy fleet
    std::string faults_truth;
    std::string config;         ///< its sensor catalogue bounds faulty values; empty: the default config
};

struct fit_args {
    std::string data;
    std::string out;
};

void write_file(const std::string& path, const auto& write) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) simulate_fail("cannot write " + path);
    write(out);
    out.flush();
    if (!out) simulate_fail("write error in " + path);
}

// "50 faults (20 spike, 20 stuck, 10 drift) in 20 of 20 engines, 0 readings clipped to the plausible range".
std::string describe_faults(const std::vector<simulation::injected_fault>& faults, std::size_t engines) {
    std::string kinds;
    for (auto kind : {simulation::fault_kind::spike, simulation::fault_kind::stuck, simulation::fault_kind::dropout,
                      simulation::fault_kind::drift}) {
        const auto n = std::count_if(faults.begin(), faults.end(), [kind](const auto& f) { return f.kind == kind; });
        if (n > 0) (kinds += kinds.empty() ? "" : ", ") += std::to_string(n) + " " + std::string(simulation::fault_kind_name(kind));
    }
    std::set<long> hit;
    int clipped = 0;
    for (const auto& f : faults) {
        hit.insert(f.unit);
        clipped += f.clipped_cycles;
    }
    return std::to_string(faults.size()) + (faults.size() == 1 ? " fault" : " faults") +
           (kinds.empty() ? "" : " (" + kinds + ")") + " in " + std::to_string(hit.size()) + " of " +
           std::to_string(engines) + " engines, " + std::to_string(clipped) + " readings clipped to the plausible range";
}

void run_simulate(const simulate_args& a) {
    auto params = simulation::load_simulator_params(a.params);
    if (!params) simulate_fail("cannot load simulator params: " + params.message());
    // Checked before simulating: a typo in the spec should not cost a long run.
    std::optional<simulation::fault_spec> spec;
    sensor_catalogue catalogue;
    if (!a.inject_faults.empty()) {
        auto parsed = simulation::parse_fault_spec(a.inject_faults);
        if (!parsed) simulate_fail("--inject-faults: " + parsed.detail());
        spec = std::move(*parsed);
        auto config = codec::load_config(a.config.empty() ? default_config_path() : a.config);
        if (!config) simulate_fail("cannot load config: " + config.message());
        auto loaded = codec::load_catalogue(config->catalogue_path);
        if (!loaded) simulate_fail("cannot load sensor catalogue: " + loaded.message());
        catalogue = std::move(*loaded);
    }

    auto fleet = simulation::simulate_fleet(*params, {a.engines, a.seed, a.cut_short_fraction, a.wear_rate});
    std::vector<simulation::injected_fault> faults;
    if (spec) {
        // The same --seed gives the same faults; inject_faults draws from streams of its own.
        auto injected = simulation::inject_faults(fleet, *spec, *params, a.seed, &catalogue);
        if (!injected) simulate_fail("--inject-faults: " + injected.detail());
        faults = std::move(*injected);
    }

    write_file(a.out, [&](std::ostream& out) { simulation::write_fleet_cmapss(out, fleet, *params); });
    if (!a.truth.empty()) write_file(a.truth, [&](std::ostream& out) { simulation::write_fleet_truth(out, fleet); });
    if (spec) write_file(a.faults_truth, [&](std::ostream& out) { simulation::write_fault_truth(out, faults); });

    std::size_t rows = 0, complete = 0;
    for (const auto& e : fleet) {
        rows += e.cycles.size();
        if (e.run_to_failure) ++complete;
    }
    std::cerr << "simulated " << fleet.size() << " engines (" << complete << " run to failure, " << fleet.size() - complete
              << " cut short), " << rows << " rows, seed " << a.seed << " -> " << a.out
              << (a.truth.empty() ? "" : " (truth: " + a.truth + ")");
    if (a.wear_rate != 1.0) std::cerr << ", wearing " << a.wear_rate << "x as fast as the fitted fleet";
    std::cerr << '\n';
    if (spec) std::cerr << "injected " << describe_faults(faults, fleet.size()) << " -> " << a.faults_truth << '\n';
}

void run_fit(const fit_args& a) {
    auto file = dataset::read_cmapss(a.data);
    if (!file) simulate_fail(file.message());
    // A fit on a file with unreadable lines would silently describe some other fleet.
    if (!file->issues.empty()) {
        const auto& first = file->issues.front();
        simulate_fail(first.file + ":" + std::to_string(first.line) + ": " + first.message + " (" +
             std::to_string(file->issues.size()) + " bad lines)");
    }
    auto params = simulation::fit_simulator(dataset::group_by_unit(file->rows));
    if (!params) simulate_fail("cannot fit " + a.data + ": " + params.message());
    auto printed = simulation::cmapss_printed_decimals(a.data);
    if (!printed) simulate_fail(printed.message());
    simulation::raise_decimals(*params, *printed);
    params->fitted_on = std::filesystem::path(a.data).filename().string();

    if (auto saved = simulation::save_simulator_params(*params, a.out); !saved) simulate_fail(saved.message());
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
    cmd->add_option("--wear-rate", sim->wear_rate,
                    "Engines wear this many times faster than the fitted fleet: lives divided by it, the same sensor path per "
                    "unit of damage (1: the fitted fleet, same bytes as before)")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 10.0));
    cmd->add_option("--truth", sim->truth, "Also write unit,last_cycle,true_rul_at_last_cycle,life per engine (CSV)");
    auto* inject = cmd->add_option("--inject-faults", sim->inject_faults,
                                   "Sensor faults to inject after simulating: 'KIND[:key=value,...];...' or @FILE. KIND: "
                                   "spike, stuck, dropout, drift; keys: sensor (name or random), engines (share 0..1), "
                                   "start (fraction < 1 or cycle), size (noise sd), length (cycles). Same --seed, same "
                                   "faults. Needs --faults-truth. See docs/simulator.md");
    auto* faults_truth = cmd->add_option("--faults-truth", sim->faults_truth,
                                         "CSV ground truth of the injected faults (required with --inject-faults): "
                                         "unit,kind,sensor,start_cycle,end_cycle,size_sigma,sign,noise_sd,"
                                         "detectable_cycle,clipped_cycles");
    // Faults without their truth could never be told from the simulated wear afterwards.
    inject->needs(faults_truth);
    faults_truth->needs(inject);
    cmd->add_option("--config", sim->config,
                    "Config file whose sensor catalogue bounds the faulty values (default: $TURBOTWIN_CONFIG, "
                    "./config/turbotwin.json, then the source tree's)");
    cmd->callback([sim] { run_simulate(*sim); });

    auto fit = std::make_shared<fit_args>();
    auto* fit_cmd = app.add_subcommand("fit-sim", "Fit simulator params to a run-to-failure C-MAPSS file (e.g. train_FD001.txt)");
    fit_cmd->add_option("file", fit->data, "Run-to-failure C-MAPSS text file")->required();
    fit_cmd->add_option("--out", fit->out, "Params file to write, e.g. models/simulator.json")->required();
    fit_cmd->callback([fit] { run_fit(*fit); });
}

}  // namespace turbotwin::cli
