// The SVG writer: well-formed XML, finite numbers only, data drawn and escaped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "turbotwin/training/svg_plot.hpp"

namespace {

using namespace turbotwin::training;

constexpr double nan_value = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_value = std::numeric_limits<double>::infinity();

struct element {
    std::string name;
    std::map<std::string, std::string> attributes;
    std::string group;  ///< class of the nearest enclosing element that has one
};

// A minimal XML reader, enough for what render_svg writes: checks that tags nest and close,
// that '&' only starts the five predefined entities, and collects every element.
struct parsed_xml {
    bool ok = true;
    std::string problem;
    std::vector<element> elements;
    std::vector<std::string> texts;  ///< character data between tags, entities left as written
};

bool valid_entity_at(const std::string& s, std::size_t i) {
    for (const char* e : {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"})
        if (s.compare(i, std::char_traits<char>::length(e), e) == 0) return true;
    return false;
}

parsed_xml parse(const std::string& doc) {
    parsed_xml out;
    auto fail = [&](const std::string& why) {
        if (out.ok) out.problem = why;
        out.ok = false;
    };
    std::vector<std::string> open, open_class;
    std::size_t i = 0;
    bool seen_root = false;
    while (i < doc.size() && out.ok) {
        if (doc[i] != '<') {
            const std::size_t end = doc.find('<', i);
            const std::string text = doc.substr(i, end == std::string::npos ? std::string::npos : end - i);
            for (std::size_t k = 0; k < text.size(); ++k)
                if (text[k] == '&' && !valid_entity_at(text, k)) fail("bare & in text: " + text);
            if (text.find('>') != std::string::npos) fail("bare > in text: " + text);
            if (text.find_first_not_of(" \n\t") != std::string::npos) {
                if (open.empty()) fail("text outside the root: " + text);
                out.texts.push_back(text);
            }
            i = end == std::string::npos ? doc.size() : end;
            continue;
        }
        const std::size_t close = doc.find('>', i);
        if (close == std::string::npos) { fail("unterminated tag"); break; }
        std::string tag = doc.substr(i + 1, close - i - 1);
        i = close + 1;
        if (tag.starts_with("?")) {
            if (!tag.ends_with("?") || seen_root) fail("bad processing instruction");
            continue;
        }
        if (tag.starts_with("/")) {
            if (open.empty() || open.back() != tag.substr(1)) fail("mismatched </" + tag.substr(1) + ">");
            else open.pop_back(), open_class.pop_back();
            continue;
        }
        const bool self_closing = tag.ends_with("/");
        if (self_closing) tag.pop_back();
        element e;
        std::size_t p = tag.find_first_of(" \n");
        e.name = tag.substr(0, p);
        if (e.name.empty()) fail("empty tag name");
        while (p != std::string::npos && p < tag.size() && out.ok) {
            p = tag.find_first_not_of(" \n", p);
            if (p == std::string::npos) break;
            const std::size_t eq = tag.find('=', p);
            if (eq == std::string::npos || eq + 1 >= tag.size() || tag[eq + 1] != '"') { fail("bad attribute in <" + tag + ">"); break; }
            const std::size_t end = tag.find('"', eq + 2);
            if (end == std::string::npos) { fail("unterminated attribute in <" + tag + ">"); break; }
            const std::string name = tag.substr(p, eq - p), value = tag.substr(eq + 2, end - eq - 2);
            for (std::size_t k = 0; k < value.size(); ++k)
                if ((value[k] == '&' && !valid_entity_at(value, k)) || value[k] == '<') fail("bad character in " + name);
            if (!e.attributes.emplace(name, value).second) fail("duplicate attribute " + name);
            p = end + 1;
        }
        if (open.empty()) {
            if (seen_root) fail("second root element");
            seen_root = true;
        }
        for (auto it = open_class.rbegin(); it != open_class.rend(); ++it)
            if (!it->empty()) { e.group = *it; break; }
        out.elements.push_back(e);
        if (!self_closing) {
            open.push_back(e.name);
            open_class.push_back(e.attributes.count("class") ? e.attributes.at("class") : "");
        }
    }
    if (out.ok && !open.empty()) fail("unclosed <" + open.back() + ">");
    if (out.ok && !seen_root) fail("no root element");
    return out;
}

// Parses a number the way an SVG reader would and insists it is finite and the whole token.
bool finite_number(const std::string& token) {
    if (token.empty()) return false;
    char* end = nullptr;
    const double v = std::strtod(token.c_str(), &end);
    return end == token.c_str() + token.size() && std::isfinite(v);
}

// Every number in the numeric attributes and in path data is finite.
void expect_all_numbers_finite(const parsed_xml& xml) {
    static const std::vector<std::string> numeric = {"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height",
                                                     "stroke-width", "fill-opacity", "stroke-opacity"};
    for (const auto& e : xml.elements) {
        for (const auto& name : numeric) {
            const auto it = e.attributes.find(name);
            if (it != e.attributes.end()) {
                EXPECT_TRUE(finite_number(it->second)) << e.name << " " << name << "=" << it->second;
            }
        }
        for (const char* list_attribute : {"d", "viewBox", "transform", "stroke-dasharray"}) {
            const auto it = e.attributes.find(list_attribute);
            if (it == e.attributes.end()) continue;
            std::string token;
            auto flush = [&] {
                if (!token.empty()) {
                    EXPECT_TRUE(finite_number(token)) << e.name << " " << list_attribute << ": " << token;
                }
                token.clear();
            };
            for (char c : it->second) {
                // An 'e' continues a number (exponent) but cannot start one: "rotate(" is not a number.
                if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' || (c == 'e' && !token.empty()))
                    token += c;
                else flush();  // separators and path commands (M L Z) end a number
            }
            flush();
        }
    }
}

svg_chart every_style_with_bad_values() {
    svg_chart c;
    c.title = "Errors <late & early>";
    c.x_label = "true RUL \"cycles\"";
    c.y_label = "it's RUL";
    c.layers = {
        {"band", series_style::band, "#1f77b4", {0, 10, 20, 30, 40}, {}, {0, 5, nan_value, 15, 20}, {10, 15, 20, inf_value, 30}},
        {"whiskers", series_style::whiskers, "#555555", {0, 10, 20}, {}, {-5, nan_value, 15}, {5, 12, 25}},
        {"line", series_style::line, "#222222", {0, 10, nan_value, 30, 40}, {1, 2, 3, 4, 5}, {}, {}},
        {"reference", series_style::dashed_line, "#222222", {0, 40}, {0, 40}, {}, {}},
        {"points", series_style::points, "#ff7f0e", {0, 10, 20, 30, 40}, {3, -inf_value, 7, nan_value, 1e300}, {}, {}},
        {"", series_style::line, "#000000", {0, 40}, {0, 0}, {}, {}},
    };
    return c;
}

TEST(SvgPlot, WellFormedAndFiniteWithNonFiniteData) {
    // GIVEN every series style, with NaN, inf and a huge value in the data and markup in the labels
    const auto svg = render_svg(every_style_with_bad_values());
    // WHEN read back
    const auto xml = parse(svg);
    // THEN it is well-formed XML whose root is an svg element
    ASSERT_TRUE(xml.ok) << xml.problem << "\n" << svg;
    ASSERT_FALSE(xml.elements.empty());
    EXPECT_EQ(xml.elements.front().name, "svg");
    EXPECT_EQ(xml.elements.front().attributes.at("xmlns"), "http://www.w3.org/2000/svg");
    // AND every number in it is finite
    expect_all_numbers_finite(xml);
}

TEST(SvgPlot, DrawsOnlyFiniteValuesAndEscapesText) {
    const auto xml = parse(render_svg(every_style_with_bad_values()));
    ASSERT_TRUE(xml.ok) << xml.problem;
    auto in_group = [&](const std::string& name, const std::string& group) {
        std::vector<const element*> found;
        for (const auto& e : xml.elements)
            if (e.name == name && (e.group == group || (e.attributes.count("class") && e.attributes.at("class") == group)))
                found.push_back(&e);
        return found;
    };
    // Points: (0,3), (20,7) and (40,1e300) are finite; the -inf and NaN ones are left out.
    EXPECT_EQ(in_group("circle", "points").size(), 3u);
    // Whiskers: two of three are finite (the NaN lo drops one), each vertical.
    const auto whiskers = in_group("line", "whiskers");
    EXPECT_EQ(whiskers.size(), 2u);
    for (const auto* w : whiskers) EXPECT_EQ(w->attributes.at("x1"), w->attributes.at("x2"));
    // The band breaks at the NaN lo and the inf hi into two closed runs: x {0, 10} and {40}.
    const auto bands = in_group("path", "band");
    ASSERT_EQ(bands.size(), 1u);
    const auto& band = bands[0]->attributes.at("d");
    EXPECT_EQ(std::count(band.begin(), band.end(), 'Z'), 2) << band;
    // Lines: the broken one has two subpaths; the dashed reference one, and the unlabelled one.
    const auto lines = in_group("path", "line");
    ASSERT_EQ(lines.size(), 3u);
    const auto& broken = lines[0]->attributes.at("d");
    EXPECT_EQ(std::count(broken.begin(), broken.end(), 'M'), 2) << broken;
    EXPECT_EQ(lines[1]->attributes.count("stroke-dasharray"), 1u);
    // The legend lists the five labelled series, not the unlabelled one.
    std::size_t legend_texts = 0;
    for (const auto& e : xml.elements) legend_texts += e.name == "text" && e.group == "legend";
    EXPECT_EQ(legend_texts, 5u);
    // Title and labels are escaped, and the unlabelled series is not in the legend.
    const auto has_text = [&](const std::string& t) { return std::find(xml.texts.begin(), xml.texts.end(), t) != xml.texts.end(); };
    EXPECT_TRUE(has_text("Errors &lt;late &amp; early&gt;"));
    EXPECT_TRUE(has_text("true RUL &quot;cycles&quot;"));
    EXPECT_TRUE(has_text("it&apos;s RUL"));
    for (const char* label : {"band", "whiskers", "line", "reference", "points"}) EXPECT_TRUE(has_text(label)) << label;
}

TEST(SvgPlot, EmptyChartStillRenders) {
    svg_chart c;
    c.title = "nothing";
    const auto xml = parse(render_svg(c));
    ASSERT_TRUE(xml.ok) << xml.problem;
    expect_all_numbers_finite(xml);
}

TEST(SvgPlot, FixedRangeMapsDataToThePlotArea) {
    // GIVEN a 800x500 chart with x and y in 0..100 and one point at each corner and the centre
    svg_chart c;
    c.x_range = axis_range{0, 100};
    c.y_range = axis_range{0, 100};
    c.layers = {{"", series_style::points, "#000000", {0, 100, 50}, {0, 100, 50}, {}, {}}};
    const auto xml = parse(render_svg(c));
    ASSERT_TRUE(xml.ok) << xml.problem;
    std::vector<std::pair<double, double>> centres;
    for (const auto& e : xml.elements)
        if (e.name == "circle") centres.emplace_back(std::stod(e.attributes.at("cx")), std::stod(e.attributes.at("cy")));
    ASSERT_EQ(centres.size(), 3u);
    // THEN larger x is further right, larger y higher up (smaller SVG y), the centre in between
    EXPECT_LT(centres[0].first, centres[2].first);
    EXPECT_LT(centres[2].first, centres[1].first);
    EXPECT_GT(centres[0].second, centres[2].second);
    EXPECT_GT(centres[2].second, centres[1].second);
    EXPECT_NEAR(centres[2].first, (centres[0].first + centres[1].first) / 2, 0.1);
    // AND everything lies inside the 800x500 canvas
    for (const auto& [x, y] : centres) {
        EXPECT_GT(x, 0);
        EXPECT_LT(x, 800);
        EXPECT_GT(y, 0);
        EXPECT_LT(y, 500);
    }
}

TEST(SvgPlot, AutomaticAxesStartAndEndOnAGridLine) {
    // GIVEN data over x 1..172 and y 0.3..0.9 with no fixed ranges
    svg_chart c;
    c.layers = {{"", series_style::line, "#000000", {1, 50, 172}, {0.3, 0.9, 0.5}, {}, {}}};
    const auto xml = parse(render_svg(c));
    ASSERT_TRUE(xml.ok) << xml.problem;
    // The plot frame: the unfilled rectangle drawn over the data.
    const element* plot_frame = nullptr;
    for (const auto& e : xml.elements)
        if (e.name == "rect" && e.group.empty() && e.attributes.count("fill") && e.attributes.at("fill") == "none") plot_frame = &e;
    ASSERT_NE(plot_frame, nullptr);
    const double left = std::stod(plot_frame->attributes.at("x")), top = std::stod(plot_frame->attributes.at("y"));
    const double right = left + std::stod(plot_frame->attributes.at("width"));
    const double bottom = top + std::stod(plot_frame->attributes.at("height"));
    // THEN the outermost vertical and horizontal grid lines lie on the frame's edges, so both
    // ends of each axis carry a tick label
    double min_x = 1e9, max_x = -1e9, min_y = 1e9, max_y = -1e9;
    for (const auto& e : xml.elements) {
        if (e.name != "line" || e.group != "grid") continue;
        if (e.attributes.at("x1") == e.attributes.at("x2")) {
            min_x = std::min(min_x, std::stod(e.attributes.at("x1")));
            max_x = std::max(max_x, std::stod(e.attributes.at("x1")));
        } else {
            min_y = std::min(min_y, std::stod(e.attributes.at("y1")));
            max_y = std::max(max_y, std::stod(e.attributes.at("y1")));
        }
    }
    EXPECT_NEAR(min_x, left, 0.11);
    EXPECT_NEAR(max_x, right, 0.11);
    EXPECT_NEAR(min_y, top, 0.11);
    EXPECT_NEAR(max_y, bottom, 0.11);
}

TEST(NiceTicks, RoundStepsInsideTheRange) {
    // 0..137 with about 6 ticks: raw step 22.8 -> 20; ticks 0, 20, ..., 120.
    const auto a = nice_ticks(0, 137);
    const std::vector<double> expected_a = {0, 20, 40, 60, 80, 100, 120};
    ASSERT_EQ(a.size(), expected_a.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], expected_a[i], 1e-9);
    // -0.3..0.9: raw step 0.2 -> 0.2; ticks -0.2, 0, ..., 0.8.
    const auto b = nice_ticks(-0.3, 0.9);
    ASSERT_EQ(b.size(), 6u);
    for (std::size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(b[i], -0.2 + 0.2 * double(i), 1e-9);
    // Nothing for an empty or non-finite range.
    EXPECT_TRUE(nice_ticks(5, 5).empty());
    EXPECT_TRUE(nice_ticks(0, nan_value).empty());
    // A huge offset with a tiny spread does not loop forever.
    EXPECT_LE(nice_ticks(1e17, 1e17 + 1e3).size(), 100u);
}

}  // namespace
