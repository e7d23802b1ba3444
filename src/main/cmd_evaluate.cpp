#include <cstdio>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/training/evaluate.hpp"

namespace turbotwin::cli {

void register_evaluate(CLI::App& app) {
    struct args {
        std::string file, config;
        training::evaluate_options opts;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("evaluate", "Cross-validate the model by engine on run-to-failure data (truncated trajectories)");
    cmd->add_option("file", a->file, "run-to-failure C-MAPSS file")->required();
    cmd->add_option("--folds", a->opts.folds, "folds (by engine)")->check(CLI::Range(2, 100));
    cmd->add_option("--seed", a->opts.seed, "seed for folds, truncation points and training");
    cmd->add_option("--cuts", a->opts.cuts_per_engine, "truncation points per held-out engine")->check(CLI::Range(1, 100));
    cmd->add_option("--rounds", a->opts.train.rounds, "boosting rounds")->check(CLI::Range(1, 5000));
    cmd->add_option("--config", a->config, "config file (sensor catalogue, alert thresholds)");
    cmd->callback([a] {
        auto cfg = codec::load_config(a->config.empty() ? default_config_path() : a->config);
        if (!cfg) { std::cerr << "evaluate: " << cfg.message() << "\n"; throw CLI::RuntimeError(2); }
        auto cat = codec::load_catalogue(cfg->catalogue_path);
        if (!cat) { std::cerr << "evaluate: " << cat.message() << "\n"; throw CLI::RuntimeError(2); }
        auto file = dataset::read_cmapss(a->file);
        if (!file) { std::cerr << "evaluate: " << file.message() << "\n"; throw CLI::RuntimeError(2); }
        for (const auto& issue : file->issues) std::cerr << issue.file << ":" << issue.line << ": " << issue.message << " (skipped)\n";
        a->opts.alerts = cfg->alerts;
        a->opts.train.seed = a->opts.seed;
        const auto engines = dataset::group_by_unit(file->rows);
        auto ev = training::evaluate(engines, *cat, a->opts, [](const std::string& s) { std::cerr << "evaluate: " << s << "\n"; });
        if (!ev) { std::cerr << "evaluate: " << ev.message() << "\n"; throw CLI::RuntimeError(1); }
        std::printf("%-8s %7s %6s %8s %10s %8s %9s %7s %9s %9s %9s\n", "fold", "engines", "cuts", "rmse", "score/100", "bias",
                    "coverage", "width", "lead_p05", "lead_med", "unwarned");
        auto row = [](const std::string& name, std::size_t engines, const training::accuracy& acc, const training::alert_quality& q) {
            std::printf("%-8s %7zu %6zu %8.2f %10.1f %8.2f %9.3f %7.1f %9.1f %9.1f %9zu\n", name.c_str(), engines, acc.n, acc.rmse,
                        acc.score_per_100, acc.bias, acc.coverage, acc.mean_width, q.lead_p05, q.lead_median, q.unwarned);
        };
        for (const auto& f : ev->folds) row(std::to_string(f.fold), f.engines, f.acc, f.alerts);
        row("overall", ev->overall_alerts.engines, ev->overall, ev->overall_alerts);
        std::printf("critical alerts earlier than %.0f cycles before failure: %zu of %zu engines\n", 2 * a->opts.alerts.critical_rul,
                    ev->overall_alerts.early_false, ev->overall_alerts.engines);
    });
}

}  // namespace turbotwin::cli
