#include "turbotwin/core/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <system_error>

namespace turbotwin {
namespace {

Result<int> half(int v) {
    if (v % 2 != 0) return {errc::invalid_argument, std::to_string(v) + " is odd"};
    return v / 2;
}

TEST(Result, HoldsAValue) {
    auto r = half(10);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, 5);
    EXPECT_EQ(r.value(), 5);
    EXPECT_EQ(r.error(), errc::ok);
    EXPECT_TRUE(r.detail().empty());
    EXPECT_EQ(r.message(), "ok");
}

TEST(Result, HoldsAnErrorWithDetail) {
    auto r = half(3);
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(static_cast<bool>(r));
    EXPECT_EQ(r.error(), errc::invalid_argument);
    EXPECT_EQ(r.detail(), "3 is odd");
    EXPECT_EQ(r.message(), "invalid_argument: 3 is odd");
    EXPECT_THROW((void)r.value(), std::bad_variant_access);
}

TEST(Result, ErrorWithoutDetailHasBareLabel) {
    Result<std::string> r(errc::missing_cycle);
    EXPECT_EQ(r.error(), errc::missing_cycle);
    EXPECT_TRUE(r.detail().empty());
    EXPECT_EQ(r.message(), "missing_cycle");
}

TEST(Result, ArrowAndMoveOut) {
    Result<std::string> r(std::string("hello"));
    EXPECT_EQ(r->size(), 5u);
    r->append("!");
    std::string moved = std::move(r).value();
    EXPECT_EQ(moved, "hello!");
}

TEST(Result, WorksWithMoveOnlyTypes) {
    Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
    ASSERT_TRUE(r);
    std::unique_ptr<int> p = std::move(r).value();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 7);
}

TEST(reason_label, EveryValueHasADistinctSnakeCaseLabel) {
    std::set<std::string> labels;
    const int last = static_cast<int>(errc::invalid_argument);
    for (int v = 0; v <= last; ++v) {
        const std::string label = reason_label(static_cast<errc>(v));
        EXPECT_NE(label, "unknown") << v;
        for (char c : label) EXPECT_TRUE((c >= 'a' && c <= 'z') || c == '_') << label;
        labels.insert(label);
    }
    EXPECT_EQ(labels.size(), std::size_t(last + 1));
}

TEST(reason_label, StableLabels) {
    // These strings are metrics labels: changing one breaks dashboards.
    EXPECT_STREQ(reason_label(errc::ok), "ok");
    EXPECT_STREQ(reason_label(errc::malformed_json), "malformed_json");
    EXPECT_STREQ(reason_label(errc::bad_cycle), "bad_cycle");
    EXPECT_STREQ(reason_label(errc::duplicate_cycle), "duplicate_cycle");
    EXPECT_STREQ(reason_label(errc::out_of_order_cycle), "out_of_order_cycle");
    EXPECT_STREQ(reason_label(errc::no_valid_sensors), "no_valid_sensors");
    EXPECT_STREQ(reason_label(errc::numerical_fault), "numerical_fault");
    EXPECT_STREQ(reason_label(errc::invalid_argument), "invalid_argument");
}

TEST(reason_label, OutOfRangeValueIsUnknown) {
    EXPECT_STREQ(reason_label(static_cast<errc>(9999)), "unknown");
}

TEST(error_code, ConvertsImplicitlyAndUsesTheCategory) {
    std::error_code ec = errc::payload_too_large;
    EXPECT_EQ(ec.category().name(), std::string("turbotwin"));
    EXPECT_EQ(ec.message(), "payload_too_large");
    EXPECT_EQ(ec.value(), static_cast<int>(errc::payload_too_large));
    EXPECT_TRUE(ec == errc::payload_too_large);
    EXPECT_FALSE(ec == errc::too_deep);
    EXPECT_EQ(&ec.category(), &turbotwin_category());
}

}  // namespace
}  // namespace turbotwin
