#include "turbotwin/app/access.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "api_tokens.hpp"

namespace turbotwin::app {
namespace {

http::request with_auth(std::string value) {
    http::request r;
    r.method = "POST";
    r.headers.emplace_back("authorization", std::move(value));
    return r;
}

using testing_support::op_token;
using testing_support::view_token;

access_policy two_tokens(bool reads_need_auth = false) {
    auto tokens = parse_token_list("operator:" + op_token + ", viewer:" + view_token);
    EXPECT_TRUE(tokens.ok()) << tokens.message();
    return access_policy(*tokens, reads_need_auth);
}

std::optional<std::string> header(const http::response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return std::nullopt;
}

TEST(sha256, matches_the_standard_test_vector) {
    // FIPS 180-2 example "abc".
    EXPECT_EQ(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auto d = digest_from_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, sha256("abc"));
    EXPECT_FALSE(digest_from_hex("ba7816"));
    EXPECT_FALSE(digest_from_hex(std::string(64, 'g')));
}

TEST(token_list, parses_roles_and_names_tokens_by_hash_not_by_value) {
    auto t = parse_token_list("operator:" + op_token + ",viewer:" + view_token + ",");
    ASSERT_TRUE(t.ok()) << t.message();
    ASSERT_EQ(t->size(), 2u);
    EXPECT_EQ((*t)[0].grants, role::operator_);
    EXPECT_EQ((*t)[0].hash, sha256(op_token));
    EXPECT_EQ((*t)[0].name, "operator-" + to_hex(sha256(op_token)).substr(0, 8));
    EXPECT_EQ((*t)[1].grants, role::viewer);
    EXPECT_EQ(parse_token_list("")->size(), 0u);
}

TEST(token_list, refuses_bad_entries_without_echoing_the_token) {
    for (std::string bad : std::vector<std::string>{"admin:" + op_token, op_token, "operator:short", "viewer:"}) {
        auto t = parse_token_list(bad);
        ASSERT_FALSE(t.ok()) << bad;
        EXPECT_EQ(t.error(), errc::invalid_argument);
        EXPECT_EQ(t.detail().find(op_token), std::string::npos) << t.detail();
    }
}

TEST(access_policy, knows_the_role_of_each_token) {
    const auto policy = two_tokens();
    auto op = policy.identify(with_auth("Bearer " + op_token));
    ASSERT_TRUE(op);
    EXPECT_EQ(op->grants, role::operator_);
    auto viewer = policy.identify(with_auth("bearer " + view_token));  // the scheme is case-insensitive
    ASSERT_TRUE(viewer);
    EXPECT_EQ(viewer->grants, role::viewer);
    EXPECT_FALSE(policy.identify(with_auth("Bearer " + op_token + "x")));
    EXPECT_FALSE(policy.identify(with_auth("Basic " + op_token)));
    EXPECT_FALSE(policy.identify(with_auth("Bearer ")));
    EXPECT_FALSE(policy.identify(http::request{}));
}

TEST(access_policy, answers_401_without_a_valid_token_and_403_for_a_weak_role) {
    const auto policy = two_tokens();
    auto none = policy.require(http::request{}, role::operator_);
    ASSERT_TRUE(none);
    EXPECT_EQ(none->status, 401u);
    EXPECT_EQ(header(*none, "WWW-Authenticate"), R"(Bearer realm="turbotwin")");
    auto wrong = policy.require(with_auth("Bearer nope-nope-nope-nope"), role::operator_);
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401u);
    EXPECT_NE(header(*wrong, "WWW-Authenticate")->find("invalid_token"), std::string::npos);
    auto weak = policy.require(with_auth("Bearer " + view_token), role::operator_);
    ASSERT_TRUE(weak);
    EXPECT_EQ(weak->status, 403u);
    EXPECT_NE(weak->body.find("\"forbidden\""), std::string::npos);
    EXPECT_FALSE(policy.require(with_auth("Bearer " + op_token), role::operator_));
    EXPECT_FALSE(policy.require(with_auth("Bearer " + op_token), role::viewer)) << "operator includes viewer";
}

TEST(access_policy, reads_are_open_unless_configured_otherwise) {
    EXPECT_FALSE(two_tokens(false).require_read(http::request{}));
    auto closed = two_tokens(true).require_read(http::request{});
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->status, 401u);
    EXPECT_FALSE(two_tokens(true).require_read(with_auth("Bearer " + view_token)));
}

TEST(access_policy, without_tokens_every_write_is_refused) {
    access_policy none;
    auto r = none.require(with_auth("Bearer " + op_token), role::operator_);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401u);
}

}  // namespace
}  // namespace turbotwin::app
