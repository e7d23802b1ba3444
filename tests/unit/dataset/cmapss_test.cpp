#include "turbotwin/dataset/cmapss.hpp"

#include <gtest/gtest.h>

#include "temp_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

namespace turbotwin::dataset {
namespace {


// A real FD001 training row (unit 1, cycle 1).
constexpr const char* fd001_row =
    "1 1 -0.0007 -0.0004 100.0 518.67 641.82 1589.70 1400.60 14.62 21.61 554.36 2388.06 9046.19 "
    "1.30 47.47 521.66 2388.02 8138.62 8.4195 0.03 392 2388 100.00 39.06 23.4190";

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// A line with n numeric columns: "1 1 0 0 0 ...".
std::string columns(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s += (i < 2 ? "1" : "0.5") + std::string(i + 1 < n ? " " : "");
    return s;
}

// Replaces column `col` (0-based) of fd001_row.
std::string with_column(std::size_t col, const std::string& text) {
    std::istringstream in(fd001_row);
    std::string f, out;
    for (std::size_t i = 0; in >> f; ++i) out += (i ? " " : "") + (i == col ? text : f);
    return out;
}

struct temp_file : testing_support::temp_file {
    explicit temp_file(const std::string& contents) : testing_support::temp_file(contents, "turbotwin-cmapss-test") {}
};

// ---------------------------------------------------------------- parse_cmapss_line

TEST(parse_cmapss_line, ParsesARealRowIntoColumns) {
    auto r = parse_cmapss_line(fd001_row);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->unit, 1);
    EXPECT_EQ(r->data.cycle, 1);
    EXPECT_EQ(r->data.settings[0], -0.0007);
    EXPECT_EQ(r->data.settings[1], -0.0004);
    EXPECT_EQ(r->data.settings[2], 100.0);
    EXPECT_EQ(r->data.sensors[0], 518.67);   // T2
    EXPECT_EQ(r->data.sensors[1], 641.82);   // T24
    EXPECT_EQ(r->data.sensors[14], 8.4195);  // BPR
    EXPECT_EQ(r->data.sensors[16], 392.0);   // htBleed
    EXPECT_EQ(r->data.sensors[20], 23.4190); // W32
    EXPECT_FALSE(r->data.ts_ms.has_value());
}

TEST(parse_cmapss_line, AcceptsTrailingSpacesTabsAndCrlf) {
    for (const char* tail : {" ", "  ", "\t", " \t ", "\r", "\r\n", "  \r\n", "\n"}) {
        auto r = parse_cmapss_line(std::string(fd001_row) + tail);
        ASSERT_TRUE(r) << "tail " << ::testing::PrintToString(std::string(tail)) << ": " << r.message();
        EXPECT_EQ(r->data.sensors[20], 23.4190);
    }
}

TEST(parse_cmapss_line, AcceptsLeadingWhitespaceAndTabSeparators) {
    std::string tabbed = fd001_row;
    for (char& c : tabbed)
        if (c == ' ') c = '\t';
    for (const std::string& line : {"   " + std::string(fd001_row), tabbed}) {
        auto r = parse_cmapss_line(line);
        ASSERT_TRUE(r) << r.message();
        EXPECT_EQ(r->data.sensors[1], 641.82);
    }
}

TEST(parse_cmapss_line, RejectsTooFewColumns) {
    auto r = parse_cmapss_line(columns(25));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::parse_error);
    EXPECT_NE(r.detail().find("25"), std::string::npos) << r.detail();
}

TEST(parse_cmapss_line, RejectsTooManyColumns) {
    ASSERT_TRUE(parse_cmapss_line(columns(26)));
    auto r = parse_cmapss_line(columns(27));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::parse_error);
    EXPECT_FALSE(parse_cmapss_line(columns(100)));
}

TEST(parse_cmapss_line, RejectsBlankLines) {
    for (const char* blank : {"", " ", "\t\r\n"}) {
        auto r = parse_cmapss_line(blank);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error(), errc::parse_error);
    }
}

TEST(parse_cmapss_line, RejectsNonNumericMeasurements) {
    for (const char* bad : {"abc", "1.2.3", "12x", "--1", "0x1p3", ",", "1,5"}) {
        auto r = parse_cmapss_line(with_column(10, bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error(), errc::parse_error);
        EXPECT_NE(r.detail().find("column 11"), std::string::npos) << r.detail();
    }
}

TEST(parse_cmapss_line, RejectsInfinityText) {
    for (const char* bad : {"inf", "-inf", "Infinity", "INF", "1e999", "-1e999", "nanx", "na"}) {
        auto r = parse_cmapss_line(with_column(7, bad));
        EXPECT_FALSE(r) << bad;
        auto s = parse_cmapss_line(with_column(3, bad));  // a setting column too
        EXPECT_FALSE(s) << bad;
    }
}

TEST(parse_cmapss_line, ReadsNanAsAMissingValue) {
    // Injected sensor dropouts are written as nan: the row stays usable, that value is missing.
    for (const char* text : {"nan", "NaN", "-nan", "NAN"}) {
        auto r = parse_cmapss_line(with_column(7, text));  // T30
        ASSERT_TRUE(r) << text << ": " << r.message();
        EXPECT_TRUE(same_bits(r->data.sensors[2], missing)) << text;  // one NaN, whatever the spelling
        EXPECT_EQ(r->data.sensors[1], 641.82);                       // the neighbours are read
        EXPECT_EQ(r->data.sensors[3], 1400.60);
        auto s = parse_cmapss_line(with_column(3, text));  // a setting
        ASSERT_TRUE(s) << text;
        EXPECT_TRUE(std::isnan(s->data.settings[1]));
    }
    // The unit and cycle are never missing.
    EXPECT_FALSE(parse_cmapss_line(with_column(0, "nan")));
    EXPECT_FALSE(parse_cmapss_line(with_column(1, "nan")));
}

TEST(parse_cmapss_line, AcceptsScientificAndSignedMeasurements) {
    auto r = parse_cmapss_line(with_column(2, "-1.5e-4"));
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->data.settings[0], -1.5e-4);
}

