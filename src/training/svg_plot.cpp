#include "turbotwin/training/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

namespace turbotwin::training {

namespace {

// Plot area margins in pixels: room for the title above, tick labels and axis titles left and below.
constexpr double margin_left = 72, margin_right = 24, margin_top = 48, margin_bottom = 58;
// Pixel coordinates are clamped here: a value far outside the axis range (clipped anyway)
// must not overflow to inf and make the file unreadable.
constexpr double pixel_limit = 1e6;
// About this many ticks per axis: enough to read values off, few enough for the labels to fit.
constexpr int tick_target = 6;

std::string escape_xml(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

// One decimal is a tenth of a pixel: plenty, and it keeps files small.
std::string px(double v) {
    if (!std::isfinite(v)) v = 0;
    v = std::clamp(v, -pixel_limit, pixel_limit);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
}

// A tick label with as many decimals as the tick step needs (0.25 steps need 2, 20 steps 0).
std::string tick_label(double v, double step) {
    int decimals = 0;
    if (step > 0 && step < 1) decimals = std::min(6, int(std::ceil(-std::log10(step) - 1e-9)));
    if (std::abs(v) < step * 1e-6) v = 0;  // no "-0"
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

double tick_step(double lo, double hi, int target) {
    const double raw = (hi - lo) / std::max(1, target);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double norm = raw / magnitude;
    const double nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
    return nice * magnitude;
}

// Extent of the finite values; nullopt when there are none.
std::optional<axis_range> extent(const std::vector<const std::vector<double>*>& columns) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (const auto* col : columns)
        for (double v : *col)
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
    if (lo > hi) return std::nullopt;
    return axis_range{lo, hi};
}

// The data's extent widened to whole tick steps, so the axes start and end on a labelled tick.
// Widening can change the step nice_ticks picks for the new range (1..172 rounds to 0..180 by
// 20s, which nice_ticks labels by 50s), so round again until the step settles.
axis_range auto_range(std::optional<axis_range> data) {
    if (!data) return {0, 1};
    axis_range r = *data;
    if (r.hi - r.lo < 1e-9 * std::max(1.0, std::abs(r.hi))) {
        r.lo -= 1;
        r.hi += 1;
    }
    for (int pass = 0; pass < 4; ++pass) {
        const double step = tick_step(r.lo, r.hi, tick_target);
        const axis_range rounded{std::floor(r.lo / step) * step, std::ceil(r.hi / step) * step};
        if (!std::isfinite(rounded.lo) || !std::isfinite(rounded.hi) || rounded.hi <= rounded.lo) return {0, 1};
        if (rounded.lo == r.lo && rounded.hi == r.hi) break;
        r = rounded;
    }
    return r;
}

struct frame {
    axis_range x, y;
    double left, top, width, height;
    double map_x(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * width; }
    double map_y(double v) const { return top + height - (v - y.lo) / (y.hi - y.lo) * height; }
};

// Path data through the finite points, a new subpath after each gap.
std::string polyline_path(const frame& f, const std::vector<double>& xs, const std::vector<double>& ys) {
    std::string d;
    bool pen_down = false;
    const std::size_t n = std::min(xs.size(), ys.size());
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) {
            pen_down = false;
            continue;
        }
        d += pen_down ? " L" : (d.empty() ? "M" : " M");
        d += px(f.map_x(xs[i])) + " " + px(f.map_y(ys[i]));
        pen_down = true;
    }
    return d;
}

// Closed polygons along hi forwards and lo backwards, one per run of finite values.
std::string band_path(const frame& f, const std::vector<double>& xs, const std::vector<double>& lo,
                      const std::vector<double>& hi) {
    std::string d;
    const std::size_t n = std::min({xs.size(), lo.size(), hi.size()});
    std::size_t i = 0;
    while (i < n) {
        auto finite = [&](std::size_t k) { return std::isfinite(xs[k]) && std::isfinite(lo[k]) && std::isfinite(hi[k]); };
        while (i < n && !finite(i)) ++i;
        const std::size_t begin = i;
        while (i < n && finite(i)) ++i;
        if (i == begin) continue;
        if (!d.empty()) d += " ";
        for (std::size_t k = begin; k < i; ++k) d += (k == begin ? "M" : " L") + px(f.map_x(xs[k])) + " " + px(f.map_y(hi[k]));
        for (std::size_t k = i; k-- > begin;) d += " L" + px(f.map_x(xs[k])) + " " + px(f.map_y(lo[k]));
        d += " Z";
    }
    return d;
}

void draw_series(std::ostringstream& out, const frame& f, const svg_series& s) {
    const std::string colour = escape_xml(s.colour);
    switch (s.style) {
        case series_style::line:
        case series_style::dashed_line: {
            const auto d = polyline_path(f, s.x, s.y);
            if (d.empty()) return;
            out << "<path class=\"line\" d=\"" << d << "\" fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.8\""
                << (s.style == series_style::dashed_line ? " stroke-dasharray=\"6 4\"" : "") << "/>\n";
            return;
        }
        case series_style::points: {
            out << "<g class=\"points\" fill=\"" << colour << "\" fill-opacity=\"0.65\">\n";
            const std::size_t n = std::min(s.x.size(), s.y.size());
            for (std::size_t i = 0; i < n; ++i)
                if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]))
                    out << "<circle cx=\"" << px(f.map_x(s.x[i])) << "\" cy=\"" << px(f.map_y(s.y[i])) << "\" r=\"2.6\"/>\n";
            out << "</g>\n";
            return;
        }
        case series_style::band: {
            const auto d = band_path(f, s.x, s.lo, s.hi);
            if (d.empty()) return;
            out << "<path class=\"band\" d=\"" << d << "\" fill=\"" << colour << "\" fill-opacity=\"0.22\" stroke=\"none\"/>\n";
            return;
        }
        case series_style::whiskers: {
            out << "<g class=\"whiskers\" stroke=\"" << colour << "\" stroke-opacity=\"0.35\" stroke-width=\"1\">\n";
            const std::size_t n = std::min({s.x.size(), s.lo.size(), s.hi.size()});
            for (std::size_t i = 0; i < n; ++i)
                if (std::isfinite(s.x[i]) && std::isfinite(s.lo[i]) && std::isfinite(s.hi[i])) {
                    const auto x = px(f.map_x(s.x[i]));
                    out << "<line x1=\"" << x << "\" y1=\"" << px(f.map_y(s.lo[i])) << "\" x2=\"" << x << "\" y2=\""
                        << px(f.map_y(s.hi[i])) << "\"/>\n";
                }
            out << "</g>\n";
            return;
        }
    }
}

