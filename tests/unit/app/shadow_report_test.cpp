#include "turbotwin/app/shadow_report.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "temp_dir.hpp"

namespace turbotwin::app {
namespace {

using nlohmann::json;
using alerting::severity;

constexpr auto N = severity::normal, W = severity::warning, C = severity::critical;
const std::string active = "sha256:active", candidate = "sha256:candidate";
const std::string old_active = "sha256:old-active", other_candidate = "sha256:other-candidate";

// One reading as both models estimated it while `active_hash` was active.
struct estimate {
    std::string asset;
    std::int64_t cycle;
    double active_rul, shadow_rul;
    severity active_level, shadow_level;
};

void add(store::change_set& cs, const estimate& e, const std::string& active_hash, const std::string& shadow_hash = candidate) {
    cs.ruls.push_back({e.asset, e.cycle, e.active_rul, e.active_rul - 3, e.active_rul + 3, e.active_level, {}, std::nullopt});
    cs.shadow_ruls.push_back({e.asset, e.cycle, shadow_hash, active_hash, e.shadow_rul, e.shadow_rul - 4, e.shadow_rul + 4, e.shadow_level});
}

store::event_row event(const std::string& asset, const std::string& type, std::int64_t cycle) {
    return {asset, type, cycle, "", "operator", 1700000000000 + cycle};
}

std::unique_ptr<store::database> open(const testing_support::temp_dir& dir) {
    auto db = store::database::open(dir.file("turbotwin.db"), store::sync_mode::normal);
    EXPECT_TRUE(db.ok()) << db.message();
    return db ? std::move(*db) : nullptr;
}

// GIVEN two engines estimated by both models while `active` was active:
//  ENG-001, cycles 1..10: the candidate warns at 2 (then drops back to normal at 3: the first
//    cycle counts), the active model at 4; critical at 6 against 7. Maintenance at 1 and 3,
//    failure at 10, maintenance at 11 (a later life): ground truth is cycles 4..10.
//  ENG-002, cycles 3..7 (1..2 were under the old active model): the active model warns at 4 and
//    is critical at 6; the candidate warns at 5 and never reaches critical.
// AND rows the report must not count: ENG-002's earlier rows and ENG-003 (failed at 2) under
// another active model, ENG-001's cycles 1..2 by another candidate, a reading of ENG-002 only
// the active model estimated.
void store_known_case(store::database& db) {
    store::change_set now, before, other, active_only;
    const estimate eng1[] = {
        {"ENG-001", 1, 9, 11, N, N}, {"ENG-001", 2, 8, 9, N, W},  {"ENG-001", 3, 7, 7, N, N},   {"ENG-001", 4, 6, 5, W, W},
        {"ENG-001", 5, 5, 3, W, W},  {"ENG-001", 6, 4, 2, W, C},  {"ENG-001", 7, 3, 2, C, C},   {"ENG-001", 8, 2, 1, C, C},
        {"ENG-001", 9, 1, 1, C, C},  {"ENG-001", 10, 0, 0.5, C, C},
    };
    const estimate eng2[] = {
        {"ENG-002", 3, 40, 44, N, N}, {"ENG-002", 4, 30, 36, W, N}, {"ENG-002", 5, 20, 28, W, W},
        {"ENG-002", 6, 10, 20, C, W}, {"ENG-002", 7, 5, 12, C, W},
    };
    for (const auto& e : eng1) add(now, e, active);
    for (const auto& e : eng2) add(now, e, active);
    now.events = {event("ENG-001", "maintenance", 1), event("ENG-001", "maintenance", 3), event("ENG-001", "failure", 10),
                  event("ENG-001", "maintenance", 11)};

    // Before a promotion: the same candidate beside the old active model, wildly apart and critical.
    add(before, {"ENG-002", 1, 50, 150, N, C}, old_active);
    add(before, {"ENG-002", 2, 45, 145, N, C}, old_active);
    add(before, {"ENG-003", 1, 60, 20, W, C}, old_active);
    add(before, {"ENG-003", 2, 55, 10, C, C}, old_active);
    before.events = {event("ENG-003", "failure", 2)};
    // A third model shadowing the same active one (its rows replace nothing: another model_hash).
    other.shadow_ruls.push_back({"ENG-001", 1, other_candidate, active, 500, 490, 510, C});
    other.shadow_ruls.push_back({"ENG-001", 2, other_candidate, active, 500, 490, 510, C});
    // Estimated by the active model only (the shadow twin refused the reading).
    active_only.ruls.push_back({"ENG-002", 8, 1, 0, 4, C, {}, std::nullopt});

    auto ok = db.commit({before, now, other, active_only}, 1, {});
    ASSERT_TRUE(ok.ok()) << ok.message();
}

TEST(shadow_report, numbers_of_a_known_case_worked_by_hand) {
    testing_support::temp_dir dir;
    auto db = open(dir);
    ASSERT_TRUE(db);
    store_known_case(*db);

    // WHEN the report compares the candidate with the active model, true RUL capped at 5
    auto r = shadow_report(*db, active, candidate, 5);
    ASSERT_TRUE(r.ok()) << r.message();
    const json& j = *r;

    // THEN only the 15 readings both made under `active` count.
    EXPECT_EQ(j["active"]["model_hash"], active);
    EXPECT_EQ(j["shadow"]["model_hash"], candidate);
    EXPECT_EQ(j["engines"], 2);
    EXPECT_EQ(j["readings"], 15);

    // shadow - active: ENG-001 +2 +1 0 -1 -2 -2 -1 -1 0 +0.5 (sum -3.5, |.| 10.5);
    //                  ENG-002 +4 +6 +8 +10 +7 (sum 35, |.| 35).
    // |difference| sorted: 0 0 0.5 1 1 1 1 2 2 2 4 6 7 8 10; p90 is element floor(0.9 x 14) = 12
    // (the lower of the two around the 90% point): 7.
    const auto& d = j["disagreement"];
    EXPECT_DOUBLE_EQ(d["mean_abs"].get<double>(), 45.5 / 15);
    EXPECT_DOUBLE_EQ(d["mean_shadow_minus_active"].get<double>(), 31.5 / 15);
    EXPECT_EQ(d["p90_abs"].get<double>(), 7.0);
    EXPECT_EQ(d["max_abs"].get<double>(), 10.0);

    // First alerts: ENG-001 warning 4 vs 2 (earlier, lead 2), critical 7 vs 6 (earlier, lead 1);
    // ENG-002 warning 4 vs 5 (later, lead -1), critical 6 vs never (only the active model).
    const auto& w = j["alerts"]["warning"];
    EXPECT_EQ(w, (json{{"earlier", 1}, {"later", 1}, {"same", 0}, {"only_active", 0}, {"only_shadow", 0}, {"neither", 0},
                       {"mean_lead_cycles", 0.5}}));
    const auto& c = j["alerts"]["critical"];
    EXPECT_EQ(c, (json{{"earlier", 1}, {"later", 0}, {"same", 0}, {"only_active", 1}, {"only_shadow", 0}, {"neither", 0},
                       {"mean_lead_cycles", 1.0}}));

    // Per engine, the larger disagreement first.
    const auto& pe = j["per_engine"];
    ASSERT_EQ(pe.size(), 2u);
    EXPECT_EQ(pe[0]["asset"], "ENG-002");
    EXPECT_EQ(pe[0]["readings"], 5);
    EXPECT_DOUBLE_EQ(pe[0]["mean_abs_difference"].get<double>(), 7.0);
    EXPECT_EQ(pe[0]["max_abs_difference"].get<double>(), 10.0);
    EXPECT_DOUBLE_EQ(pe[0]["mean_shadow_minus_active"].get<double>(), 7.0);
    EXPECT_EQ(pe[0]["alerts"], (json{{"warning", {{"active_first", 4}, {"shadow_first", 5}, {"verdict", "later"}}},
                                     {"critical", {{"active_first", 6}, {"shadow_first", nullptr}, {"verdict", "only_active"}}}}));
    EXPECT_EQ(pe[1]["asset"], "ENG-001");
    EXPECT_EQ(pe[1]["readings"], 10);
    EXPECT_DOUBLE_EQ(pe[1]["mean_abs_difference"].get<double>(), 10.5 / 10);
    EXPECT_EQ(pe[1]["max_abs_difference"].get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(pe[1]["mean_shadow_minus_active"].get<double>(), -3.5 / 10);
    EXPECT_EQ(pe[1]["alerts"], (json{{"warning", {{"active_first", 4}, {"shadow_first", 2}, {"verdict", "earlier"}}},
                                     {"critical", {{"active_first", 7}, {"shadow_first", 6}, {"verdict", "earlier"}}}}));

    // Ground truth: ENG-001's failure at 10, readings after the last maintenance before it (3):
    //   cycle       4  5  6  7  8  9  10
    //   true RUL    5  5  4  3  2  1  0    (10 - cycle, capped at 5)
    //   active      6  5  4  3  2  1  0    error 1 0 0 0 0 0 0       -> squares 1
    //   candidate   5  3  2  2  1  1  0.5  error 0 -2 -2 -1 -1 0 0.5 -> squares 10.25
    // ENG-003's failure has no reading under this active model: not an engine of the truth.
    const auto& g = j["ground_truth"];
    EXPECT_EQ(g["engines"], 1);
    EXPECT_EQ(g["readings"], 7);
    EXPECT_EQ(g["rul_cap"].get<double>(), 5.0);
    EXPECT_DOUBLE_EQ(g["active_rmse"].get<double>(), std::sqrt(1.0 / 7));
    EXPECT_DOUBLE_EQ(g["shadow_rmse"].get<double>(), std::sqrt(10.25 / 7));
    ASSERT_EQ(g["per_engine"].size(), 1u);
    const auto& t = g["per_engine"][0];
    EXPECT_EQ(t["asset"], "ENG-001");
    EXPECT_EQ(t["event"], "failure");
    EXPECT_EQ(t["cycle"], 10);
    EXPECT_EQ(t["readings"], 7);
    EXPECT_DOUBLE_EQ(t["active_rmse"].get<double>(), std::sqrt(1.0 / 7));
    EXPECT_DOUBLE_EQ(t["shadow_rmse"].get<double>(), std::sqrt(10.25 / 7));
}

TEST(shadow_report, the_cap_bounds_the_true_rul) {
    testing_support::temp_dir dir;
    auto db = open(dir);
    ASSERT_TRUE(db);
    store_known_case(*db);
    // GIVEN a cap above every true RUL of cycles 4..10: the truth is 6 5 4 3 2 1 0, and the
    // active model is exact; the candidate errs -1 -2 -2 -1 -1 0 0.5 (squares 11.25).
    auto r = shadow_report(*db, active, candidate, 125);
    ASSERT_TRUE(r.ok()) << r.message();
    const auto& g = (*r)["ground_truth"];
    EXPECT_EQ(g["readings"], 7);
    EXPECT_EQ(g["active_rmse"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(g["shadow_rmse"].get<double>(), std::sqrt(11.25 / 7));
}

TEST(shadow_report, rows_under_another_active_model_belong_to_that_model_only) {
    testing_support::temp_dir dir;
    auto db = open(dir);
    ASSERT_TRUE(db);
    store_known_case(*db);
    // WHEN asked about the candidate beside the old active model: only the 4 rows made then.
    auto r = shadow_report(*db, old_active, candidate, 5);
    ASSERT_TRUE(r.ok()) << r.message();
    const json& j = *r;
    EXPECT_EQ(j["engines"], 2);
    EXPECT_EQ(j["readings"], 4);
    EXPECT_EQ(j["disagreement"]["max_abs"].get<double>(), 100.0);
    EXPECT_DOUBLE_EQ(j["disagreement"]["mean_shadow_minus_active"].get<double>(), (100.0 + 100 - 40 - 45) / 4);
    // ENG-002: only the candidate, critical (so also at least warning) from cycle 1. ENG-003:
    // both at least warning at 1 (the same), critical at 2 against 1 (earlier, lead 1).
    EXPECT_EQ(j["alerts"]["warning"], (json{{"earlier", 0}, {"later", 0}, {"same", 1}, {"only_active", 0}, {"only_shadow", 1},
                                            {"neither", 0}, {"mean_lead_cycles", 0.0}}));
    EXPECT_EQ(j["alerts"]["critical"], (json{{"earlier", 1}, {"later", 0}, {"same", 0}, {"only_active", 0}, {"only_shadow", 1},
                                             {"neither", 0}, {"mean_lead_cycles", 1.0}}));
    // ENG-003 failed at 2: truth min(2 - c, 5) = 1, 0; active 60, 55 and candidate 20, 10.
    const auto& g = j["ground_truth"];
    ASSERT_EQ(g["engines"], 1);
    EXPECT_EQ(g["per_engine"][0]["asset"], "ENG-003");
    EXPECT_DOUBLE_EQ(g["active_rmse"].get<double>(), std::sqrt((59.0 * 59 + 55.0 * 55) / 2));
    EXPECT_DOUBLE_EQ(g["shadow_rmse"].get<double>(), std::sqrt((19.0 * 19 + 10.0 * 10) / 2));

    // And the other candidate beside the active model: just its own two rows.
    auto o = shadow_report(*db, active, other_candidate, 5);
    ASSERT_TRUE(o.ok()) << o.message();
    EXPECT_EQ((*o)["readings"], 2);
    EXPECT_EQ((*o)["engines"], 1);
    EXPECT_DOUBLE_EQ((*o)["disagreement"]["mean_shadow_minus_active"].get<double>(), (491.0 + 492) / 2);
}

// Events at one cycle are told apart by the order they were recorded in (the twin applies them
// in that order): a failure then a maintenance at 5 ends the life of cycles 1..5 and starts the
// next; a maintenance then a failure at 5 ends that life normally and fails the new one before
// it read anything.
TEST(shadow_report, a_life_ends_at_the_event_recorded_after_its_maintenance_even_at_the_same_cycle) {
    for (const bool failed_first : {true, false}) {
        SCOPED_TRACE(failed_first ? "failure, then maintenance" : "maintenance, then failure");
        testing_support::temp_dir dir;
        auto db = open(dir);
        ASSERT_TRUE(db);
        store::change_set cs;
        for (std::int64_t cycle = 1; cycle <= 5; ++cycle) add(cs, {"ENG-001", cycle, double(8 - cycle), double(5 - cycle), N, N}, active);
        const auto failure = event("ENG-001", "failure", 5), maintenance = event("ENG-001", "maintenance", 5);
        cs.events = failed_first ? std::vector{failure, maintenance} : std::vector{maintenance, failure};
        ASSERT_TRUE(db->commit({cs}, 1, {}).ok());

        auto r = shadow_report(*db, active, candidate, 125);
        ASSERT_TRUE(r.ok()) << r.message();
        const auto& g = (*r)["ground_truth"];
        if (failed_first) {
            // Cycles 1..5 failed at 5: true RUL 4..0; the candidate is exact, the active model 3 high.
            EXPECT_EQ(g["engines"], 1);
            EXPECT_EQ(g["readings"], 5);
            EXPECT_EQ(g["active_rmse"].get<double>(), 3.0);
            EXPECT_EQ(g["shadow_rmse"].get<double>(), 0.0);
        } else {
            // Cycles 1..5 ended in a maintenance: no true RUL for them.
            EXPECT_EQ(g["engines"], 0);
            EXPECT_EQ(g["readings"], 0);
            EXPECT_TRUE(g["active_rmse"].is_null());
        }
    }
}

TEST(shadow_report, with_nothing_stored_every_figure_is_null_and_every_count_zero) {
    testing_support::temp_dir dir;
    auto db = open(dir);
    ASSERT_TRUE(db);
    auto r = shadow_report(*db, active, candidate, 125);
    ASSERT_TRUE(r.ok()) << r.message();
    const json& j = *r;
    EXPECT_EQ(j["engines"], 0);
    EXPECT_EQ(j["readings"], 0);
    for (const char* k : {"mean_abs", "p90_abs", "max_abs", "mean_shadow_minus_active"}) EXPECT_TRUE(j["disagreement"][k].is_null()) << k;
    for (const char* level : {"warning", "critical"}) {
        const auto& a = j["alerts"][level];
        for (const char* k : {"earlier", "later", "same", "only_active", "only_shadow", "neither"}) EXPECT_EQ(a[k], 0) << level << " " << k;
        EXPECT_TRUE(a["mean_lead_cycles"].is_null()) << level;
    }
    EXPECT_EQ(j["ground_truth"]["engines"], 0);
    EXPECT_TRUE(j["ground_truth"]["active_rmse"].is_null());
    EXPECT_TRUE(j["per_engine"].empty());
}

}  // namespace
}  // namespace turbotwin::app
