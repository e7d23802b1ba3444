#include "turbotwin/store/database.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "temp_dir.hpp"

namespace turbotwin::store {
namespace {

twin_row twin(const std::string& asset, std::int64_t cycle, std::string blob) {
    return {asset, cycle, std::move(blob), 1700000000000 + cycle};
}

alerting::alert raised(const std::string& asset, int n, std::int64_t cycle, alerting::severity level) {
    alerting::alert a;
    a.id = asset + "-" + std::to_string(n);
    a.asset = asset;
    a.level = level;
    a.state = alerting::alert_state::active;
    a.raised_cycle = cycle;
    a.cycle = cycle;
    a.rul = 49.5;
    a.rul_lo = 30.25;
    a.rul_hi = 70.125;
    a.risk_rul = 35.0625;
    return a;
}

alerting::alert cleared(alerting::alert a, std::int64_t cycle) {
    a.state = alerting::alert_state::cleared;
    a.cleared_cycle = cycle;
    a.cycle = cycle;
    return a;
}

std::map<std::string, twin_row> load_twins(database& db) {
    std::map<std::string, twin_row> out;
    auto n = db.load_twins([&](twin_row&& r) { out[r.asset] = std::move(r); });
    EXPECT_TRUE(n.ok()) << n.message();
    return out;
}

std::vector<stored_alert> load_alerts(database& db) {
    std::vector<stored_alert> out;
    auto n = db.load_alert_changes([&](stored_alert&& a) { out.push_back(std::move(a)); });
    EXPECT_TRUE(n.ok()) << n.message();
    return out;
}

// Runs `sql` on the file at `path` with the raw C API, as an older turbotwin (or someone with
// the sqlite3 shell) would have written it. Empty: done; else SQLite's message.
std::string run_raw_sql(const std::string& path, const char* sql) {
    sqlite3* raw = nullptr;
    std::string problem;
    if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) problem = "cannot open " + path;
    else if (sqlite3_exec(raw, sql, nullptr, nullptr, nullptr) != SQLITE_OK) problem = sqlite3_errmsg(raw);
    sqlite3_close(raw);
    return problem;
}

// Opens `path` with the raw C API and runs `sql`, which returns one integer.
std::int64_t query_int(const std::string& path, const char* sql) {
    sqlite3* raw = nullptr;
    if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) return -1;
    sqlite3_stmt* s = nullptr;
    std::int64_t v = -1;
    if (sqlite3_prepare_v2(raw, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(raw);
    return v;
}

TEST(database, a_new_file_is_in_wal_mode_with_checkpoint_zero) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok()) << db.message();
    auto cp = (*db)->checkpoint();
    ASSERT_TRUE(cp.ok());
    EXPECT_EQ(*cp, 0u);
    EXPECT_TRUE(load_twins(**db).empty());
    // WAL mode keeps its -wal file next to the database while a connection is open.
    ASSERT_TRUE((*db)->commit({}, 1, {}).ok());
    EXPECT_TRUE(std::filesystem::exists(dir.file("t.db-wal")));
}

