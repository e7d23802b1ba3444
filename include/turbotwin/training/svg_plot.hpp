#pragma once
/// A small hand-written SVG chart writer for evaluation plots: lines, points, shaded bands and
/// vertical whiskers on linear axes, with ticks, grid, axis labels, title and legend. No
/// dependencies, so `evaluate --plots` works on any machine that builds turbotwin.
#include <optional>
#include <string>
#include <vector>

#include "turbotwin/core/result.hpp"

namespace turbotwin::training {

/// How a series is drawn.
enum class series_style {
    line,         ///< polyline through (x, y); a non-finite value breaks it
    dashed_line,  ///< the same, dashed (reference lines such as y = x)
    points,       ///< a dot per (x, y)
    band,         ///< shaded area between lo and hi over x
    whiskers,     ///< a vertical segment from lo to hi at each x
};

struct svg_series {
    std::string label;   ///< legend text; empty keeps the series out of the legend
    series_style style = series_style::line;
    std::string colour = "#1f77b4";  ///< any SVG colour
    std::vector<double> x;
    std::vector<double> y;       ///< line, dashed_line, points
    std::vector<double> lo, hi;  ///< band, whiskers
};

struct axis_range {
    double lo = 0, hi = 1;
};

/// Where the legend sits inside the plot area: pick the corner the data leaves empty.
enum class legend_corner { top_right, top_left };

struct svg_chart {
    std::string title, x_label, y_label;
    int width_px = 800, height_px = 500;
    std::optional<axis_range> x_range, y_range;  ///< default: the data's extent rounded out to ticks
    std::vector<svg_series> layers;              ///< drawn in order, later on top
    legend_corner legend = legend_corner::top_right;
};

/// Tick positions at 1, 2 or 5 times a power of ten, about `target` of them, inside lo..hi.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// The chart as a standalone SVG 1.1 document. Non-finite data values are left out and every
/// number written is finite, so the file always renders.
std::string render_svg(const svg_chart& chart);

/// Writes render_svg(chart) to path.
Result<bool> write_svg(const svg_chart& chart, const std::string& path);

}  // namespace turbotwin::training
