#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/simulation/simulator_params.hpp"
#include "turbotwin/training/fault_evaluation.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/training/evaluate.hpp"
#include "turbotwin/training/evaluation_report.hpp"
#include "turbotwin/training/horizon_metrics.hpp"

namespace turbotwin::cli {

namespace {

// Alpha-lambda and prognostic horizon (definitions in horizon_metrics.hpp), per fold and overall,
// in a second table so the accuracy table stays narrow.
void print_horizon_table(const training::evaluation& ev) {
    const training::horizon_settings hs;
    std::printf("\nprognostic metrics on full run-to-failure traces: alpha-lambda (alpha %.2f, share of engines),"
                " prognostic horizon (bounds true RUL +- %.2f * EOL, cycles)\n", hs.alpha, hs.ph_alpha);
    std::printf("%-8s %7s %9s %9s %9s %8s %8s\n", "fold", "engines", "al_0.25", "al_0.50", "al_0.75", "ph_med", "ph_p05");
    auto row = [](const std::string& name, const training::horizon_summary& h) {
        std::printf("%-8s %7zu %9.2f %9.2f %9.2f %8.1f %8.1f\n", name.c_str(), h.engines, h.alpha_lambda[0], h.alpha_lambda[1],
                    h.alpha_lambda[2], h.ph_median, h.ph_p05);
    };
    for (const auto& f : ev.folds) row(std::to_string(f.fold), training::summarise_horizon(ev.traces, hs, f.fold));
    row("overall", training::summarise_horizon(ev.traces, hs));
}

// `evaluate --faults`: the shipped model (not a cross-validation) on the file, clean and with faults.
void run_fault_evaluation(const std::string& file_path, const std::string& config_path, const std::string& model_path,
                          const std::string& spec_text, const std::string& params_path, std::uint64_t seed) {
    auto fail = [](const std::string& m) {
        std::cerr << "evaluate: " << m << "\n";
        throw CLI::RuntimeError(2);
    };
    auto rt = app::load_runtime(config_path, model_path);
    if (!rt) fail(rt.message());
    auto spec = simulation::parse_fault_spec(spec_text);
    if (!spec) fail(spec.message());
    auto params = simulation::load_simulator_params(params_path);
    if (!params) fail("cannot load simulator params: " + params.message());
    auto file = dataset::read_cmapss(file_path);
    if (!file) fail(file.message());
    for (const auto& issue : file->issues) std::cerr << issue.file << ":" << issue.line << ": " << issue.message << " (skipped)\n";
    auto ev = training::evaluate_faults(dataset::group_by_unit(file->rows), *spec, *params, rt->twin, seed);
    if (!ev) fail(ev.message());
    const training::detection_targets targets;
    std::printf("sensor fault detection: %zu engines, %zu engine-cycles, %zu faults injected (seed %llu)\n", ev->engines,
                ev->engine_cycles, ev->faults.size(), static_cast<unsigned long long>(seed));
    std::printf("%-8s %8s %9s %9s %8s %10s %10s %9s %9s %9s\n", "kind", "injected", "detected", "in_target", "target", "right_kind",
                "delay_mean", "delay_med", "delay_max", "unwatched");
    for (const auto& k : ev->kinds) {
        if (k.injected == 0 && k.unwatched == 0) continue;
        const std::int64_t target = targets.cycles_for(k.kind);
        std::printf("%-8s %8zu %9zu %9zu %8lld %10zu %10.1f %9.1f %9.1f %9zu\n", std::string(simulation::fault_kind_name(k.kind)).c_str(),
                    k.injected, k.detected, k.in_target, static_cast<long long>(target), k.right_reason, k.delay_mean, k.delay_median,
                    k.delay_max, k.unwatched);
    }
    std::printf("(drift delays count from the cycle its bias reached 3 sigma; a drift that never did is not scored)\n");
    for (const auto& m : ev->missed) {
        std::printf("  not found in time: unit %ld %s on %s from cycle %lld; failed instead:", m.fault->unit,
                    std::string(simulation::fault_kind_name(m.fault->kind)).c_str(), std::string(turbotwin::sensor_names[m.fault->sensor]).c_str(),
                    static_cast<long long>(m.fault->kind == simulation::fault_kind::drift ? *m.fault->detectable_cycle : m.fault->start_cycle));
        if (m.failed_instead.empty()) std::printf(" none");
        for (const auto& [name, at] : m.failed_instead) std::printf(" %s at %lld", name.c_str(), static_cast<long long>(at));
        std::printf("\n");
    }
    std::printf("clean fleet: %zu false sensor-fault alerts (%.3f per 1,000 engine-cycles), %zu gated spikes\n", ev->clean_failed,
                ev->false_alerts_per_1000, ev->clean_suspect);
    if (ev->clean_failed > 0) {
        std::printf("  of which:");
        for (std::size_t k = 0; k < ev->clean_failed_by_reason.size(); ++k)
            if (ev->clean_failed_by_reason[k]) std::printf(" %s %zu", twin::to_string(twin::sensor_fault(k)), ev->clean_failed_by_reason[k]);
        std::printf("\n");
    }
    std::printf("with faults: %zu probes failed that were not faulty\n", ev->wrong_probe);
    const auto& r = ev->rul;
    std::printf("RUL on the faulted engines from their first fault on (%zu cycles, truth capped at %.0f):\n", r.points,
                rt->twin.model->rul_cap);
    std::printf("  rmse clean %.2f | with faults, isolated %.2f (%+.1f%%) | with faults, not isolated %.2f (%+.1f%%)\n", r.rmse_clean,
                r.rmse_isolated, r.rmse_clean > 0 ? 100.0 * (r.rmse_isolated / r.rmse_clean - 1) : 0.0, r.rmse_raw,
                r.rmse_clean > 0 ? 100.0 * (r.rmse_raw / r.rmse_clean - 1) : 0.0);
    std::printf("  mean |RUL move| isolated %.2f, not isolated %.2f cycles\n", r.mean_abs_move_isolated, r.mean_abs_move_raw);
    std::printf("  engines whose RUL alert a fault brought more than 10 cycles early (or raised alone): isolated %zu, not isolated %zu\n",
                r.alert_engines_isolated, r.alert_engines_raw);
    std::printf("  of which the truth did not warrant (true RUL above the alert's threshold when it began): isolated %zu, not isolated %zu\n",
                r.unwarranted_alert_engines_isolated, r.unwarranted_alert_engines_raw);
    for (const auto& a : r.early_alerts_isolated)
        std::printf("    isolated: unit %ld (%s) %s from cycle %lld, true RUL %.0f (%s), alerting RUL %.1f clean, %.1f with the fault\n",
                    a.unit, a.faulty_sensors.c_str(), alerting::to_string(a.level), static_cast<long long>(a.cycle), a.true_rul,
                    a.warranted ? "warranted" : "not warranted", a.clean_risk_rul, a.faulted_risk_rul);
}

}  // namespace

void register_evaluate(CLI::App& app) {
    struct args {
        std::string file, config, report, faults, model;
        std::string params = std::string(TURBOTWIN_SOURCE_DIR) + "/models/simulator.json";
        training::evaluate_options opts;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("evaluate", "Cross-validate the model by engine on run-to-failure data (truncated trajectories)");
    cmd->add_option("file", a->file, "run-to-failure C-MAPSS file")->required();
    cmd->add_option("--folds", a->opts.folds, "folds (by engine)")->check(CLI::Range(2, 100));
    cmd->add_option("--seed", a->opts.seed, "seed for folds, truncation points and training");
    cmd->add_option("--cuts", a->opts.cuts_per_engine, "truncation points per held-out engine")->check(CLI::Range(1, 100));
    cmd->add_option("--rounds", a->opts.train.rounds, "boosting rounds")->check(CLI::Range(1, 5000));
    cmd->add_option("--max-depth", a->opts.train.max_depth, "tree depth")->check(CLI::Range(1, 12));
    cmd->add_option("--calibration-folds", a->opts.train.calibration_folds, "folds by engine for the conformal residuals")->check(CLI::Range(2, 20));
    cmd->add_option("--eta", a->opts.train.eta, "learning rate")->check(CLI::Range(0.001, 1.0));
    cmd->add_option("--cap", a->opts.train.rul_cap, "training target cap, cycles")->check(CLI::Range(10.0, 1000.0));
    cmd->add_option("--baseline-cycles", a->opts.train.baseline_cycles, "readings defining an engine's baseline")->check(CLI::Range(1, 500));
    cmd->add_option("--min-child-weight", a->opts.train.min_child_weight, "XGBoost min_child_weight")->check(CLI::Range(0.0, 1000.0));
    cmd->add_option("--config", a->config, "config file (sensor catalogue, alert thresholds)");
    cmd->add_option("--plots", a->opts.plots_dir, "write SVG charts into this folder (created if missing)");
    cmd->add_option("--report", a->report, "write the table as Markdown to this file");
    cmd->add_option("--faults", a->faults,
                    "instead of cross-validating: inject these sensor faults (simulate's --inject-faults grammar) into the file and "
                    "score fault detection and the RUL with and without isolation, with the model as configured");
    cmd->add_option("--model", a->model, "with --faults: model file (default: the config's)");
    cmd->add_option("--params", a->params, "with --faults: simulator params giving each sensor's noise (fault sizes are in its units)")
        ->capture_default_str();
    cmd->callback([a] {
        if (!a->faults.empty()) {
            run_fault_evaluation(a->file, a->config.empty() ? default_config_path() : a->config, a->model, a->faults, a->params,
                                 a->opts.seed);
            return;
        }
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
        print_horizon_table(*ev);
        if (!a->opts.plots_dir.empty()) {
            auto written = training::write_evaluation_plots(*ev, engines, a->opts.plots_dir, a->opts.seed);
            if (!written) { std::cerr << "evaluate: " << written.message() << "\n"; throw CLI::RuntimeError(1); }
            for (const auto& path : *written) std::cerr << "evaluate: wrote " << path << "\n";
        }
        if (!a->report.empty()) {
            const training::report_context context{std::filesystem::path(a->file).filename().string(), a->opts.folds,
                                                   a->opts.cuts_per_engine, a->opts.seed, a->opts.train.rounds,
                                                   a->opts.alerts.critical_rul};
            std::ofstream out(a->report);
            out << training::evaluation_markdown(*ev, context);
            if (!out) { std::cerr << "evaluate: cannot write " << a->report << "\n"; throw CLI::RuntimeError(1); }
            std::cerr << "evaluate: wrote " << a->report << "\n";
        }
    });
}

}  // namespace turbotwin::cli
