// The lives `train --from-store` learns from, read from a real SQLite store built in the test:
// split at maintenance events, a failure's true RUL, censored removals and visits.
#include "turbotwin/app/recorded_lives.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "shipped_model.hpp"
#include "temp_dir.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {
namespace {

// An FD001-like reading that wears a little with the cycle, so a twin has something to follow.
reading engine_reading(std::int64_t cycle, double wear_per_cycle = 0.02) {
    reading r;
    r.cycle = cycle;
    r.settings = {0.0, 0.0, 100.0};
    for (std::size_t s = 0; s < sensor_count; ++s) r.sensors[s] = testing_support::fd001_nominal[s];
    const double w = wear_per_cycle * double(cycle);
    r.sensors[3] += 0.5 * w;    // T50 rises with wear
    r.sensors[6] -= 0.05 * w;   // P30 falls
    r.sensors[10] += 0.015 * w; // Ps30 rises
    r.sensors[3] += std::sin(double(cycle)) * 2.0;  // deterministic "noise"
    return r;
}

// One commit per call, in order: the store's event order is the order recorded.
struct store_builder {
    std::unique_ptr<store::database> db;
    std::uint64_t checkpoint = 0;

    explicit store_builder(const std::string& path) {
        auto opened = store::database::open(path, store::sync_mode::normal);
        EXPECT_TRUE(opened.ok()) << opened.message();
        db = std::move(*opened);
    }
    void readings(const std::string& asset, std::int64_t from, std::int64_t to, std::int64_t without_reading = -1) {
        store::change_set cs;
        for (std::int64_t c = from; c <= to; ++c)
            cs.ruls.push_back({asset, c, 100, 80, 120, alerting::severity::normal, {},
                               c == without_reading ? std::nullopt : std::optional<reading>(engine_reading(c))});
        ASSERT_TRUE(db->commit({cs}, ++checkpoint, {}).ok());
    }
    void event(const std::string& asset, const std::string& type, std::int64_t cycle) {
        store::change_set cs;
        cs.events.push_back({asset, type, cycle, "", "operator", 1700000000000});
        ASSERT_TRUE(db->commit({cs}, ++checkpoint, {}).ok());
    }
};

const recorded_life* find_life(const recorded_fleet& f, const std::string& asset, life_end end) {
    for (const auto& l : f.lives)
        if (l.asset == asset && l.end == end) return &l;
    return nullptr;
}

TEST(recorded_lives, lives_split_at_events_with_truth_only_for_failures) {
    testing_support::temp_dir dir;
    store_builder s(dir.file("turbotwin.db"));
    // GIVEN A runs to a failure at its last reading
    s.readings("ENG-A", 1, 50);
    s.event("ENG-A", "failure", 50);
    // AND B has a shop visit at 42, then a second life that fails 3 cycles after its last reading
    s.readings("ENG-B", 1, 40);
    s.event("ENG-B", "maintenance", 42);
    s.readings("ENG-B", 43, 80);
    s.event("ENG-B", "failure", 83);
    // AND C is removed; one of its rows was stored without its reading
    s.readings("ENG-C", 1, 30, /*without_reading=*/25);
    s.event("ENG-C", "removal", 30);
    // AND D never had an event; E failed, was overhauled at once and runs again
    s.readings("ENG-D", 1, 20);
    s.readings("ENG-E", 1, 25);
    s.event("ENG-E", "failure", 25);
    s.event("ENG-E", "maintenance", 25);
    s.readings("ENG-E", 26, 35);

    // WHEN the lives are read
    auto fleet = read_recorded_lives(*s.db);
    ASSERT_TRUE(fleet.ok()) << fleet.message();

    // THEN each event ends one life, in the order the events were recorded
    ASSERT_EQ(fleet->lives.size(), 5u);
    EXPECT_EQ(fleet->count(life_end::failure), 3u);
    EXPECT_EQ(fleet->count(life_end::removal), 1u);
    EXPECT_EQ(fleet->count(life_end::maintenance), 1u);
    const std::vector<std::string> order = {"ENG-A", "ENG-B", "ENG-B", "ENG-C", "ENG-E"};
    for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(fleet->lives[i].asset, order[i]);
    EXPECT_EQ(fleet->readings_missing, 1u);

    const auto* a = find_life(*fleet, "ENG-A", life_end::failure);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->readings.size(), 50u);
    EXPECT_EQ(a->true_rul(50), 0);
    EXPECT_EQ(a->true_rul(1), 49);

