#include "turbotwin/core/reading.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

namespace turbotwin {
namespace {

TEST(valid_asset_id, AcceptsTheDocumentedAlphabet) {
    EXPECT_TRUE(valid_asset_id("ENG-001"));
    EXPECT_TRUE(valid_asset_id("a"));
    EXPECT_TRUE(valid_asset_id("fleet_7.engine-2"));
    EXPECT_TRUE(valid_asset_id("ABCXYZabcxyz0189._-"));
    EXPECT_TRUE(valid_asset_id("x."));  // a dot is only forbidden in front
}

TEST(valid_asset_id, EnforcesLengthOneToSixtyFour) {
    EXPECT_FALSE(valid_asset_id(""));
    EXPECT_TRUE(valid_asset_id(std::string(64, 'a')));
    EXPECT_FALSE(valid_asset_id(std::string(65, 'a')));
}

TEST(valid_asset_id, RejectsLeadingDot) {
    EXPECT_FALSE(valid_asset_id("."));
    EXPECT_FALSE(valid_asset_id(".."));
    EXPECT_FALSE(valid_asset_id(".hidden"));
}

TEST(valid_asset_id, RejectsCharactersThatBreakTopicsOrUrls) {
    for (const char* id : {"ENG 1", "ENG/1", "ENG+", "ENG#", "a;b", "a?b", "a%20", "a\\b", "a:b", "a\tb", "a\nb", "\xc3\xa9t\xc3\xa9"})
        EXPECT_FALSE(valid_asset_id(id)) << id;
    // An embedded NUL must not terminate the check early.
    EXPECT_FALSE(valid_asset_id(std::string_view("ab\0cd", 5)));
}

TEST(asset_id_for_unit, ZeroPadsToThreeDigits) {
    EXPECT_EQ(asset_id_for_unit("ENG-", 1), "ENG-001");
    EXPECT_EQ(asset_id_for_unit("ENG-", 42), "ENG-042");
    EXPECT_EQ(asset_id_for_unit("ENG-", 100), "ENG-100");
    EXPECT_EQ(asset_id_for_unit("ENG-", 1234), "ENG-1234");  // wider units are not truncated
    EXPECT_EQ(asset_id_for_unit("", 7), "007");
}

TEST(asset_id_for_unit, ProducesValidIds) {
    for (long unit : {1L, 99L, 100L, 260L, 999999L}) EXPECT_TRUE(valid_asset_id(asset_id_for_unit("FD001-", unit))) << unit;
}

TEST(sensor_index, FindsEveryMnemonicAtItsColumn) {
    for (std::size_t i = 0; i < sensor_count; ++i) {
        auto idx = sensor_index(sensor_names[i]);
        ASSERT_TRUE(idx.has_value()) << sensor_names[i];
        EXPECT_EQ(*idx, i);
    }
    // Spot checks against the C-MAPSS column order.
    EXPECT_EQ(sensor_index("T2"), 0u);
    EXPECT_EQ(sensor_index("T24"), 1u);
    EXPECT_EQ(sensor_index("Ps30"), 10u);
    EXPECT_EQ(sensor_index("W32"), 20u);
}

TEST(sensor_index, IsExactAndCaseSensitive) {
    EXPECT_FALSE(sensor_index("t24").has_value());
    EXPECT_FALSE(sensor_index("T24 ").has_value());
    EXPECT_FALSE(sensor_index("").has_value());
    EXPECT_FALSE(sensor_index("T").has_value());
    EXPECT_FALSE(sensor_index("altitude").has_value());  // a setting, not a sensor
}

TEST(setting_index, FindsTheThreeSettings) {
    EXPECT_EQ(setting_index("altitude"), 0u);
    EXPECT_EQ(setting_index("mach"), 1u);
    EXPECT_EQ(setting_index("tra"), 2u);
    EXPECT_FALSE(setting_index("T24").has_value());
}

TEST(sensor_names, AreUnique) {
    std::set<std::string_view> seen(sensor_names.begin(), sensor_names.end());
    EXPECT_EQ(seen.size(), sensor_count);
}

TEST(reading, DefaultsToAllMissing) {
    reading r;
    EXPECT_EQ(r.cycle, 0);
    EXPECT_FALSE(r.ts_ms.has_value());
    for (double s : r.settings) EXPECT_TRUE(std::isnan(s));
    for (double s : r.sensors) EXPECT_TRUE(std::isnan(s));
}

}  // namespace
}  // namespace turbotwin
