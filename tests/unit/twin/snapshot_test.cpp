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

// Readings of an engine as if its life had started at `start` (cycle numbers go on).
reading shifted(std::int64_t cycle, std::int64_t start) {
    reading r = make_reading(cycle - start);
    r.cycle = cycle;
    return r;
}

TEST(events, maintenance_starts_a_life_that_matches_a_new_engine_bit_for_bit) {
    const auto config = load_config();
    twin::asset_twin overhauled("ENG-050", config);
    for (std::int64_t c = 1; c <= 200; ++c) ASSERT_TRUE(overhauled.process(make_reading(c)).ok());
    ASSERT_TRUE(overhauled.alerts().active()) << "the first life should end in an alert";
    const auto raised_before = overhauled.alerts().raised_count();
    auto change = overhauled.record_event("maintenance", 205);
    ASSERT_TRUE(change.ok()) << change.message();
    ASSERT_TRUE(change->cleared) << "the shop visit ends the active alert";
    EXPECT_EQ(change->cleared->cleared_cycle, 205);
    EXPECT_FALSE(overhauled.alerts().active());
    EXPECT_EQ(overhauled.life_start(), 205);
    EXPECT_EQ(overhauled.readings_applied(), 0u);
    EXPECT_FALSE(overhauled.last_update());
    EXPECT_EQ(overhauled.process(shifted(205, 205)).error(), errc::duplicate_cycle) << "the cycle count goes on";
    // The new life is estimated exactly as a brand-new engine's.
    twin::asset_twin brand_new("ENG-051", config);
    for (std::int64_t k = 1; k <= 120; ++k) {
        auto a = overhauled.process(shifted(205 + k, 205));
        auto b = brand_new.process(make_reading(k));
        ASSERT_TRUE(a.ok() && b.ok()) << k;
        EXPECT_EQ(a->estimate.rul, b->estimate.rul) << "cycle " << k << " of the new life";
        EXPECT_EQ(a->estimate.rul_hi, b->estimate.rul_hi);
        EXPECT_EQ(a->risk, b->risk);
    }
    // Alert ids stay unique across lives.
    if (overhauled.alerts().active()) {
        EXPECT_EQ(overhauled.alerts().active()->id, "ENG-050-" + std::to_string(raised_before + 1));
    }
    // And the snapshot carries the life start.
    auto restored = twin::asset_twin::restore(overhauled.snapshot(), config);
    ASSERT_TRUE(restored.ok()) << restored.message();
    EXPECT_EQ(restored->life_start(), 205);
    EXPECT_EQ(restored->snapshot(), overhauled.snapshot());
}

TEST(events, failure_closes_the_twin_until_a_new_life) {
    const auto config = load_config();
    twin::asset_twin t("ENG-052", config);
    for (std::int64_t c = 1; c <= 100; ++c) ASSERT_TRUE(t.process(make_reading(c)).ok());
    EXPECT_EQ(t.record_event("maintenance", 99).error(), errc::conflict) << "before the last reading";
    EXPECT_EQ(t.record_event("repaint", 120).error(), errc::invalid_argument);
    ASSERT_TRUE(t.record_event("failure", 101).ok());
    ASSERT_TRUE(t.closed());
    EXPECT_EQ(t.closed()->type, "failure");
    EXPECT_EQ(t.closed()->cycle, 101);
    EXPECT_EQ(t.process(make_reading(102)).error(), errc::asset_closed);
    EXPECT_EQ(t.record_event("removal", 101).error(), errc::conflict) << "already closed";
    auto restored = twin::asset_twin::restore(t.snapshot(), config);
    ASSERT_TRUE(restored.ok()) << restored.message();
    ASSERT_TRUE(restored->closed());
    EXPECT_EQ(restored->closed()->cycle, 101);
    EXPECT_EQ(restored->process(make_reading(102)).error(), errc::asset_closed);
    // A new engine installed: maintenance opens a new life.
    ASSERT_TRUE(restored->record_event("maintenance", 110).ok());
    EXPECT_FALSE(restored->closed());
    EXPECT_TRUE(restored->process(shifted(111, 110)).ok());
    EXPECT_EQ(restored->record_event("maintenance", 110).error(), errc::conflict) << "before the last reading";
}

TEST(events, the_same_maintenance_twice_is_a_conflict) {
    const auto config = load_config();
    twin::asset_twin t("ENG-053", config);
    for (std::int64_t c = 1; c <= 10; ++c) ASSERT_TRUE(t.process(make_reading(c)).ok());
    ASSERT_TRUE(t.record_event("maintenance", 12).ok());
    EXPECT_EQ(t.record_event("maintenance", 12).error(), errc::conflict);
}