    // AND B's visit ends a censored life; its second life counts cycles from the visit
    const auto* b1 = find_life(*fleet, "ENG-B", life_end::maintenance);
    ASSERT_NE(b1, nullptr);
    EXPECT_EQ(b1->start_cycle, 0);
    EXPECT_EQ(b1->end_cycle, 42);
    EXPECT_EQ(b1->readings.size(), 40u);
    EXPECT_FALSE(b1->true_rul(40).has_value());
    const auto* b2 = find_life(*fleet, "ENG-B", life_end::failure);
    ASSERT_NE(b2, nullptr);
    EXPECT_EQ(b2->start_cycle, 42);
    ASSERT_EQ(b2->readings.size(), 38u);
    EXPECT_EQ(b2->readings.front().cycle, 43);
    EXPECT_EQ(b2->true_rul(80), 3);
    const auto rebased = b2->readings_from_life_start();
    EXPECT_EQ(rebased.front().cycle, 1);
    EXPECT_EQ(rebased.back().cycle, 38);
    EXPECT_EQ(rebased.back().sensors[3], b2->readings.back().sensors[3]);

    // AND a removal is censored: no truth
    const auto* c = find_life(*fleet, "ENG-C", life_end::removal);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->readings.size(), 29u);
    EXPECT_FALSE(c->true_rul(10).has_value());

    // AND E's running second life is not a life yet
    const auto* e = find_life(*fleet, "ENG-E", life_end::failure);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->readings.size(), 25u);
    EXPECT_EQ(e->readings.back().cycle, 25);
}

TEST(recorded_lives, a_failure_recorded_at_a_visit_ends_a_life_that_read_nothing_and_is_left_out) {
    testing_support::temp_dir dir;
    store_builder s(dir.file("turbotwin.db"));
    s.readings("ENG-F", 1, 10);
    s.event("ENG-F", "maintenance", 10);  // the visit first: the failure then ends the new, empty life
    s.event("ENG-F", "failure", 10);
    auto fleet = read_recorded_lives(*s.db);
    ASSERT_TRUE(fleet.ok()) << fleet.message();
    ASSERT_EQ(fleet->lives.size(), 1u);
    EXPECT_EQ(fleet->lives[0].end, life_end::maintenance);
    EXPECT_EQ(fleet->lives[0].readings.size(), 10u);
}

TEST(recorded_lives, a_second_life_rebased_to_its_start_is_what_the_live_twin_computed) {
    // GIVEN a twin that lived a first life, had a shop visit and lived a second one
    const auto model = testing_support::shipped_model();
    ASSERT_NE(model, nullptr);
    twin::twin_config config;
    config.model = model;
    config.catalogue = std::make_shared<sensor_catalogue>();
    twin::asset_twin live("ENG-B", config);
    for (std::int64_t c = 1; c <= 60; ++c) ASSERT_TRUE(live.process(engine_reading(c, 0.05)).ok());
    ASSERT_TRUE(live.record_event("maintenance", 64).ok());
    recorded_life second{"ENG-B", 64, 140, life_end::failure, {}};
    for (std::int64_t c = 66; c <= 140; ++c) second.readings.push_back(engine_reading(c, 0.01));
    std::optional<twin::twin_update> live_last;
    for (const auto& r : second.readings) {
        auto u = live.process(r);
        ASSERT_TRUE(u.ok()) << u.message();
        live_last = *u;
    }
    // WHEN a fresh twin (as training builds one) is given the life with cycles from its start
    twin::asset_twin fresh("train", config);
    std::optional<twin::twin_update> fresh_last;
    for (const auto& r : second.readings_from_life_start()) {
        auto u = fresh.process(r);
        ASSERT_TRUE(u.ok()) << u.message();
        fresh_last = *u;
    }
    // THEN it computes the live twin's numbers, bit for bit
    ASSERT_TRUE(live_last && fresh_last);
    EXPECT_EQ(live_last->estimate.raw, fresh_last->estimate.raw);
    EXPECT_EQ(live_last->estimate.rul_lo, fresh_last->estimate.rul_lo);
    EXPECT_EQ(live.features(), fresh.features());
}

TEST(recorded_lives, a_data_dir_is_read_while_the_server_holds_it_open_for_writing) {
    testing_support::temp_dir dir;
    store_builder s(dir.file("turbotwin.db"));  // the writer stays open, as serve's does
    s.readings("ENG-A", 1, 40);
    s.event("ENG-A", "failure", 40);
    auto fleet = read_recorded_lives(dir.path().string());
    ASSERT_TRUE(fleet.ok()) << fleet.message();
    EXPECT_EQ(fleet->count(life_end::failure), 1u);
    // and the writer goes on committing afterwards
    s.readings("ENG-B", 1, 5);

    auto none = read_recorded_lives(dir.file("no-such-folder"));
    EXPECT_EQ(none.error(), errc::not_found);
}

}  // namespace
}  // namespace turbotwin::app
