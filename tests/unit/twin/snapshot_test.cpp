#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "turbotwin/twin/asset_twin.hpp"

using namespace turbotwin;

namespace {

twin::twin_config load_config() {
    auto model = prognostics::load_model(std::string(TURBOTWIN_SOURCE_DIR) + "/models/fd001.json");
    EXPECT_TRUE(model.ok()) << model.message();
    twin::twin_config c;
    c.model = std::make_shared<const prognostics::rul_model>(std::move(*model));
    c.catalogue = std::make_shared<const sensor_catalogue>();
    return c;
}

// A degrading FD001-like engine, deterministic.
reading make_reading(std::int64_t cycle) {
    reading r;
    r.cycle = cycle;
    const double wear = std::exp(cycle / 60.0) / std::exp(200 / 60.0);
    const double base[sensor_count] = {518.67, 642.0, 1588.0, 1404.0, 14.62, 21.61, 553.5, 2388.05, 9060, 1.3, 47.4,
                                       521.7, 2388.05, 8140, 8.42, 0.03, 392, 2388, 100, 38.9, 23.34};
    const double drift[sensor_count] = {0, 1.3, 14, 25, 0, 0, -2.5, 0.17, 40, 0, 0.8, -2, 0.17, 28, 0.1, 0, 4, 0, 0, -0.5, -0.3};
    for (std::size_t i = 0; i < sensor_count; ++i) r.sensors[i] = base[i] + drift[i] * wear + 0.01 * std::sin(double(cycle * (i + 1)));
    return r;
}

}  // namespace

TEST(snapshot, restored_twin_continues_bit_identically) {
    // GIVEN a twin that has seen 150 cycles and raised alerts
    const auto config = load_config();
    twin::asset_twin original("ENG-042", config);
    for (std::int64_t c = 1; c <= 150; ++c) ASSERT_TRUE(original.process(make_reading(c)).ok());
    // WHEN it is snapshotted and restored
    auto restored = twin::asset_twin::restore(original.snapshot(), config);
    ASSERT_TRUE(restored.ok()) << restored.message();
    EXPECT_EQ(restored->id(), "ENG-042");
    EXPECT_EQ(restored->last_cycle(), 150);
    EXPECT_EQ(restored->snapshot(), original.snapshot());
    // THEN both give the same numbers and alerts for every later cycle
    for (std::int64_t c = 151; c <= 220; ++c) {
        auto a = original.process(make_reading(c));
        auto b = restored->process(make_reading(c));
        ASSERT_TRUE(a.ok() && b.ok());
        EXPECT_EQ(a->estimate.rul, b->estimate.rul) << "cycle " << c;
        EXPECT_EQ(a->estimate.rul_hi, b->estimate.rul_hi) << "cycle " << c;
        EXPECT_EQ(a->alerts.raised.has_value(), b->alerts.raised.has_value());
        if (a->alerts.raised) {
            EXPECT_EQ(a->alerts.raised->id, b->alerts.raised->id);
        }
    }
    EXPECT_GT(original.alerts().raised_count(), 0u) << "the trajectory should reach an alert";
    // AND a duplicate cycle is still recognised after the restore
    auto again = twin::asset_twin::restore(original.snapshot(), config);
    EXPECT_EQ(again->process(make_reading(220)).error(), errc::duplicate_cycle);
}

TEST(snapshot, rejects_garbage_and_truncation) {
    const auto config = load_config();
    twin::asset_twin t("ENG-1", config);
    ASSERT_TRUE(t.process(make_reading(1)).ok());
    const std::string blob = t.snapshot();
    EXPECT_FALSE(twin::asset_twin::restore("", config).ok());
    EXPECT_FALSE(twin::asset_twin::restore("garbage bytes here", config).ok());
    for (std::size_t n = 0; n < blob.size(); n += 7) EXPECT_FALSE(twin::asset_twin::restore(blob.substr(0, n), config).ok()) << n;
    EXPECT_FALSE(twin::asset_twin::restore(blob + "x", config).ok());
}

TEST(snapshot, keeps_an_acknowledged_alert_with_who_when_and_why) {
    const auto config = load_config();
    twin::asset_twin original("ENG-043", config);
    std::int64_t c = 1;
    for (; c <= 300 && !original.alerts().active(); ++c) ASSERT_TRUE(original.process(make_reading(c)).ok());
    ASSERT_TRUE(original.alerts().active()) << "the trajectory should reach an alert";
    const auto id = original.alerts().active()->id;
    ASSERT_TRUE(original.acknowledge_alert(id, {"operator-9", 1700000000001, "inspection booked"}).ok());
    auto restored = twin::asset_twin::restore(original.snapshot(), config);
    ASSERT_TRUE(restored.ok()) << restored.message();
    EXPECT_EQ(restored->snapshot(), original.snapshot());
    const auto& a = restored->alerts().active();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->state, alerting::alert_state::acknowledged);
    ASSERT_TRUE(a->ack);
    EXPECT_EQ(a->ack->by, "operator-9");
    EXPECT_EQ(a->ack->at_ms, 1700000000001);
    EXPECT_EQ(a->ack->comment, "inspection booked");
    EXPECT_EQ(a->risk_rul, original.alerts().active()->risk_rul);
    // The journal may apply the same acknowledgement again after a restart: refused, no change.
    EXPECT_EQ(restored->acknowledge_alert(id, {"operator-9", 1700000000001, "inspection booked"}).error(), errc::conflict);
}