TEST(database, commit_stores_snapshots_history_alerts_and_checkpoint_together) {
    testing_support::temp_dir dir;
    std::string blob("\x00\x01\xff snapshot \x00", 14);
    {
        auto db = database::open(dir.file("t.db"), sync_mode::normal);
        ASSERT_TRUE(db.ok());
        change_set a, b;
        a.twins.push_back(twin("ENG-001", 1, "old"));
        a.ruls.push_back({"ENG-001", 1, 120.5, 100.25, 140.75, alerting::severity::normal, {}, std::nullopt});
        b.twins.push_back(twin("ENG-001", 2, blob));
        b.twins.push_back(twin("ENG-002", 7, "two"));
        b.ruls.push_back({"ENG-001", 2, 119.5, 99.25, 139.75, alerting::severity::warning, {}, std::nullopt});
        auto w = raised("ENG-001", 1, 2, alerting::severity::warning);
        b.alerts.push_back(w);
        b.alerts.push_back(cleared(w, 2));
        ASSERT_TRUE((*db)->commit({a, b}, 42, {}).ok());
    }
    // A new connection (a restart) sees it all.
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(*(*db)->checkpoint(), 42u);
    const auto twins = load_twins(**db);
    ASSERT_EQ(twins.size(), 2u);
    EXPECT_EQ(twins.at("ENG-001").snapshot, blob);  // the later change set wins, bytes exact
    EXPECT_EQ(twins.at("ENG-001").last_cycle, 2);
    EXPECT_EQ(twins.at("ENG-001").updated_ms, 1700000000002);
    EXPECT_EQ(twins.at("ENG-002").snapshot, "two");

    auto hist = (*db)->rul_history("ENG-001", 10);
    ASSERT_TRUE(hist.ok());
    ASSERT_EQ(hist->size(), 2u);
    EXPECT_EQ((*hist)[0].cycle, 2);  // newest first
    EXPECT_EQ((*hist)[0].rul, 119.5);
    EXPECT_EQ((*hist)[0].level, alerting::severity::warning);
    EXPECT_EQ((*hist)[1].rul_hi, 140.75);

    const auto alerts = load_alerts(**db);
    ASSERT_EQ(alerts.size(), 2u);
    EXPECT_EQ(alerts[0].alert.id, "ENG-001-1");
    EXPECT_EQ(alerts[0].alert.state, alerting::alert_state::active);
    EXPECT_FALSE(alerts[0].alert.cleared_cycle);
    EXPECT_EQ(alerts[1].alert.state, alerting::alert_state::cleared);
    EXPECT_EQ(alerts[1].alert.cleared_cycle, 2);
    EXPECT_EQ(alerts[1].alert.rul_hi, 70.125);
    EXPECT_EQ(alerts[1].alert.risk_rul, 35.0625);
    EXPECT_FALSE(alerts[1].published);
}

TEST(database, doubles_round_trip_bit_for_bit_and_nan_stays_nan) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    change_set cs;
    const double tricky = 0.1 + 0.2;
    cs.ruls.push_back({"E", 1, tricky, std::nextafter(1.0, 2.0), std::numeric_limits<double>::quiet_NaN(), alerting::severity::critical, {}, std::nullopt});
    ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    auto hist = (*db)->rul_history("E", 1);
    ASSERT_TRUE(hist.ok());
    ASSERT_EQ(hist->size(), 1u);
    EXPECT_EQ(std::memcmp(&(*hist)[0].rul, &tricky, sizeof tricky), 0);
    EXPECT_EQ((*hist)[0].rul_lo, std::nextafter(1.0, 2.0));
    EXPECT_TRUE(std::isnan((*hist)[0].rul_hi));
}

TEST(database, the_same_alert_change_twice_is_stored_once_and_keeps_its_published_flag) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::full);
    ASSERT_TRUE(db.ok());
    change_set cs;
    cs.alerts.push_back(raised("E", 1, 10, alerting::severity::critical));
    ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    std::vector<alert_key> unmatched;
    ASSERT_TRUE((*db)->commit({}, 2, {{"E-1", alerting::alert_state::active}, {"E-9", alerting::alert_state::active}}, &unmatched).ok());
    ASSERT_EQ(unmatched.size(), 1u);
    EXPECT_EQ(unmatched[0].id, "E-9");
    // A journal replay re-applies the reading that raised it: nothing changes.
    ASSERT_TRUE((*db)->commit({cs}, 3, {}).ok());
    const auto alerts = load_alerts(**db);
    ASSERT_EQ(alerts.size(), 1u);
    EXPECT_TRUE(alerts[0].published);
}

