// Cluster mode's read model of engines other members own: what their RUL messages and alerts
// carry must come back into a summary and an alert unchanged, and stale or foreign payloads
// must change nothing.
#include "turbotwin/app/remote_view.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "turbotwin/app/json_out.hpp"

namespace turbotwin::app {
namespace {

const std::vector<std::string> names = {"T24", "T30", "T50"};

twin::twin_update update_at(std::int64_t cycle) {
    twin::twin_update u;
    u.cycle = cycle;
    u.estimate.rul = 61.234567890123;
    u.estimate.rul_lo = 40.1;
    u.estimate.rul_hi = 80.9;
    u.level = alerting::severity::warning;
    u.trust = twin::confidence::low;
    u.trust_reason = "sensor deviation pattern unlike the training fleet";
    u.risk = 0.4;
    u.risk_rul = 50.5;
    u.novelty = 0.3;
    u.sensor_faults = {{"T30", twin::sensor_status::failed, twin::sensor_fault::stuck, cycle - 3, std::nullopt, twin::sensor_fault::none}};
    return u;
}

TEST(remote_view, a_rul_message_comes_back_as_the_summary_fields_it_carries) {
    const auto s = merge_rul_message(rul_message("ENG-7", update_at(120)), std::nullopt, names, 5);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->id, "ENG-7");
    EXPECT_EQ(s->last_cycle, 120);
    EXPECT_EQ(s->rul, 61.234567890123);  // round-trip digits: bit for bit
    EXPECT_EQ(s->rul_lo, 40.1);
    EXPECT_EQ(s->rul_hi, 80.9);
    EXPECT_EQ(s->level, alerting::severity::warning);
    EXPECT_EQ(s->trust, twin::confidence::low);
    EXPECT_EQ(s->extra().trust_reason, "sensor deviation pattern unlike the training fleet");
    ASSERT_EQ(s->sensor_faults.size(), 1u);
    EXPECT_EQ(s->sensor_faults[0].channel, 1u);
    EXPECT_EQ(s->sensor_faults[0].status, twin::sensor_status::failed);
    EXPECT_EQ(s->sensor_faults[0].reason, twin::sensor_fault::stuck);
    EXPECT_EQ(s->sensor_faults[0].since, 117);
    EXPECT_EQ(s->updated_ms, 5);
    EXPECT_EQ(s->risk, 0.4);
    EXPECT_EQ(s->risk_rul, 50.5);
    EXPECT_EQ(s->novelty, 0.3);
}

TEST(remote_view, an_older_or_equal_cycle_changes_nothing_and_a_newer_one_keeps_what_it_does_not_carry) {
    auto first = merge_rul_message(rul_message("ENG-7", update_at(120)), std::nullopt, names, 5);
    ASSERT_TRUE(first);
    first->risk = 0.25;
    first->channels = {{1, 2, 3, 4}};
    EXPECT_FALSE(merge_rul_message(rul_message("ENG-7", update_at(120)), first, names, 6));
    EXPECT_FALSE(merge_rul_message(rul_message("ENG-7", update_at(119)), first, names, 6));
    auto next = update_at(121);
    next.trust = twin::confidence::high;
    next.trust_reason.clear();
    next.sensor_faults.clear();
    const auto second = merge_rul_message(rul_message("ENG-7", next), first, names, 6);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->last_cycle, 121);
    EXPECT_EQ(second->risk, 0.4);  // carried by the message
    EXPECT_EQ(second->channels.size(), 1u);  // not carried: kept
    EXPECT_TRUE(second->sensor_faults.empty());
    EXPECT_EQ(second->notes, nullptr);
}

TEST(remote_view, a_message_without_risk_or_novelty_keeps_what_the_summary_had) {
    // GIVEN a summary with a risk, and a message from a member that does not send one
    auto first = merge_rul_message(rul_message("ENG-7", update_at(120)), std::nullopt, names, 5);
    ASSERT_TRUE(first);
    const std::string older = R"({"asset":"ENG-7","cycle":121,"rul":60,"rul_lo":40,"rul_hi":80,"severity":"normal","confidence":"high"})";
    // WHEN it is merged
    const auto second = merge_rul_message(older, first, names, 6);
    // THEN the risk and novelty stay as they were
    ASSERT_TRUE(second);
    EXPECT_EQ(second->risk, 0.4);
    EXPECT_EQ(second->novelty, 0.3);
    EXPECT_EQ(second->rul, 60);
}

TEST(remote_view, payloads_that_are_not_rul_messages_are_ignored) {
    for (const char* bad : {"", "{", "[]", "{\"asset\":\"E\"}", "{\"asset\":\"E\",\"cycle\":3}", "{\"asset\":\"E\",\"cycle\":1.5,\"severity\":\"normal\"}",
                            "{\"asset\":7,\"cycle\":3,\"severity\":\"normal\"}"})
        EXPECT_FALSE(merge_rul_message(bad, std::nullopt, names, 0)) << bad;
}

TEST(remote_view, an_alert_comes_back_from_its_message) {
    alerting::alert a;
    a.id = "ENG-7-2";
    a.asset = "ENG-7";
    a.level = alerting::severity::critical;
    a.state = alerting::alert_state::acknowledged;
    a.raised_cycle = 150;
    a.cycle = 152;
    a.cleared_cycle = std::nullopt;
    a.rul = 19.5;
    a.rul_lo = 12.25;
    a.rul_hi = 30.75;
    a.risk_rul = 15.5;
    a.ack = alerting::acknowledgement{"ops", 1700000000000, "seen"};
    a.model = "fd001";
    a.model_hash = "abc";
    a.config_hash = "def";
    a.code_version = "0.1.0";
    const auto back = alert_from_message(alert_json(a).dump());
    ASSERT_TRUE(back);
    EXPECT_EQ(alert_json(*back), alert_json(a));

    alerting::alert fault = a;
    fault.id = "ENG-7-T30-140";
    fault.type = alerting::alert_type::sensor_fault;
    fault.sensor = "T30";
    fault.reason = "stuck";
    fault.state = alerting::alert_state::cleared;
    fault.cleared_cycle = 160;
    fault.ack.reset();
    const auto back_fault = alert_from_message(alert_json(fault).dump());
    ASSERT_TRUE(back_fault);
    EXPECT_EQ(alert_json(*back_fault), alert_json(fault));

    for (const char* bad : {"", "{}", "{\"id\":\"x\"}", "not json"}) EXPECT_FALSE(alert_from_message(bad)) << bad;
}

}  // namespace
}  // namespace turbotwin::app
