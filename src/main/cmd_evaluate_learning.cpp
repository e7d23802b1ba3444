// `turbotwin evaluate-learning`: does learning from a fleet's own failures help a fleet that wears
// faster than the training fleet? Simulated, measured as `evaluate` measures (docs/scenarios.md,
// "Learning from the fleet").
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/simulation/simulator_params.hpp"
#include "turbotwin/training/learning.hpp"

namespace turbotwin::cli {

namespace {

struct learning_args {
    training::learning_experiment_options opts;
    std::string config, model, base, report;
    std::string params = std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json";
};

[[noreturn]] void learning_fail(const std::string& message) {
    std::cerr << "evaluate-learning: " << message << "\n";
    throw CLI::RuntimeError(2);
}

std::string markdown_table(const std::vector<training::learning_row>& rows) {
    std::string out = "| model | fleet scored | failures learnt from | cuts | 90% coverage | width | RMSE | bias |\n|---|---|---|---|---|---|---|---|\n";
    char line[256];
    for (const auto& r : rows) {
        std::snprintf(line, sizeof line, "| %s | %s | %zu | %zu | %.3f | %.1f | %.2f | %+.2f |\n", r.model.c_str(), r.fleet.c_str(), r.failures,
                      r.acc.n, r.acc.coverage, r.acc.mean_width, r.acc.rmse, r.acc.bias);
        out += line;
    }
    return out;
}

void run(learning_args& a) {
    auto rt = app::load_runtime(a.config.empty() ? default_config_path() : a.config, a.model);
    if (!rt) learning_fail(rt.message());
    auto params = simulation::load_simulator_params(a.params);
    if (!params) learning_fail("cannot load simulator params: " + params.message());
    std::vector<dataset::engine_trajectory> base;
    if (!a.base.empty()) {
        auto file = dataset::read_cmapss(a.base);
        if (!file) learning_fail(file.message());
        for (const auto& issue : file->issues) std::cerr << issue.file << ":" << issue.line << ": " << issue.message << " (skipped)\n";
        base = dataset::group_by_unit(file->rows);
    }
    a.opts.train.seed = a.opts.seed;
    auto rows = training::run_learning_experiment(rt->twin, *params, base, a.opts,
                                                  [](const std::string& s) { std::cerr << "evaluate-learning: " << s << "\n"; });
    if (!rows) learning_fail(rows.message());
    const std::string refit = !a.opts.refit ? "" : a.base.empty() ? "; refit on the failures alone" : "; refit on " + a.base + " + the failures";
    std::printf("model %s (%s); simulated engines wearing %gx as fast as the fitted fleet, %zu held out, %d cuts each, seed %llu%s\n",
                rt->twin.model->name.c_str(), rt->twin.origin.model_hash.c_str(), a.opts.wear_rate, a.opts.held_out, a.opts.cuts,
                static_cast<unsigned long long>(a.opts.seed), refit.c_str());
    std::printf("%-13s %-10s %9s %6s %9s %7s %7s %7s\n", "model", "fleet", "failures", "cuts", "coverage", "width", "rmse", "bias");
    for (const auto& r : *rows)
        std::printf("%-13s %-10s %9zu %6zu %9.3f %7.1f %7.2f %+7.2f\n", r.model.c_str(), r.fleet.c_str(), r.failures, r.acc.n, r.acc.coverage,
                    r.acc.mean_width, r.acc.rmse, r.acc.bias);
    if (!a.report.empty()) {
        std::ofstream out(a.report, std::ios::trunc);
        out << markdown_table(*rows);
        if (!out) learning_fail("cannot write " + a.report);
        std::cerr << "evaluate-learning: wrote " << a.report << "\n";
    }
}

}  // namespace

void register_evaluate_learning(CLI::App& app) {
    auto a = std::make_shared<learning_args>();
    auto* cmd = app.add_subcommand("evaluate-learning",
                                   "Simulate a fleet wearing faster than the training fleet and measure the 90% interval's coverage and "
                                   "the RMSE on held-out engines before and after learning from N of its recorded failures");
    cmd->add_option("--wear-rate", a->opts.wear_rate, "the fleet wears this many times faster than the simulator's fitted fleet")
        ->capture_default_str()
        ->check(CLI::Range(0.1, 10.0));
    cmd->add_option("--failures", a->opts.failures, "recorded failures learnt from, e.g. 10,25,50 (nested: the first N engines)")
        ->delimiter(',')
        ->check(CLI::Range(std::size_t(1), std::size_t(10000)));
    cmd->add_option("--held-out", a->opts.held_out, "held-out engines scored (never learnt from)")->capture_default_str()->check(CLI::Range(1, 10000));
    cmd->add_option("--cuts", a->opts.cuts, "truncation points per held-out engine")->capture_default_str()->check(CLI::Range(1, 100));
    cmd->add_option("--seed", a->opts.seed, "seed of the simulated fleet, the cuts and a refit")->capture_default_str();
    cmd->add_option("--model", a->model, "the model before learning (default: the config's, models/fd001.json)");
    cmd->add_option("--config", a->config, "config file (sensor catalogue, alert thresholds, model)");
    cmd->add_option("--params", a->params, "simulator params")->capture_default_str();
    cmd->add_flag("--refit", a->opts.refit, "also retrain the trees on --base plus the failures (minutes per N)");
    cmd->add_option("--base", a->base, "with --refit: run-to-failure C-MAPSS file to train on with the failures, e.g. train_FD001.txt");
    cmd->add_option("--rounds", a->opts.train.rounds, "with --refit: boosting rounds")->check(CLI::Range(1, 5000));
    cmd->add_option("--calibration-folds", a->opts.train.calibration_folds, "with --refit: folds for the conformal residuals")
        ->check(CLI::Range(2, 20));
    cmd->add_option("--report", a->report, "also write the table as Markdown to this file");
    cmd->callback([a] { run(*a); });
}

}  // namespace turbotwin::cli
