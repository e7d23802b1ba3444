#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/training/train.hpp"

namespace turbotwin::cli {

void register_train(CLI::App& app) {
    struct args {
        std::string file, out;
        training::train_options opts;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("train", "Fit a RUL model (filters, trees, intervals) on run-to-failure C-MAPSS data");
    cmd->add_option("file", a->file, "run-to-failure C-MAPSS file, e.g. ../shared/data/cmapss/train_FD001.txt")->required();
    cmd->add_option("--out", a->out, "model file to write, e.g. models/fd001.json")->required();
    cmd->add_option("--seed", a->opts.seed, "random seed (same data and seed give the same bytes)");
    cmd->add_option("--rounds", a->opts.rounds, "boosting rounds")->check(CLI::Range(1, 5000));
    cmd->add_option("--calibration-folds", a->opts.calibration_folds, "folds by engine for the conformal residuals")->check(CLI::Range(2, 20));
    cmd->add_option("--eta", a->opts.eta, "learning rate")->check(CLI::Range(0.001, 1.0));
    cmd->add_option("--cap", a->opts.rul_cap, "training target cap, cycles")->check(CLI::Range(10.0, 1000.0));
    cmd->add_option("--baseline-cycles", a->opts.baseline_cycles, "readings defining an engine's baseline")->check(CLI::Range(1, 500));
    cmd->add_option("--min-child-weight", a->opts.min_child_weight, "XGBoost min_child_weight")->check(CLI::Range(0.0, 1000.0));
    cmd->add_option("--max-depth", a->opts.max_depth, "tree depth")->check(CLI::Range(1, 12));
    cmd->callback([a] {
        auto file = dataset::read_cmapss(a->file);
        if (!file) { std::cerr << "train: " << file.message() << "\n"; throw CLI::RuntimeError(2); }
        for (const auto& issue : file->issues) std::cerr << issue.file << ":" << issue.line << ": " << issue.message << "\n";
        const auto engines = dataset::group_by_unit(file->rows);
        if (a->opts.name == "model") a->opts.name = std::filesystem::path(a->out).stem().string();
        a->opts.name = std::filesystem::path(a->out).stem().string();
        auto model = training::train_model(engines, a->opts, [](const std::string& s) { std::cerr << "train: " << s << "\n"; });
        if (!model) { std::cerr << "train: " << model.message() << "\n"; throw CLI::RuntimeError(1); }
        model->trained_on = std::filesystem::path(a->file).filename().string() + " (" + std::to_string(engines.size()) + " engines)";
        if (auto saved = prognostics::save_model(*model, a->out); !saved) {
            std::cerr << "train: " << saved.message() << "\n";
            throw CLI::RuntimeError(1);
        }
        std::cerr << "train: wrote " << a->out << "\n";
    });
}

}  // namespace turbotwin::cli
