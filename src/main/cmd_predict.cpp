#include <iostream>

#include "commands.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/dataset/cmapss.hpp"

namespace turbotwin::cli {

namespace {
// One CSV row: the five contract columns, then confidence and its reason (quoted).
template <class Estimate>  // twin::twin_update or twin::latest_estimate
void print_row(const std::string& id, const Estimate& u) {
    std::cout << id << ',' << u.cycle << ',' << app::round_trip(u.estimate.rul) << ',' << app::round_trip(u.estimate.rul_lo) << ','
              << app::round_trip(u.estimate.rul_hi) << ',' << twin::to_string(u.trust) << ",\"" << u.trust_reason << "\"\n";
}
}  // namespace

void register_predict(CLI::App& app) {
    struct args {
        std::string file, model, config, prefix = "ENG-";
        bool all_cycles = false;
    };
    auto a = std::make_shared<args>();
    auto* cmd = app.add_subcommand("predict", "Run the estimator and RUL predictor offline on a C-MAPSS file; prints CSV");
    cmd->add_option("file", a->file, "C-MAPSS-format file")->required();
    cmd->add_option("--model", a->model, "model file (default: the config's)");
    cmd->add_option("--config", a->config, "config file (default: config/turbotwin.json)");
    cmd->add_option("--prefix", a->prefix, "asset id prefix, as given to replay");
    cmd->add_flag("--all-cycles", a->all_cycles, "print every cycle, not only each engine's last");
    cmd->callback([a] {
        auto rt = app::load_runtime(a->config.empty() ? default_config_path() : a->config, a->model);
        if (!rt) { std::cerr << "predict: " << rt.message() << "\n"; throw CLI::RuntimeError(2); }
        auto file = dataset::read_cmapss(a->file);
        if (!file) { std::cerr << "predict: " << file.message() << "\n"; throw CLI::RuntimeError(2); }
        for (const auto& issue : file->issues) std::cerr << issue.file << ":" << issue.line << ": " << issue.message << " (skipped)\n";
        std::cout << "asset,cycle,rul,rul_lo,rul_hi,confidence,confidence_reason\n";
        for (const auto& engine : dataset::group_by_unit(file->rows)) {
            const std::string id = asset_id_for_unit(a->prefix, engine.unit);
            twin::asset_twin tw(id, rt->twin);
            for (const auto& r : engine.cycles) {
                auto u = tw.process(r);
                if (!u) {
                    std::cerr << "predict: " << id << " cycle " << r.cycle << ": " << u.message() << " (skipped)\n";
                    continue;
                }
                if (a->all_cycles) print_row(id, *u);
            }
            if (!a->all_cycles && tw.last_update()) print_row(id, *tw.last_update());
        }
    });
}

}  // namespace turbotwin::cli