TEST(database, readings_come_back_bit_for_bit_in_cycle_order_and_rows_without_one_are_counted) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    reading r;
    r.cycle = 7;
    r.settings = {0.0023, -0.0001, 100.0};
    r.sensors[3] = 0.1 + 0.2;  // the rest stay NaN: absent probes must stay absent
    r.sensors[20] = std::nextafter(23.4, 0.0);
    change_set cs;
    cs.ruls.push_back({"E", 7, 10, 5, 15, alerting::severity::normal, {}, r});
    cs.ruls.push_back({"E", 3, 12, 6, 18, alerting::severity::normal, {}, std::nullopt});  // as stored before schema 6
    reading later = r;
    later.cycle = 9;
    cs.ruls.push_back({"E", 9, 9, 4, 14, alerting::severity::normal, {}, later});
    cs.ruls.push_back({"F", 1, 9, 4, 14, alerting::severity::normal, {}, later});
    ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    std::size_t missing = 0;
    auto got = (*db)->readings("E", 8, &missing);
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);  // cycle 9 is after `upto`, cycle 3 has no reading
    EXPECT_EQ(missing, 1u);
    const auto& back = (*got)[0];
    EXPECT_EQ(back.cycle, 7);
    EXPECT_EQ(std::memcmp(back.settings.data(), r.settings.data(), sizeof r.settings), 0);
    EXPECT_EQ(std::memcmp(back.sensors.data(), r.sensors.data(), sizeof r.sensors), 0);
    EXPECT_TRUE(std::isnan(back.sensors[0]));
    EXPECT_EQ((*db)->readings("E", 100)->size(), 2u);
}

TEST(database, an_alert_keeps_the_twin_state_it_fired_with) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    change_set cs;
    auto a = raised("E", 1, 10, alerting::severity::critical);
    a.fired_state = std::make_shared<const alerting::deferred_text>(std::string(R"({"cycle":10,"estimate":{"rul":12.5}})"));
    cs.alerts.push_back(a);
    auto cleared = a;
    cleared.fired_state.reset();
    cleared.state = alerting::alert_state::cleared;
    cleared.cleared_cycle = 30;
    cs.alerts.push_back(cleared);
    ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    auto changes = (*db)->alert_changes(a.id);
    ASSERT_TRUE(changes.ok());
    ASSERT_EQ(changes->size(), 2u);
    ASSERT_TRUE((*changes)[0].fired_state);
    EXPECT_EQ((*changes)[0].fired_state->get(), a.fired_state->get());
    EXPECT_FALSE((*changes)[1].fired_state);
    EXPECT_TRUE((*db)->alert_changes("E-404")->empty());
}

TEST(database, rul_history_is_idempotent_per_asset_and_cycle) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    change_set cs;
    cs.ruls.push_back({"E", 5, 10, 5, 15, alerting::severity::critical, {}, std::nullopt});
    ASSERT_TRUE((*db)->commit({cs, cs}, 1, {}).ok());
    EXPECT_EQ((*db)->rul_history("E", 100)->size(), 1u);
}

TEST(database, a_schema_1_file_is_migrated_and_keeps_its_rows) {
    testing_support::temp_dir dir;
    {
        // A file as the first version wrote it: no risk_rul column.
        const char* v1 =
            "CREATE TABLE alert_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, asset TEXT NOT NULL,"
            " state TEXT NOT NULL, severity TEXT NOT NULL, cycle INTEGER NOT NULL, raised_cycle INTEGER NOT NULL,"
            " cleared_cycle INTEGER, rul REAL, rul_lo REAL, rul_hi REAL, published INTEGER NOT NULL DEFAULT 0,"
            " UNIQUE (alert_id, state));"
            "INSERT INTO alert_changes(alert_id, asset, state, severity, cycle, raised_cycle, rul, rul_lo, rul_hi, published)"
            " VALUES('E-1', 'E', 'active', 'warning', 9, 9, 40, 30, 50, 1);"
            "PRAGMA user_version=1;";
        ASSERT_EQ(run_raw_sql(dir.file("t.db"), v1), "");
    }
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok()) << db.message();
    change_set cs;
    cs.alerts.push_back(cleared(raised("E", 1, 9, alerting::severity::warning), 12));
    ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    const auto alerts = load_alerts(**db);
    ASSERT_EQ(alerts.size(), 2u);
    EXPECT_TRUE(alerts[0].published);
    EXPECT_TRUE(std::isnan(alerts[0].alert.risk_rul));  // unknown for the old row
    EXPECT_EQ(alerts[1].alert.risk_rul, 35.0625);
}