TEST(parse_cmapss_line, UnitMustBeAPositiveInteger) {
    for (const char* bad : {"0", "-1", "1.0", "1.5", "x", "1e2", "+1"}) {
        auto r = parse_cmapss_line(with_column(0, bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.detail().find("unit"), std::string::npos) << r.detail();
    }
    auto ok = parse_cmapss_line(with_column(0, "260"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->unit, 260);
}

TEST(parse_cmapss_line, CycleMustBeAnIntegerInRange) {
    for (const char* bad : {"0", "-3", "2.5", "1000001", "99999999999999999999", "c"}) {
        auto r = parse_cmapss_line(with_column(1, bad));
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.detail().find("cycle"), std::string::npos) << r.detail();
    }
    auto hi = parse_cmapss_line(with_column(1, std::to_string(max_cycle)));
    ASSERT_TRUE(hi);
    EXPECT_EQ(hi->data.cycle, max_cycle);
}

// ---------------------------------------------------------------- read_cmapss

TEST(read_cmapss, ReportsBadLinesWithFileAndOneBasedLineNumber) {
    // GIVEN a file with good rows, blank lines (silently skipped) and two bad rows
    const std::string good2 = with_column(1, "2");
    temp_file f(std::string(fd001_row) + "\r\n" +  // line 1: ok (CRLF)
                "\n" +                              // line 2: blank
                "1 2 3\n" +                         // line 3: too few columns
                good2 + "  \n" +                    // line 4: ok, trailing spaces
                "   \t \r\n" +                      // line 5: blank (whitespace only)
                with_column(5, "inf") + "\n" +      // line 6: non-finite
                with_column(0, "2"));               // line 7: ok, no final newline
    // WHEN read
    auto file = read_cmapss(f.path());
    // THEN
    ASSERT_TRUE(file) << file.message();
    ASSERT_EQ(file->rows.size(), 3u);
    EXPECT_EQ(file->rows[0].data.cycle, 1);
    EXPECT_EQ(file->rows[1].data.cycle, 2);
    EXPECT_EQ(file->rows[2].unit, 2);
    ASSERT_EQ(file->issues.size(), 2u);
    EXPECT_EQ(file->issues[0].file, f.path());
    EXPECT_EQ(file->issues[0].line, 3u);
    EXPECT_NE(file->issues[0].message.find("parse_error"), std::string::npos) << file->issues[0].message;
    EXPECT_EQ(file->issues[1].file, f.path());
    EXPECT_EQ(file->issues[1].line, 6u);
    EXPECT_NE(file->issues[1].message.find("column 6"), std::string::npos) << file->issues[1].message;
}

TEST(read_cmapss, EmptyFileHasNoRowsAndNoIssues) {
    temp_file f("");
    auto file = read_cmapss(f.path());
    ASSERT_TRUE(file);
    EXPECT_TRUE(file->rows.empty());
    EXPECT_TRUE(file->issues.empty());
}

TEST(read_cmapss, MissingFileIsAnIoError) {
    auto file = read_cmapss("/nonexistent/turbotwin/train_FD001.txt");
    ASSERT_FALSE(file);
    EXPECT_EQ(file.error(), errc::io_error);
}

// ---------------------------------------------------------------- group_by_unit

TEST(group_by_unit, KeepsFirstAppearanceOrderAndFileOrderWithinEngine) {
    auto row = [](long unit, std::int64_t cycle) {
        cmapss_row r;
        r.unit = unit;
        r.data.cycle = cycle;
        return r;
    };
    // Interleaved units; unit 7 appears first.
    const std::vector<cmapss_row> rows = {row(7, 1), row(3, 1), row(7, 2), row(12, 1), row(3, 2), row(7, 3), row(3, 3)};
    const auto engines = group_by_unit(rows);
    ASSERT_EQ(engines.size(), 3u);
    EXPECT_EQ(engines[0].unit, 7);
    EXPECT_EQ(engines[1].unit, 3);
    EXPECT_EQ(engines[2].unit, 12);
    ASSERT_EQ(engines[0].cycles.size(), 3u);
    ASSERT_EQ(engines[1].cycles.size(), 3u);
    ASSERT_EQ(engines[2].cycles.size(), 1u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(engines[0].cycles[i].cycle, std::int64_t(i + 1));
        EXPECT_EQ(engines[1].cycles[i].cycle, std::int64_t(i + 1));
    }
}

TEST(group_by_unit, EmptyInputGivesNoEngines) { EXPECT_TRUE(group_by_unit({}).empty()); }

// ---------------------------------------------------------------- write_cmapss_row

TEST(write_cmapss_row, RoundTripsBitForBit) {
    std::mt19937_64 rng(20240601);
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    std::uniform_int_distribution<int> e(-300, 300);
    const double awkward[] = {641.82, 1e-7, 8.4195, 2388.06, -0.0, 0.1 + 0.2, 1.0 / 3.0, 5e-324,
                              1.7976931348623157e308, 98765432109876543210.0, -0.0007, 23.4190};
    for (int trial = 0; trial < 300; ++trial) {
        reading r;
        r.cycle = 1 + trial;
        std::size_t k = 0;
        for (auto& s : r.settings) s = u(rng) * 1e-3;
        for (auto& s : r.sensors) {
            // Mix the awkward constants with random mantissas over a wide exponent range.
            s = (trial % 3 == 0 && k < std::size(awkward)) ? awkward[k] : u(rng) * std::pow(10.0, e(rng));
            ++k;
        }
        const long unit = 1 + trial % 7;
        std::ostringstream out;
        write_cmapss_row(out, unit, r);
        const std::string line = out.str();
        ASSERT_FALSE(line.empty());
        EXPECT_EQ(line.back(), '\n');
        auto back = parse_cmapss_line(line);
        ASSERT_TRUE(back) << back.message() << "\n" << line;
        EXPECT_EQ(back->unit, unit);
        EXPECT_EQ(back->data.cycle, r.cycle);
        for (std::size_t i = 0; i < setting_count; ++i)
            EXPECT_TRUE(same_bits(back->data.settings[i], r.settings[i])) << "setting " << i << " in " << line;
        for (std::size_t i = 0; i < sensor_count; ++i)
            EXPECT_TRUE(same_bits(back->data.sensors[i], r.sensors[i])) << "sensor " << i << " in " << line;
    }
}

TEST(write_cmapss_row, WritesMissingAsNanAndReadsItBack) {
    reading r;  // every value missing
    r.cycle = 7;
    r.sensors[3] = 1402.5;
    r.sensors[5] = -std::numeric_limits<double>::quiet_NaN();  // a negative NaN is missing too
    std::ostringstream out;
    write_cmapss_row(out, 2, r);
    EXPECT_EQ(out.str().find("-nan"), std::string::npos) << out.str();
    auto back = parse_cmapss_line(out.str());
    ASSERT_TRUE(back) << back.message() << "\n" << out.str();
    for (std::size_t i = 0; i < sensor_count; ++i)
        EXPECT_EQ(std::isnan(back->data.sensors[i]), i != 3) << sensor_names[i];
    EXPECT_EQ(back->data.sensors[3], 1402.5);
    for (double v : back->data.settings) EXPECT_TRUE(std::isnan(v));
}

TEST(write_cmapss_row, WritesTwentySixColumnsOnOneLine) {
    reading r;
    r.cycle = 31;
    r.settings.fill(0.0);
    r.sensors.fill(1.5);
    std::ostringstream out;
    write_cmapss_row(out, 4, r);
    const std::string line = out.str();
    std::istringstream in(line);
    std::string f;
    int n = 0;
    while (in >> f) ++n;
    EXPECT_EQ(n, 26);
    EXPECT_EQ(line.rfind("4 31 ", 0), 0u) << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
}

TEST(write_cmapss_row, FileRoundTripThroughReadCmapss) {
    // GIVEN rows of two engines written with write_cmapss_row
    std::ostringstream out;
    std::vector<cmapss_row> rows;
    for (long unit : {1L, 2L})
        for (std::int64_t c = 1; c <= 5; ++c) {
            auto parsed = parse_cmapss_line(with_column(1, std::to_string(c)));
            ASSERT_TRUE(parsed);
            parsed->unit = unit;
            parsed->data.sensors[3] += 0.001 * double(c);
            rows.push_back(*parsed);
            write_cmapss_row(out, unit, parsed->data);
        }
    temp_file f(out.str());
    // WHEN read back
    auto file = read_cmapss(f.path());
    // THEN every row is identical
    ASSERT_TRUE(file);
    EXPECT_TRUE(file->issues.empty());
    ASSERT_EQ(file->rows.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        EXPECT_EQ(file->rows[i].unit, rows[i].unit);
        EXPECT_EQ(file->rows[i].data.cycle, rows[i].data.cycle);
        EXPECT_TRUE(same_bits(file->rows[i].data.sensors[3], rows[i].data.sensors[3]));
    }
    EXPECT_EQ(group_by_unit(file->rows).size(), 2u);
}

}  // namespace
}  // namespace turbotwin::dataset
