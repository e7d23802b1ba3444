#include "turbotwin/app/explain.hpp"

#include <gtest/gtest.h>

namespace turbotwin::app {
namespace {

using nlohmann::json;

TEST(compare_states, equal_documents_have_no_difference_and_every_leaf_is_counted) {
    const json s = json::parse(R"({"cycle":12,"estimate":{"rul":17.25,"confidence":"high"},"channels":[{"level":1.5},{"level":null}]})");
    std::size_t compared = 0;
    EXPECT_TRUE(compare_states(s, s, compared).empty());
    EXPECT_EQ(compared, 5u);
}

TEST(compare_states, a_last_digit_a_missing_key_and_an_extra_element_are_each_reported_with_their_path) {
    const json stored = json::parse(R"({"estimate":{"rul":17.250000000000004,"risk":0.5},"channels":[{"level":1.5}]})");
    const json rerun = json::parse(R"({"estimate":{"rul":17.25},"channels":[{"level":1.5},{"level":2}]})");
    std::size_t compared = 0;
    const auto d = compare_states(stored, rerun, compared);
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0].path, "/channels/1");
    EXPECT_TRUE(d[0].stored.is_null());
    EXPECT_EQ(d[1].path, "/estimate/risk");
    EXPECT_TRUE(d[1].recomputed.is_null());
    EXPECT_EQ(d[2].path, "/estimate/rul");
    EXPECT_EQ(d[2].stored.get<double>(), 17.250000000000004);
}

}  // namespace
}  // namespace turbotwin::app