TEST(database, meta_values_persist) {
    testing_support::temp_dir dir;
    {
        auto db = database::open(dir.file("t.db"), sync_mode::normal);
        ASSERT_TRUE(db.ok());
        EXPECT_FALSE(*(*db)->meta("model"));
        ASSERT_TRUE((*db)->set_meta("model", "fd001").ok());
    }
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    EXPECT_EQ(**(*db)->meta("model"), "fd001");
}

TEST(database, a_file_that_is_not_a_database_is_an_error_not_a_crash) {
    testing_support::temp_dir dir;
    {
        std::ofstream out(dir.file("t.db"));
        out << "this is not an SQLite file, but it is long enough to look like a header of one......";
    }
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    EXPECT_FALSE(db.ok());
    EXPECT_EQ(db.error(), errc::io_error);
}

TEST(database, an_acknowledgement_is_stored_as_its_own_change_with_who_when_and_why) {
    testing_support::temp_dir dir;
    auto a = raised("E", 1, 10, alerting::severity::critical);
    auto acked = a;
    acked.state = alerting::alert_state::acknowledged;
    acked.ack = alerting::acknowledgement{"operator-1a2b", 1700000000123, "borescope booked \xc3\xa9"};
    {
        auto db = database::open(dir.file("t.db"), sync_mode::normal);
        ASSERT_TRUE(db.ok()) << db.message();
        change_set cs;
        cs.alerts = {a, acked, cleared(acked, 30)};
        ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    }
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok()) << db.message();
    const auto alerts = load_alerts(**db);
    ASSERT_EQ(alerts.size(), 3u);
    EXPECT_FALSE(alerts[0].alert.ack);
    EXPECT_EQ(alerts[1].alert.state, alerting::alert_state::acknowledged);
    ASSERT_TRUE(alerts[1].alert.ack);
    EXPECT_EQ(alerts[1].alert.ack->by, "operator-1a2b");
    EXPECT_EQ(alerts[1].alert.ack->at_ms, 1700000000123);
    EXPECT_EQ(alerts[1].alert.ack->comment, "borescope booked \xc3\xa9");
    EXPECT_EQ(alerts[2].alert.state, alerting::alert_state::cleared);
    ASSERT_TRUE(alerts[2].alert.ack) << "a cleared alert keeps its acknowledgement";
}

