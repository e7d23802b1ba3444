#include <cstdio>
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "turbotwin/app/recorded_lives.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/training/learning.hpp"
#include "turbotwin/training/train.hpp"

namespace turbotwin::cli {

namespace {

struct from_store_args {
    std::string data_dir;      ///< the server's data folder
    std::string base;          ///< run-to-failure C-MAPSS file trained on with the store's failures
    std::string model;         ///< --recalibrate-only: the model whose trees are kept (default: the config's)
    std::string config;
    bool recalibrate_only = false;
    std::size_t min_failures = training::default_min_failures;
};

[[noreturn]] void train_fail(const std::string& message, int code = 2) {
    std::cerr << "train: " << message << "\n";
    throw CLI::RuntimeError(code);
}

// "the 5%..95% offsets per bin of the raw prediction", to show what a recalibration moved.
void print_calibration(const char* label, const prognostics::interval_calibration& c) {
    std::fprintf(stderr, "train: %s 90%% interval offsets by predicted RUL:", label);
    double lower = 0;
    for (std::size_t b = 0; b < c.bin_upper.size(); ++b) {
        std::fprintf(stderr, " %s%.0f: [%+.1f, %+.1f]", b + 1 == c.bin_upper.size() ? ">" : "<=",
                     b + 1 == c.bin_upper.size() ? lower : c.bin_upper[b], c.lo_offset[b], c.hi_offset[b]);
        lower = c.bin_upper[b];
    }
    std::fprintf(stderr, "\n");
}

// `train --from-store DIR`: the store's recorded failures as training engines, cycles counted
// from each life's start as the live twin's model saw them.
void run_from_store(const from_store_args& a, training::train_options opts, const std::string& out) {
    const auto db_path = (std::filesystem::path(a.data_dir) / "turbotwin.db").string();
    if (!std::filesystem::exists(db_path)) train_fail("no turbotwin.db in " + a.data_dir + " (the folder `serve --data-dir` wrote)");
    // Read-only: a running serve keeps writing (WAL), and this reads what it had committed.
    auto db = store::database::open_reader(db_path);
    if (!db) train_fail(db.message());
    auto fleet = app::read_recorded_lives(**db);
    if (!fleet) train_fail(fleet.message());
    std::vector<dataset::engine_trajectory> failures;
    std::size_t failure_readings = 0;
    for (const auto& life : fleet->lives) {
        if (life.end != app::life_end::failure) continue;
        dataset::engine_trajectory t{long(failures.size() + 1), life.readings_from_life_start()};
        t.rul_after_last = life.end_cycle - life.readings.back().cycle;
        failure_readings += t.cycles.size();
        failures.push_back(std::move(t));
    }
    const std::size_t removals = fleet->count(app::life_end::removal), visits = fleet->count(app::life_end::maintenance);
    std::cerr << "train: " << a.data_dir << ": " << failures.size() << " recorded failures (" << failure_readings
              << " readings); censored (true RUL unknown), not used: " << removals << " removed, " << visits
              << " ended by a maintenance visit\n";
    if (fleet->readings_missing > 0)
        std::cerr << "train: " << fleet->readings_missing
                  << " history rows have no stored reading (durability.readings off, or written before schema 6): left out\n";
    if (failures.size() < a.min_failures)
        train_fail("the store has " + std::to_string(failures.size()) + " recorded failures with readings; learning from the fleet needs at least " +
             std::to_string(a.min_failures) + " (--min-failures). Record failures with POST /api/v1/assets/{id}/events "
             "{\"type\":\"failure\",\"cycle\":N}");

    prognostics::rul_model model;
    if (a.recalibrate_only) {
        std::string model_path = a.model;
        if (model_path.empty()) {
            auto cfg = codec::load_config(a.config.empty() ? default_config_path() : a.config);
            if (!cfg) train_fail(cfg.message());
            model_path = cfg->model_path;
        }
        auto current = prognostics::load_model(model_path);
        if (!current) train_fail("cannot load " + model_path + ": " + current.message());
        if (auto served = (*db)->meta(app::serving_model_key); served && *served && **served != app::file_hash(model_path))
            std::cerr << "train: note: the server last ran model " << **served << ", not " << model_path << "\n";
        std::size_t residuals = 0;
        auto recalibrated = training::recalibrate_intervals(*current, failures, &residuals);
        if (!recalibrated) train_fail(recalibrated.message(), 1);
        print_calibration("before:", current->calibration);
        print_calibration("after: ", recalibrated->calibration);
        model = std::move(*recalibrated);
        model.trained_on = current->trained_on + "; intervals recalibrated on " + std::to_string(failures.size()) +
                           " recorded failures (" + std::to_string(residuals) + " cycles) from " + a.data_dir;
        std::cerr << "train: kept the trees of " << model_path << ", recalibrated the intervals on " << residuals << " cycles\n";
    } else {
        std::vector<dataset::engine_trajectory> engines;
        std::string described;
        if (!a.base.empty()) {
            auto file = dataset::read_cmapss(a.base);
            if (!file) train_fail(file.message());
            for (const auto& issue : file->issues) std::cerr << issue.file << ":" << issue.line << ": " << issue.message << "\n";
            engines = dataset::group_by_unit(file->rows);
            described = std::filesystem::path(a.base).filename().string() + " (" + std::to_string(engines.size()) + " engines) + ";
        }
        // Units after the base file's, so every engine keeps a number of its own.
        long unit = engines.empty() ? 0 : engines.back().unit;
        const std::size_t base_engines = engines.size();
        for (auto& f : failures) {
            f.unit = ++unit;
            engines.push_back(std::move(f));
        }
        // The trees learn from everything; the intervals only from the fleet's own failures (their
        // out-of-fold errors), since it is that fleet they will be quoted for.
        opts.calibrate_from_engine = base_engines;
        auto trained = training::train_model(engines, opts, [](const std::string& s) { std::cerr << "train: " << s << "\n"; });
        if (!trained) train_fail(trained.message(), 1);
        model = std::move(*trained);
        model.trained_on = described + std::to_string(failures.size()) + " recorded failures from " + a.data_dir;
    }
    model.name = std::filesystem::path(out).stem().string();
    if (auto saved = prognostics::save_model(model, out); !saved) train_fail(saved.message(), 1);
    std::cerr << "train: wrote " << out << "\n";
}

}  // namespace

void register_train(CLI::App& app) {
    struct args {
        std::string file, out;
        training::train_options opts;
        from_store_args store;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("train", "Fit a RUL model (filters, trees, intervals) on run-to-failure C-MAPSS data");
    cmd->add_option("file", a->file, "run-to-failure C-MAPSS file, e.g. ../shared/data/cmapss/train_FD001.txt (or --from-store)");
    auto* from_store = cmd->add_option("--from-store", a->store.data_dir,
                                       "learn from the failures a server recorded in this data folder (read-only; serve may be running)");
    cmd->add_option("--base", a->store.base, "with --from-store: also train on this run-to-failure C-MAPSS file")->needs(from_store);
    auto* recalibrate = cmd->add_flag("--recalibrate-only", a->store.recalibrate_only,
                                      "with --from-store: keep the current model's trees, recompute only its intervals from the failures");
    recalibrate->needs(from_store);
    cmd->add_option("--model", a->store.model, "with --recalibrate-only: the model to recalibrate (default: the config's)")->needs(recalibrate);
    cmd->add_option("--config", a->store.config, "with --recalibrate-only: config naming the model (default: $TURBOTWIN_CONFIG, ./config, the source tree's)")
        ->needs(recalibrate);
    cmd->add_option("--min-failures", a->store.min_failures, "with --from-store: fewest recorded failures to learn from")
        ->capture_default_str()
        ->check(CLI::Range(1, 100000))
        ->needs(from_store);
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
        if (!a->store.data_dir.empty()) {
            if (!a->file.empty()) train_fail("give a FILE or --from-store, not both (train on a file and the store with --from-store DIR --base FILE)");
            if (a->store.recalibrate_only && !a->store.base.empty())
                train_fail("--recalibrate-only keeps the trees: --base (a refit) does not go with it");
            run_from_store(a->store, a->opts, a->out);
            return;
        }
        if (a->file.empty()) train_fail("give a run-to-failure C-MAPSS FILE, or --from-store DIR");
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