void draw_legend(std::ostringstream& out, const frame& f, const std::vector<svg_series>& layers, legend_corner corner) {
    std::vector<const svg_series*> shown;
    std::size_t longest = 0;
    for (const auto& s : layers)
        if (!s.label.empty()) {
            shown.push_back(&s);
            longest = std::max(longest, s.label.size());
        }
    if (shown.empty()) return;
    // Inside the plot; sans-serif at 12 px averages about 6.5 px a character.
    const double row = 18, swatch = 22, box_w = 20 + swatch + 6.5 * double(longest), box_h = 8 + row * double(shown.size());
    const double x0 = corner == legend_corner::top_left ? f.left + 8 : f.left + f.width - box_w - 8, y0 = f.top + 8;
    out << "<g class=\"legend\">\n<rect x=\"" << px(x0) << "\" y=\"" << px(y0) << "\" width=\"" << px(box_w) << "\" height=\""
        << px(box_h) << "\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#999999\"/>\n";
    for (std::size_t i = 0; i < shown.size(); ++i) {
        const auto& s = *shown[i];
        const std::string colour = escape_xml(s.colour);
        const double cy = y0 + 4 + row * (double(i) + 0.5), sx = x0 + 8;
        switch (s.style) {
            case series_style::line:
            case series_style::dashed_line:
                out << "<line x1=\"" << px(sx) << "\" y1=\"" << px(cy) << "\" x2=\"" << px(sx + swatch) << "\" y2=\"" << px(cy)
                    << "\" stroke=\"" << colour << "\" stroke-width=\"1.8\""
                    << (s.style == series_style::dashed_line ? " stroke-dasharray=\"6 4\"" : "") << "/>\n";
                break;
            case series_style::points:
                out << "<circle cx=\"" << px(sx + swatch / 2) << "\" cy=\"" << px(cy) << "\" r=\"3\" fill=\"" << colour << "\"/>\n";
                break;
            case series_style::band:
                out << "<rect x=\"" << px(sx) << "\" y=\"" << px(cy - 6) << "\" width=\"" << px(swatch) << "\" height=\"12\" fill=\""
                    << colour << "\" fill-opacity=\"0.22\"/>\n";
                break;
            case series_style::whiskers:
                out << "<line x1=\"" << px(sx + swatch / 2) << "\" y1=\"" << px(cy - 7) << "\" x2=\"" << px(sx + swatch / 2)
                    << "\" y2=\"" << px(cy + 7) << "\" stroke=\"" << colour << "\" stroke-opacity=\"0.5\"/>\n";
                break;
        }
        out << "<text x=\"" << px(sx + swatch + 8) << "\" y=\"" << px(cy + 4) << "\">" << escape_xml(s.label) << "</text>\n";
    }
    out << "</g>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target) {
    if (!std::isfinite(lo) || !std::isfinite(hi) || hi <= lo) return {};
    const double step = tick_step(lo, hi, target);
    std::vector<double> ticks;
    // Multiples of step, computed from an integer index so errors do not accumulate.
    // The cap stops a degenerate range (huge values, tiny spread) from looping where k + 1 == k.
    if (!std::isfinite(step) || step <= 0) return {};
    for (double k = std::ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && ticks.size() < 100; k += 1)
        ticks.push_back(k * step);
    return ticks;
}

