#include <gtest/gtest.h>

#include "turbotwin/http/target.hpp"

namespace turbotwin::http {
namespace {

using pairs = std::vector<std::pair<std::string, std::string>>;

TEST(percent_decode, decodes_escapes_and_optionally_plus) {
    EXPECT_EQ(percent_decode("a%20b%2Fc", false).value(), "a b/c");
    EXPECT_EQ(percent_decode("a+b", false).value(), "a+b");
    EXPECT_EQ(percent_decode("a+b", true).value(), "a b");
    EXPECT_EQ(percent_decode("%e2%82%AC", false).value(), "\xe2\x82\xac");
}

TEST(percent_decode, rejects_bad_escapes_and_nul) {
    for (const char* bad : {"%", "%2", "abc%", "%zz", "%2g", "%g2", "%00", "a%00b"}) {
        const auto r = percent_decode(bad, false);
        EXPECT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error(), errc::parse_error) << bad;
    }
    EXPECT_FALSE(percent_decode(std::string_view("a\0b", 3), false).ok());
}

TEST(parse_target, splits_path_and_query_in_order) {
    const auto t = parse_target("/api/v1/assets?limit=5&name=a%20b%26c+d&flag&&empty=");
    ASSERT_TRUE(t.ok()) << t.message();
    EXPECT_EQ(t->path, "/api/v1/assets");
    EXPECT_EQ(t->query, (pairs{{"limit", "5"}, {"name", "a b&c d"}, {"flag", ""}, {"empty", ""}}));
}

TEST(parse_target, decodes_path_but_keeps_plus) {
    const auto t = parse_target("/a%20b/c+d");
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->path, "/a b/c+d");
    EXPECT_TRUE(t->query.empty());
}

TEST(parse_target, accepts_absolute_form_and_drops_fragment) {
    EXPECT_EQ(parse_target("http://localhost:8080/x?y=1")->path, "/x");
    EXPECT_EQ(parse_target("HTTP://localhost:8080/x?y=1")->query, (pairs{{"y", "1"}}));
    EXPECT_EQ(parse_target("http://localhost")->path, "/");
    EXPECT_EQ(parse_target("http://localhost?a=b")->query, (pairs{{"a", "b"}}));
    EXPECT_EQ(parse_target("/p#frag?x=1")->path, "/p");
}

TEST(parse_target, rejects_traversal_nul_and_bad_forms) {
    for (const char* bad : {"/../../etc/passwd", "/api/v1/assets/..%2F..%2Fetc%2Fpasswd", "/a/%2e%2e/b", "/a/..",
                            "/a/.%2E", "/a/./b", "/a/..%5Cb", "/a%00b", "/a?x=%00", "/a%zz", "/a?x=%2", "*",
                            "", "api/v1", "localhost:443", "/a%0d%0aSet-Cookie:x"}) {
        const auto r = parse_target(bad);
        EXPECT_FALSE(r.ok()) << bad;
    }
    // Dots inside a segment are just characters.
    EXPECT_TRUE(parse_target("/a/..b/c../.../x.json").ok());
}

}  // namespace
}  // namespace turbotwin::http
