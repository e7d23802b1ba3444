#include "turbotwin/app/fleet_view.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace turbotwin::app {
namespace {

asset_summary engine(std::string id, double rul, double risk, alerting::severity level = alerting::severity::normal,
                     twin::confidence trust = twin::confidence::high) {
    asset_summary s;
    s.id = std::move(id);
    s.rul = rul;
    s.risk = risk;
    s.level = level;
    s.trust = trust;
    return s;
}

std::vector<std::string> ids(const page<asset_summary>& p) {
    std::vector<std::string> out;
    for (const auto& a : p.items) out.push_back(a.id);
    return out;
}

// Pages through a query; returns the ids in the order served.
std::vector<std::string> all_pages(const fleet_view& v, asset_query q) {
    std::vector<std::string> out;
    for (int pages = 0; pages < 1000; ++pages) {
        auto p = v.assets(q);
        EXPECT_TRUE(p);
        if (!p) return out;
        for (auto& a : p->items) out.push_back(a.id);
        if (!p->next_cursor) return out;
        q.cursor = p->next_cursor;
    }
    ADD_FAILURE() << "the cursor never ends";
    return out;
}

TEST(fleet_view, upsert_if_newer_writes_only_a_later_cycle) {
    // GIVEN an engine shown at cycle 40
    fleet_view v;
    auto at40 = engine("ENG-1", 50, 0.1);
    at40.last_cycle = 40;
    v.upsert(at40);
    // WHEN a summary of the same or an earlier cycle comes, it is refused; a later one is written
    auto same = engine("ENG-1", 99, 0.9);
    same.last_cycle = 40;
    EXPECT_FALSE(v.upsert_if_newer(same));
    EXPECT_EQ(v.asset("ENG-1")->rul, 50);
    auto later = engine("ENG-1", 49, 0.2);
    later.last_cycle = 41;
    EXPECT_TRUE(v.upsert_if_newer(later));
    EXPECT_EQ(v.asset("ENG-1")->rul, 49);
    // AND an engine not shown yet is added
    auto fresh = engine("ENG-2", 70, 0);
    fresh.last_cycle = 3;
    EXPECT_TRUE(v.upsert_if_newer(fresh));
    EXPECT_EQ(v.asset("ENG-2")->last_cycle, 3);
}

TEST(fleet_view, upsert_if_newer_never_overwrites_a_later_state_written_concurrently) {
    // GIVEN an owner writing cycles 1..2000 while another thread offers cycle 1000 again and again
    fleet_view v;
    auto first = engine("ENG-1", 0, 0);
    first.last_cycle = 0;
    v.upsert(first);
    std::atomic<bool> done{false};
    std::thread owner([&] {
        for (int c = 1; c <= 2000; ++c) {
            auto s = engine("ENG-1", c, 0);
            s.last_cycle = c;
            v.upsert(s);
        }
        done = true;
    });
    while (!done) {
        auto stale = engine("ENG-1", -1, 0);
        stale.last_cycle = 1000;
        v.upsert_if_newer(stale);
    }
    owner.join();
    // THEN the owner's last write stands
    EXPECT_EQ(v.asset("ENG-1")->last_cycle, 2000);
    EXPECT_EQ(v.asset("ENG-1")->rul, 2000);
}

TEST(fleet_view_query, sorts_by_rul_and_by_risk_with_ties_broken_by_id) {
    fleet_view v;
    v.upsert(engine("B", 50, 0.1));
    v.upsert(engine("A", 50, 0.3));
    v.upsert(engine("C", 10, 0.9));
    v.upsert(engine("D", 80, 0.3));
    asset_query q;
    q.limit = 10;
    q.sort = asset_query::order::rul;
    EXPECT_EQ(ids(*v.assets(q)), (std::vector<std::string>{"C", "A", "B", "D"}));
    q.sort = asset_query::order::risk_desc;
    EXPECT_EQ(ids(*v.assets(q)), (std::vector<std::string>{"C", "A", "D", "B"}));
    q.sort = asset_query::order::id;
    EXPECT_EQ(ids(*v.assets(q)), (std::vector<std::string>{"A", "B", "C", "D"}));
}

TEST(fleet_view_query, filters_combine) {
    fleet_view v;
    v.upsert(engine("A", 15, 0.9, alerting::severity::critical));
    v.upsert(engine("B", 45, 0.2, alerting::severity::warning, twin::confidence::low));
    v.upsert(engine("C", 29.999, 0.4, alerting::severity::warning));
    v.upsert(engine("D", 30, 0.0));
    asset_query q;
    q.rul_lt = 30;
    EXPECT_EQ(ids(*v.assets(q)), (std::vector<std::string>{"A", "C"}));
    q.level = alerting::severity::warning;
    EXPECT_EQ(ids(*v.assets(q)), (std::vector<std::string>{"C"}));
    q = {};
    q.trust = twin::confidence::low;
    EXPECT_EQ(ids(*v.assets(q)), (std::vector<std::string>{"B"}));
}

TEST(fleet_view_query, paging_by_key_serves_every_engine_once_even_when_others_change_between_pages) {
    fleet_view v;
    for (int i = 0; i < 50; ++i) {
        std::string id = "E";  // built with += : GCC 12's -Wrestrict misfires on "E" + std::string
        id += std::to_string(100 + i);
        v.upsert(engine(id, double(i % 7), 0.01 * (i % 5)));
    }
    for (auto order : {asset_query::order::id, asset_query::order::rul, asset_query::order::risk_desc}) {
        asset_query q;
        q.sort = order;
        q.limit = 7;
        const auto served = all_pages(v, q);
        EXPECT_EQ(served.size(), 50u);
        EXPECT_EQ(std::set<std::string>(served.begin(), served.end()).size(), 50u);
    }
    // Ingest between pages: an engine already shown gets a new RUL; the rest are still served once.
    asset_query q;
    q.sort = asset_query::order::rul;
    q.limit = 10;
    auto first = *v.assets(q);
    v.upsert(engine(first.items[0].id, 3.5, 0.0));  // moves it later in the order
    q.cursor = first.next_cursor;
    auto rest = all_pages(v, q);
    std::set<std::string> seen(rest.begin(), rest.end());
    for (auto& a : first.items) seen.insert(a.id);
    EXPECT_EQ(seen.size(), 50u);
}

TEST(fleet_view_query, refuses_a_cursor_it_did_not_make) {
    fleet_view v;
    v.upsert(engine("A", 1, 0));
    asset_query q;
    q.sort = asset_query::order::rul;
    for (std::string bad : {"A", "risk.3ff0000000000000.A", "rul.zzzz000000000000.A", "rul.3ff0000000000000.", "rul.3ff0"}) {
        q.cursor = bad;
        EXPECT_FALSE(v.assets(q)) << bad;
    }
    q.sort = asset_query::order::id;
    q.cursor = "../etc";
    EXPECT_FALSE(v.assets(q));
}

TEST(fleet_view_counts, counts_by_severity_confidence_alert_state_and_ranks_by_risk) {
    fleet_view v;
    v.upsert(engine("A", 15, 0.9, alerting::severity::critical));
    v.upsert(engine("B", 45, 0.2, alerting::severity::warning, twin::confidence::low));
    v.upsert(engine("C", 90, 0.0));
    alerting::alert a;
    a.id = "A-1";
    a.asset = "A";
    v.record_alert(a);
    alerting::alert b;
    b.id = "B-1";
    b.asset = "B";
    b.state = alerting::alert_state::acknowledged;
    v.record_alert(b);
    const auto c = v.counts(2);
    EXPECT_EQ(c.assets, 3u);
    EXPECT_EQ(c.by_severity[0], 1u);
    EXPECT_EQ(c.by_severity[1], 1u);
    EXPECT_EQ(c.by_severity[2], 1u);
    EXPECT_EQ(c.by_confidence[1], 1u);
    EXPECT_EQ(c.alerts_active, 1u);
    EXPECT_EQ(c.alerts_acknowledged, 1u);
    ASSERT_EQ(c.most_at_risk.size(), 2u);
    EXPECT_EQ(c.most_at_risk[0].id, "A");
    EXPECT_EQ(c.most_at_risk[1].id, "B");
    EXPECT_EQ(v.active_alert_count(), 2u) << "acknowledged alerts are still in force";
}

TEST(fleet_view, ReadersSeeWholeSummariesWhileOwnersReplaceThem) {
    // GIVEN two owners replacing their engines' summaries as fast as they can, each summary
    // internally consistent (rul_lo = rul - 1, rul_hi = rul + 1, last_cycle = rul)
    fleet_view view;
    std::atomic<bool> done{false}, reading{false};
    auto owner = [&](int first) {
        while (!reading.load()) std::this_thread::yield();  // overlap with the reader for sure
        for (int cycle = 1; cycle <= 20000; ++cycle) {
            asset_summary s;
            s.id = "ENG-" + std::to_string(first + cycle % 8);
            s.last_cycle = cycle;
            s.rul = cycle;
            s.rul_lo = cycle - 1;
            s.rul_hi = cycle + 1;
            view.upsert(std::move(s));
        }
    };
    std::thread a(owner, 0), b(owner, 100);
    // WHEN a reader lists and sorts the fleet meanwhile
    int torn = 0, listings = 0;
    std::thread reader([&] {
        reading = true;
        while (!done.load() || listings == 0) {
            asset_query q;
            q.sort = asset_query::order::rul;
            const auto listed = view.assets(q);
            for (const auto& item : listed->items) torn += item.rul_lo != item.rul - 1 || item.rul_hi != item.rul + 1 || item.last_cycle != item.rul;
            if (auto one = view.asset("ENG-3")) torn += one->rul_lo != one->rul - 1;
            ++listings;
        }
    });
    a.join();
    b.join();
    done = true;
    reader.join();
    // THEN every summary it saw was one owner's whole write, and the last writes are what stays
    EXPECT_EQ(torn, 0);
    EXPECT_GT(listings, 0);
    EXPECT_EQ(view.asset_count(), 16u);
    EXPECT_EQ(view.asset("ENG-0")->last_cycle, 20000);
}

}  // namespace
}  // namespace turbotwin::app

namespace turbotwin::app {
namespace {

TEST(fleet_view_alerts, an_alert_keeps_the_state_it_fired_with_through_later_changes) {
    fleet_view v;
    alerting::alert a;
    a.id = "A-1";
    a.asset = "A";
    a.fired_state = std::make_shared<const alerting::deferred_text>(std::string(R"({"cycle":3})"));
    v.record_alert(a);
    alerting::alert acked = a;
    acked.fired_state.reset();  // the twin's copy of an alert never carries it
    acked.state = alerting::alert_state::acknowledged;
    v.record_alert(acked);
    alerting::alert cleared = acked;
    cleared.state = alerting::alert_state::cleared;
    cleared.cleared_cycle = 9;
    v.record_alert(cleared);
    const auto got = v.alert("A-1");
    ASSERT_TRUE(got && got->fired_state);
    EXPECT_EQ(got->state, alerting::alert_state::cleared);
    EXPECT_EQ(got->fired_state->get(), R"({"cycle":3})");
}

}  // namespace
}  // namespace turbotwin::app