std::string render_svg(const svg_chart& chart) {
    std::vector<const std::vector<double>*> xs, ys;
    for (const auto& s : chart.layers) {
        xs.push_back(&s.x);
        ys.push_back(&s.y);
        ys.push_back(&s.lo);
        ys.push_back(&s.hi);
    }
    auto valid = [](const std::optional<axis_range>& r) {
        return r && std::isfinite(r->lo) && std::isfinite(r->hi) && r->hi > r->lo;
    };
    frame f;
    f.x = valid(chart.x_range) ? *chart.x_range : auto_range(extent(xs));
    f.y = valid(chart.y_range) ? *chart.y_range : auto_range(extent(ys));
    const double w = std::max(200, chart.width_px), h = std::max(150, chart.height_px);
    f.left = margin_left;
    f.top = margin_top;
    f.width = w - margin_left - margin_right;
    f.height = h - margin_top - margin_bottom;

    std::ostringstream out;
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << px(w) << "\" height=\"" << px(h)
        << "\" viewBox=\"0 0 " << px(w) << " " << px(h) << "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"
        << "<defs><clipPath id=\"plot-area\"><rect x=\"" << px(f.left) << "\" y=\"" << px(f.top) << "\" width=\"" << px(f.width)
        << "\" height=\"" << px(f.height) << "\"/></clipPath></defs>\n"
        << "<rect x=\"0\" y=\"0\" width=\"" << px(w) << "\" height=\"" << px(h) << "\" fill=\"white\"/>\n";

    // Grid and tick labels.
    const auto x_ticks = nice_ticks(f.x.lo, f.x.hi, tick_target), y_ticks = nice_ticks(f.y.lo, f.y.hi, tick_target);
    const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1, y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
    out << "<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n";
    for (double t : x_ticks)
        out << "<line x1=\"" << px(f.map_x(t)) << "\" y1=\"" << px(f.top) << "\" x2=\"" << px(f.map_x(t)) << "\" y2=\""
            << px(f.top + f.height) << "\"/>\n";
    for (double t : y_ticks)
        out << "<line x1=\"" << px(f.left) << "\" y1=\"" << px(f.map_y(t)) << "\" x2=\"" << px(f.left + f.width) << "\" y2=\""
            << px(f.map_y(t)) << "\"/>\n";
    out << "</g>\n<g class=\"ticks\" fill=\"#333333\">\n";
    for (double t : x_ticks)
        out << "<text x=\"" << px(f.map_x(t)) << "\" y=\"" << px(f.top + f.height + 17) << "\" text-anchor=\"middle\">"
            << tick_label(t, x_step) << "</text>\n";
    for (double t : y_ticks)
        out << "<text x=\"" << px(f.left - 7) << "\" y=\"" << px(f.map_y(t) + 4) << "\" text-anchor=\"end\">" << tick_label(t, y_step)
            << "</text>\n";
    out << "</g>\n";

    out << "<g class=\"data\" clip-path=\"url(#plot-area)\">\n";
    for (const auto& s : chart.layers) draw_series(out, f, s);
    out << "</g>\n";

    out << "<rect x=\"" << px(f.left) << "\" y=\"" << px(f.top) << "\" width=\"" << px(f.width) << "\" height=\"" << px(f.height)
        << "\" fill=\"none\" stroke=\"#333333\"/>\n";
    out << "<text x=\"" << px(w / 2) << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">"
        << escape_xml(chart.title) << "</text>\n";
    out << "<text x=\"" << px(f.left + f.width / 2) << "\" y=\"" << px(h - 14) << "\" text-anchor=\"middle\" font-size=\"13\">"
        << escape_xml(chart.x_label) << "</text>\n";
    const double y_mid = f.top + f.height / 2;
    out << "<text x=\"18\" y=\"" << px(y_mid) << "\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 " << px(y_mid)
        << ")\">" << escape_xml(chart.y_label) << "</text>\n";
    draw_legend(out, f, chart.layers, chart.legend);
    out << "</svg>\n";
    return out.str();
}

Result<bool> write_svg(const svg_chart& chart, const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    if (!out) return {errc::io_error, "cannot write " + path};
    out << render_svg(chart);
    if (!out) return {errc::io_error, "write failed: " + path};
    return true;
}

}  // namespace turbotwin::training