TEST(database, a_schema_2_file_is_migrated_and_keeps_its_alerts) {
    testing_support::temp_dir dir;
    {
        // The alert_changes table as schema 2 wrote it (no acknowledgement columns).
        const char* sql =
            "CREATE TABLE alert_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, alert_id TEXT NOT NULL, asset TEXT NOT NULL, "
            "state TEXT NOT NULL, severity TEXT NOT NULL, cycle INTEGER NOT NULL, raised_cycle INTEGER NOT NULL, cleared_cycle INTEGER, "
            "rul REAL, rul_lo REAL, rul_hi REAL, risk_rul REAL, published INTEGER NOT NULL DEFAULT 0, UNIQUE (alert_id, state));"
            "INSERT INTO alert_changes(alert_id, asset, state, severity, cycle, raised_cycle, rul, rul_lo, rul_hi, risk_rul) "
            "VALUES('E-1', 'E', 'active', 'warning', 5, 5, 40, 30, 50, 35);"
            "PRAGMA user_version=2;";
        ASSERT_EQ(run_raw_sql(dir.file("old.db"), sql), "");
    }
    auto db = database::open(dir.file("old.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok()) << db.message();
    auto acked = raised("E", 1, 5, alerting::severity::warning);
    acked.state = alerting::alert_state::acknowledged;
    acked.ack = alerting::acknowledgement{"op", 1, "c"};
    change_set cs;
    cs.alerts = {acked};
    ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    const auto alerts = load_alerts(**db);
    ASSERT_EQ(alerts.size(), 2u);
    EXPECT_EQ(alerts[0].alert.id, "E-1");
    EXPECT_FALSE(alerts[0].alert.ack);
    ASSERT_TRUE(alerts[1].alert.ack);
    EXPECT_EQ(alerts[1].alert.ack->by, "op");
}

TEST(database, snapshots_of_a_kilobyte_stay_in_their_pages) {
    // A WITHOUT ROWID table spills a row over about 1,000 bytes into an overflow page: 300
    // snapshots of 1,088 bytes (a twin's size) took 300 overflow pages besides their leaves.
    testing_support::temp_dir dir;
    {
        auto db = database::open(dir.file("t.db"), sync_mode::normal);
        ASSERT_TRUE(db.ok()) << db.message();
        change_set cs;
        for (int i = 0; i < 300; ++i) cs.twins.push_back({"ENG-" + std::to_string(i), 7, std::string(1088, char('a' + i % 26)), 1});
        ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    }
    const auto pages = query_int(dir.file("t.db"), "PRAGMA page_count");
    EXPECT_GT(pages, 0);
    EXPECT_LT(pages, 150) << "300 rows of 1,088 bytes: about 100 leaf pages, plus the index and the other tables";
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    std::size_t seen = 0;
    ASSERT_TRUE((*db)->load_twins([&](twin_row&& r) {
        EXPECT_EQ(r.snapshot.size(), 1088u);
        ++seen;
    }).ok());
    EXPECT_EQ(seen, 300u);
}

TEST(database, a_schema_7_file_gets_a_rowid_twins_table_and_keeps_its_twins) {
    testing_support::temp_dir dir;
    {
        // The twins table as schema 7 wrote it.
        const char* sql =
            "CREATE TABLE twins (asset TEXT PRIMARY KEY, last_cycle INTEGER NOT NULL, updated_ms INTEGER NOT NULL, snapshot BLOB NOT NULL) "
            "WITHOUT ROWID;"
            "INSERT INTO twins VALUES('E-1', 42, 1700000000000, x'0102030405');"
            "PRAGMA user_version=7;";
        ASSERT_EQ(run_raw_sql(dir.file("old.db"), sql), "");
    }
    {
        auto db = database::open(dir.file("old.db"), sync_mode::normal);
        ASSERT_TRUE(db.ok()) << db.message();
        std::vector<twin_row> rows;
        ASSERT_TRUE((*db)->load_twins([&](twin_row&& r) { rows.push_back(std::move(r)); }).ok());
        ASSERT_EQ(rows.size(), 1u);
        EXPECT_EQ(rows[0].asset, "E-1");
        EXPECT_EQ(rows[0].last_cycle, 42);
        EXPECT_EQ(rows[0].updated_ms, 1700000000000);
        EXPECT_EQ(rows[0].snapshot, std::string("\x01\x02\x03\x04\x05"));
        change_set cs;
        cs.twins.push_back({"E-1", 43, "new", 2});
        ASSERT_TRUE((*db)->commit({cs}, 1, {}).ok());
    }
    EXPECT_EQ(query_int(dir.file("old.db"), "SELECT count(*) FROM sqlite_schema WHERE name = 'twins' AND sql LIKE '%WITHOUT ROWID%'"), 0);
    EXPECT_EQ(query_int(dir.file("old.db"), "SELECT last_cycle FROM twins WHERE asset = 'E-1'"), 43);
    EXPECT_EQ(query_int(dir.file("old.db"), "PRAGMA user_version"), 8);
}

}  // namespace
}  // namespace turbotwin::store
