#pragma once
/// What `turbotwin evaluate` leaves behind besides its console table: SVG charts (--plots) and
/// a Markdown table (--report) that docs can include verbatim.
#include <cstdint>
#include <string>
#include <vector>

#include "turbotwin/core/result.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/training/evaluate.hpp"
#include "turbotwin/training/horizon_metrics.hpp"

namespace turbotwin::training {

/// An engine chosen for a life plot and why (shown in the chart's title).
struct life_plot_pick {
    std::size_t trace = 0;  ///< index into the traces
    std::string reason;     ///< "best final error", "median final error", "worst final error" or "random pick"
    bool operator==(const life_plot_pick&) const = default;
};

/// The engines whose life is plotted: the best, median and worst absolute error at the last
/// cycle (failure), then one drawn with seed from the rest. Fewer when there are fewer traces;
/// never the same engine twice.
std::vector<life_plot_pick> pick_life_plot_traces(const std::vector<engine_trace>& traces, std::uint64_t seed);

/// Writes into dir (created if missing): predicted_vs_true.svg, error_by_true_rul.svg and
/// rul_over_life_<unit>.svg for the engines pick_life_plot_traces chooses. engines are the
/// evaluated engines (engine_trace::engine indexes them), for unit numbers. Returns the paths.
Result<std::vector<std::string>> write_evaluation_plots(const evaluation& ev,
                                                        const std::vector<dataset::engine_trajectory>& engines,
                                                        const std::string& dir, std::uint64_t seed);

/// How the evaluation was run, for the report's heading.
struct report_context {
    std::string data_file;
    int folds = 0;
    int cuts_per_engine = 0;
    std::uint64_t seed = 0;
    int rounds = 0;
    double critical_rul = 0;  ///< alert threshold, cycles: early false alert = first critical > 2x this before failure
};

/// The per-fold and overall table as GitHub-flavoured Markdown, with a note defining each column.
std::string evaluation_markdown(const evaluation& ev, const report_context& context, const horizon_settings& settings = {});

}  // namespace turbotwin::training
