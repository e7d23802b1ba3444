// What evaluate writes besides its console table: which engines get life plots, the plot
// files, and the Markdown report.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "turbotwin/training/evaluation_report.hpp"

namespace {

using namespace turbotwin;
using namespace turbotwin::training;

// A run-to-failure trace over cycles 1..eol whose estimate is late by `late` cycles throughout,
// so its final error (at failure) is `late`.
engine_trace late_trace(std::size_t engine, int fold, std::int64_t eol, double late) {
    engine_trace t;
    t.engine = engine;
    t.fold = fold;
    for (std::int64_t c = 1; c <= eol; ++c) {
        t.cycle.push_back(c);
        t.truth.push_back(double(eol - c));
        t.rul.push_back(double(eol - c) + late);
        t.lo.push_back(t.rul.back() - 20);
        t.hi.push_back(t.rul.back() + 20);
    }
    return t;
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(PickLifePlotTraces, BestMedianWorstThenOneOfTheRest) {
    // Final errors by trace index: 5, 0, 9, 3, 7 -> sorted 0 (#1), 3 (#3), 5 (#0), 7 (#4), 9 (#2).
    const std::vector<engine_trace> traces = {late_trace(0, 1, 100, 5), late_trace(1, 1, 100, 0), late_trace(2, 1, 100, 9),
                                              late_trace(3, 2, 100, 3), late_trace(4, 2, 100, 7)};
    const auto picked = pick_life_plot_traces(traces, 42);
    ASSERT_EQ(picked.size(), 4u);
    EXPECT_EQ(picked[0], (life_plot_pick{1, "best final error"}));
    EXPECT_EQ(picked[1], (life_plot_pick{0, "median final error"}));  // third of five
    EXPECT_EQ(picked[2], (life_plot_pick{2, "worst final error"}));
    EXPECT_TRUE(picked[3].trace == 3u || picked[3].trace == 4u) << picked[3].trace;
    EXPECT_EQ(picked[3].reason, "random pick");
    // Deterministic for a seed.
    EXPECT_EQ(pick_life_plot_traces(traces, 42), picked);
}

TEST(PickLifePlotTraces, NeverTwiceAndSkipsEmptyTraces) {
    // Two usable traces (final errors 4 and 1) and an empty one: the median coincides with the
    // best, so the other one is labelled worst, not median.
    const std::vector<engine_trace> traces = {late_trace(0, 1, 50, 4), engine_trace{}, late_trace(2, 1, 50, 1)};
    const auto picked = pick_life_plot_traces(traces, 1);
    ASSERT_EQ(picked.size(), 2u);
    EXPECT_EQ(picked[0], (life_plot_pick{2, "best final error"}));
    EXPECT_EQ(picked[1], (life_plot_pick{0, "worst final error"}));
    EXPECT_TRUE(pick_life_plot_traces({}, 1).empty());
}

evaluation small_evaluation() {
    evaluation ev;
    ev.traces = {late_trace(0, 1, 120, 0), late_trace(1, 1, 150, 30), late_trace(2, 2, 200, 5)};
    ev.points = {{0, 100, 20, 22, 5, 40}, {1, 100, 50, 80, 60, 100}, {2, 150, 50, 55, 30, 70}};
    for (int f = 1; f <= 2; ++f) {
        fold_report fr;
        fr.fold = f;
        fr.engines = f == 1 ? 2 : 1;
        fr.acc = score_points(f == 1 ? std::vector<scored_point>{ev.points[0], ev.points[1]} : std::vector<scored_point>{ev.points[2]});
        fr.alerts.engines = fr.engines;
        ev.folds.push_back(fr);
    }
    ev.overall = score_points(ev.points);
    ev.overall_alerts.engines = 3;
    ev.overall_alerts.early_false = 1;
    return ev;
}

TEST(WriteEvaluationPlots, WritesTheChartsNamedByUnit) {
    const auto ev = small_evaluation();
    std::vector<dataset::engine_trajectory> engines(3);
    engines[0].unit = 7;
    engines[1].unit = 8;
    engines[2].unit = 9;
    const auto dir = std::filesystem::path(::testing::TempDir()) / "turbotwin_plots_test" / "nested";
    std::filesystem::remove_all(dir.parent_path());
    const auto written = write_evaluation_plots(ev, engines, dir.string(), 3);
    ASSERT_TRUE(written.ok()) << written.message();
    // Two overview charts and a life chart for each of the three engines (fewer than four).
    EXPECT_EQ(written->size(), 5u);
    for (const char* name : {"predicted_vs_true.svg", "error_by_true_rul.svg", "rul_over_life_7.svg", "rul_over_life_8.svg",
                             "rul_over_life_9.svg"}) {
        const auto text = read_text(dir / name);
        EXPECT_TRUE(text.starts_with("<?xml")) << name;
        EXPECT_TRUE(text.ends_with("</svg>\n")) << name;
    }
    EXPECT_NE(read_text(dir / "rul_over_life_8.svg").find("Engine 8 (fold 1, worst final error)"), std::string::npos);
    std::filesystem::remove_all(dir.parent_path());
}

TEST(EvaluationMarkdown, OneRowPerFoldPlusOverallWithHorizonColumns) {
    const auto ev = small_evaluation();
    const auto md = evaluation_markdown(ev, {"train_FD001.txt", 2, 5, 7, 400, 20});
    std::istringstream lines(md);
    std::string line;
    std::vector<std::string> rows;
    while (std::getline(lines, line))
        if (line.starts_with("|")) rows.push_back(line);
    // header, alignment, two folds, overall
    ASSERT_EQ(rows.size(), 5u) << md;
    const auto columns = std::count(rows[0].begin(), rows[0].end(), '|');
    for (const auto& r : rows) EXPECT_EQ(std::count(r.begin(), r.end(), '|'), columns) << r;
    EXPECT_NE(rows[0].find("α-λ 0.50"), std::string::npos);
    EXPECT_NE(rows[0].find("PH median"), std::string::npos);
    EXPECT_TRUE(rows[4].starts_with("| **overall** | 3 | 3 |")) << rows[4];
    // The overall row's cells under their headers.
    auto cells = [](const std::string& row) {
        std::vector<std::string> out;
        std::istringstream in(row.substr(1));
        std::string cell;
        while (std::getline(in, cell, '|')) out.push_back(cell.substr(1, cell.size() - 2));
        return out;
    };
    const auto header = cells(rows[0]), overall = cells(rows[4]);
    ASSERT_EQ(header.size(), overall.size());
    auto at = [&](const std::string& name) {
        const auto it = std::find(header.begin(), header.end(), name);
        return it == header.end() ? std::string("(no column ") + name + ")" : overall[std::size_t(it - header.begin())];
    };
    // alpha-lambda at 0.5: the exact engine holds; 30 late (EOL 150) is judged at cycle 76,
    // truth 74, 104 > 1.2 * 74 = 88.8: fails; 5 late (EOL 200) at cycle 101, truth 99,
    // 104 <= 118.8: holds -> 2 of 3.
    EXPECT_EQ(at("α-λ 0.50"), "0.67");
    // PH (band +-0.1 EOL): exact 119, 30 late never inside 15 -> 0, 5 late inside 20 -> 199;
    // median 119.
    EXPECT_EQ(at("PH median"), "119.0");
    EXPECT_EQ(at("early false"), "1");
    EXPECT_EQ(at("RMSE"), [&] {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.2f", ev.overall.rmse);
        return std::string(buf);
    }());
    // Early false alerts and the 2x-threshold note.
    EXPECT_NE(md.find("more than 40 cycles"), std::string::npos);
    EXPECT_NE(md.find("`train_FD001.txt`"), std::string::npos);
}

}  // namespace
