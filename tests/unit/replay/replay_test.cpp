#include "turbotwin/replay/replay.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "mosquitto_broker.hpp"
#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/mqtt/client.hpp"

#include "temp_dir.hpp"

namespace turbotwin::replay {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::eventually;

struct row_spec {
    long unit;
    reading data;
};

// Readings with awkward doubles (many digits, tiny and large magnitudes), deterministic.
reading make_reading(std::int64_t cycle, std::mt19937_64& rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    reading r;
    r.cycle = cycle;
    for (auto& s : r.settings) s = u(rng) * 1e-3;
    for (std::size_t i = 0; i < r.sensors.size(); ++i) r.sensors[i] = 500.0 + 1000.0 * u(rng) + u(rng) * 1e-9;
    return r;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

struct temp_dir : testing_support::temp_dir {
    temp_dir() : testing_support::temp_dir("turbotwin-replay-test") {}
};

// Writes rows with write_cmapss_row, then decorates: trailing spaces on every other line, a
// blank line, and one bad line after `bad_after` rows (when >= 0).
void write_file(const std::string& path, const std::vector<row_spec>& rows, int bad_after = -1) {
    std::ofstream out(path);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        std::ostringstream line;
        dataset::write_cmapss_row(line, rows[i].unit, rows[i].data);
        std::string text = line.str();
        if (i % 2 == 1) text.insert(text.size() - 1, "   ");  // trailing spaces before '\n'
        out << text;
        if (static_cast<int>(i) == bad_after) out << "1 2 3 not a row\n\n";
    }
}

std::vector<row_spec> fleet(int engines, int cycles, std::mt19937_64& rng) {
    std::vector<row_spec> rows;
    for (int u = 1; u <= engines; ++u)
        for (int c = 1; c <= cycles; ++c) rows.push_back({u, make_reading(c, rng)});
    return rows;
}

std::vector<replay_row> plan_rows(std::initializer_list<std::pair<const char*, std::int64_t>> l) {
    std::vector<replay_row> rows;
    for (auto [a, c] : l) {
        replay_row r;
        r.asset = a;
        r.data.cycle = c;
        rows.push_back(r);
    }
    return rows;
}

std::vector<std::pair<std::string, std::int64_t>> keys(const std::vector<replay_row>& rows) {
    std::vector<std::pair<std::string, std::int64_t>> k;
    for (const auto& r : rows) k.emplace_back(r.asset, r.data.cycle);
    return k;
}

// --- loading and ordering: no broker needed ---------------------------------------------------

TEST(replay_plan, maps_units_and_reports_bad_lines_with_file_and_line) {
    temp_dir dir;
    std::mt19937_64 rng(1);
    const auto rows = fleet(2, 3, rng);
    const auto path = dir.file("train.txt");
    write_file(path, rows, 1);  // bad line is line 3
    auto plan = load_replay_plan({path}, "ENG-", false);
    ASSERT_TRUE(plan.ok()) << plan.message();
    ASSERT_EQ(plan->rows.size(), rows.size());
    EXPECT_EQ(plan->engines, 2u);
    EXPECT_EQ(plan->rows.front().asset, "ENG-001");
    EXPECT_EQ(plan->rows.back().asset, "ENG-002");
    ASSERT_EQ(plan->issues.size(), 1u);
    EXPECT_EQ(plan->issues[0].file, path);
    EXPECT_EQ(plan->issues[0].line, 3u);
}

TEST(replay_plan, a_missing_sensor_is_left_out_of_the_telemetry) {
    // GIVEN a file where T24 and one setting are missing (an injected sensor dropout)
    temp_dir dir;
    std::mt19937_64 rng(4);
    auto rows = fleet(1, 2, rng);
    rows[1].data.sensors[*sensor_index("T24")] = missing;
    rows[1].data.settings[0] = missing;
    const auto path = dir.file("dropout.txt");
    write_file(path, rows);
    // WHEN replayed
    auto plan = load_replay_plan({path}, "ENG-", false);
    // THEN the row is kept, and its telemetry has every sensor but T24 (JSON has no NaN; the
    // server reads an absent sensor as missing)
    ASSERT_TRUE(plan.ok()) << plan.message();
    EXPECT_TRUE(plan->issues.empty());
    ASSERT_EQ(plan->rows.size(), 2u);
    const std::string healthy = codec::encode_telemetry(plan->rows[0].data);
    const std::string faulty = codec::encode_telemetry(plan->rows[1].data);
    EXPECT_NE(healthy.find("\"T24\":"), std::string::npos) << healthy;
    EXPECT_EQ(faulty.find("\"T24\":"), std::string::npos) << faulty;
    EXPECT_EQ(faulty.find("\"altitude\":"), std::string::npos) << faulty;
    EXPECT_NE(faulty.find("\"T50\":"), std::string::npos) << faulty;
    EXPECT_EQ(faulty.find("nan"), std::string::npos) << faulty;
}

TEST(replay_plan, missing_file_is_an_io_error) {
    auto plan = load_replay_plan({"/nonexistent/turbotwin/file.txt"}, "ENG-", false);
    ASSERT_FALSE(plan.ok());
    EXPECT_EQ(plan.error(), errc::io_error);
    EXPECT_NE(plan.detail().find("/nonexistent/turbotwin/file.txt"), std::string::npos);
}

TEST(replay_plan, files_in_the_order_given_and_same_unit_is_same_engine) {
    temp_dir dir;
    std::mt19937_64 rng(2);
    write_file(dir.file("a.txt"), {{2, make_reading(1, rng)}, {2, make_reading(2, rng)}});
    write_file(dir.file("b.txt"), {{1, make_reading(1, rng)}, {2, make_reading(3, rng)}});
    auto plan = load_replay_plan({dir.file("a.txt"), dir.file("b.txt")}, "X", false);
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->engines, 2u);
    const std::vector<std::pair<std::string, std::int64_t>> expected = {{"X002", 1}, {"X002", 2}, {"X001", 1}, {"X002", 3}};
    EXPECT_EQ(keys(plan->rows), expected);
}

TEST(replay_plan, interleave_orders_by_cycle_across_engines_stably) {
    auto rows = plan_rows({{"A", 1}, {"A", 2}, {"A", 3}, {"B", 1}, {"B", 2}, {"C", 2}, {"C", 3}});
    interleave_by_cycle(rows);
    const std::vector<std::pair<std::string, std::int64_t>> expected = {
        {"A", 1}, {"B", 1}, {"A", 2}, {"B", 2}, {"C", 2}, {"A", 3}, {"C", 3}};
    EXPECT_EQ(keys(rows), expected);
}

TEST(replay_plan, interleave_never_reorders_one_engines_rows) {
    // B's file rows go 5, 1, 2: they stay in that order, merged by the head of each engine.
    auto rows = plan_rows({{"A", 1}, {"A", 2}, {"A", 3}, {"B", 5}, {"B", 1}, {"B", 2}});
    interleave_by_cycle(rows);
    std::vector<std::int64_t> b;
    for (const auto& r : rows)
        if (r.asset == "B") b.push_back(r.data.cycle);
    EXPECT_EQ(b, (std::vector<std::int64_t>{5, 1, 2}));
    const std::vector<std::pair<std::string, std::int64_t>> expected = {
        {"A", 1}, {"A", 2}, {"A", 3}, {"B", 5}, {"B", 1}, {"B", 2}};
    EXPECT_EQ(keys(rows), expected);
}

TEST(replay_run, missing_file_exits_2) {
    std::ostringstream err;
    replay_options o;
    EXPECT_EQ(run_replay({"/nonexistent/turbotwin/file.txt"}, "ENG-", false, o, true, err), exit_usage);
    EXPECT_NE(err.str().find("cannot open /nonexistent/turbotwin/file.txt"), std::string::npos) << err.str();
    EXPECT_EQ(run_replay({}, "ENG-", false, o, true, err), exit_usage);
}

TEST(replay_run, broker_down_exits_1_with_clear_message) {
    temp_dir dir;
    std::mt19937_64 rng(3);
    write_file(dir.file("t.txt"), fleet(1, 3, rng));
    replay_options o;
    o.broker_url = "tcp://127.0.0.1:" + std::to_string(test::free_loopback_port());
    o.connect_timeout = 2s;
    std::ostringstream err;
    EXPECT_EQ(run_replay({dir.file("t.txt")}, "ENG-", false, o, true, err), exit_failed);
    EXPECT_NE(err.str().find("cannot connect to " + o.broker_url), std::string::npos) << err.str();
}

// --- against a real broker --------------------------------------------------------------------

class replay_broker_test : public test::broker_test {
protected:
    void TearDown() override {
        subscriber_.reset();  // before the broker goes, or it logs a lost connection
        test::broker_test::TearDown();
    }

    // Subscribes to every telemetry topic; waits for the SUBACK.
    void subscribe_all() {
        mqtt::client_options co;
        co.broker_url = broker_.url();
        subscriber_ = std::make_unique<mqtt::client>(co);
        subscriber_->on_message([this](mqtt::message&& m) {
            std::lock_guard lk(mu_);
            received_.push_back(std::move(m));
        });
        ASSERT_TRUE(subscriber_->connect(5s).ok());
        ASSERT_TRUE(subscriber_->subscribe(std::string(codec::telemetry_subscription), 1).ok());
    }
    std::size_t received_count() {
        std::lock_guard lk(mu_);
        return received_.size();
    }
    std::vector<mqtt::message> received() {
        std::lock_guard lk(mu_);
        return received_;
    }
    replay_options options() const {
        replay_options o;
        o.broker_url = broker_.url();
        return o;
    }

    temp_dir dir_;
    std::mutex mu_;
    std::vector<mqtt::message> received_;
    std::unique_ptr<mqtt::client> subscriber_;  // last: destroyed before what its callback uses
};

TEST_F(replay_broker_test, command_reports_bad_lines_and_summary_and_exits_0) {
    std::mt19937_64 rng(4);
    const auto path = dir_.file("train_FD001.txt");
    write_file(path, fleet(3, 40, rng), 10);
    std::ostringstream err;
    ASSERT_EQ(run_replay({path}, "ENG-", false, options(), true, err), exit_ok) << err.str();
    EXPECT_NE(err.str().find(path + ":12: "), std::string::npos) << "bad line not reported: " << err.str();
    EXPECT_NE(err.str().find("published 120 rows from 3 engines (1 bad line skipped) in "), std::string::npos) << err.str();
    EXPECT_EQ(err.str().find("replay: "), std::string::npos) << "--quiet shows no progress: " << err.str();
}

// The subscriber's connection also publishes: Paho C makes a second client in one process wait
// ~2 s for its CONNACK (see the mqtt tests), and the publishing path is the same.
TEST_F(replay_broker_test, delivers_every_row_once_in_file_order_with_identical_doubles) {
    std::mt19937_64 rng(4);
    const auto rows = fleet(3, 40, rng);
    const auto path = dir_.file("train_FD001.txt");
    write_file(path, rows, 10);
    subscribe_all();
    auto plan = load_replay_plan({path}, "ENG-", false);
    ASSERT_TRUE(plan.ok());
    auto o = options();
    o.max_in_flight = 16;  // exercise the window
    auto summary = publish_plan(*plan, o, *subscriber_);
    ASSERT_TRUE(summary.ok()) << summary.message();
    EXPECT_EQ(summary->published, rows.size());
    EXPECT_EQ(summary->bad_lines, 1u);

    ASSERT_TRUE(eventually([&] { return received_count() >= rows.size(); })) << received_count();
    std::this_thread::sleep_for(200ms);  // would a duplicate show up?
    const auto got = received();
    ASSERT_EQ(got.size(), rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const auto asset = asset_id_for_unit("ENG-", rows[i].unit);
        EXPECT_EQ(got[i].topic, codec::telemetry_topic(asset)) << i;
        auto decoded = codec::decode_telemetry(got[i].payload);
        ASSERT_TRUE(decoded.ok()) << decoded.message();
        const auto& r = decoded->data;
        EXPECT_EQ(r.cycle, rows[i].data.cycle);
        for (std::size_t s = 0; s < sensor_count; ++s)
            EXPECT_TRUE(same_bits(r.sensors[s], rows[i].data.sensors[s])) << "row " << i << " sensor " << s;
        for (std::size_t s = 0; s < setting_count; ++s)
            EXPECT_TRUE(same_bits(r.settings[s], rows[i].data.settings[s])) << "row " << i << " setting " << s;
    }
}

TEST_F(replay_broker_test, interleave_publishes_a_fleet_cycle_by_cycle) {
    std::mt19937_64 rng(5);
    const auto path = dir_.file("fleet.txt");
    write_file(path, fleet(4, 5, rng));
    subscribe_all();
    auto plan = load_replay_plan({path}, "ENG-", true);
    ASSERT_TRUE(plan.ok());
    auto summary = publish_plan(*plan, options(), *subscriber_);
    ASSERT_TRUE(summary.ok()) << summary.message();
    EXPECT_EQ(summary->published, 20u);
    ASSERT_TRUE(eventually([&] { return received_count() >= 20; }));
    const auto got = received();
    ASSERT_EQ(got.size(), 20u);
    for (std::size_t i = 0; i < got.size(); ++i) {
        auto decoded = codec::decode_telemetry(got[i].payload);
        ASSERT_TRUE(decoded.ok());
        EXPECT_EQ(decoded->data.cycle, static_cast<std::int64_t>(i / 4 + 1)) << i;
        EXPECT_EQ(got[i].topic, codec::telemetry_topic(asset_id_for_unit("ENG-", static_cast<long>(i % 4 + 1)))) << i;
    }
}

TEST_F(replay_broker_test, speed_paces_rows_and_progress_is_reported) {
    std::mt19937_64 rng(6);
    const auto path = dir_.file("slow.txt");
    write_file(path, fleet(1, 30, rng));
    auto plan = load_replay_plan({path}, "ENG-", false);
    ASSERT_TRUE(plan.ok());
    auto o = options();
    o.rows_per_second = 100;  // 30 rows: about 0.3 s
    o.progress_interval = 50ms;
    int progress_calls = 0;
    auto summary = publish_plan(*plan, o, [&](const replay_progress& p) {
        ++progress_calls;
        EXPECT_EQ(p.total, 30u);
        EXPECT_LE(p.acked, p.sent);
    });
    ASSERT_TRUE(summary.ok()) << summary.message();
    EXPECT_EQ(summary->published, 30u);
    EXPECT_GE(summary->seconds, 0.28);
    EXPECT_LT(summary->seconds, 2.0);
    EXPECT_GE(progress_calls, 3);
}

TEST_F(replay_broker_test, stop_request_ends_cleanly_with_130) {
    std::mt19937_64 rng(7);
    const auto path = dir_.file("long.txt");
    write_file(path, fleet(1, 1000, rng));
    std::atomic<bool> stop{false};
    auto o = options();
    o.rows_per_second = 200;  // 5 s if not stopped
    o.stop = &stop;
    std::thread ctrl_c([&] {
        std::this_thread::sleep_for(200ms);
        stop = true;
    });
    std::ostringstream err;
    const auto start = std::chrono::steady_clock::now();
    const int code = run_replay({path}, "ENG-", false, o, true, err);
    ctrl_c.join();
    EXPECT_EQ(code, exit_interrupted) << err.str();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_NE(err.str().find("interrupted: published "), std::string::npos) << err.str();
}

TEST_F(replay_broker_test, broker_dying_mid_replay_is_an_error_within_the_ack_timeout) {
    std::mt19937_64 rng(8);
    const auto path = dir_.file("long.txt");
    write_file(path, fleet(1, 1000, rng));
    auto plan = load_replay_plan({path}, "ENG-", false);
    ASSERT_TRUE(plan.ok());
    auto o = options();
    o.rows_per_second = 500;
    o.ack_timeout = 1s;
    o.progress_interval = 10ms;
    std::size_t acked_at_kill = 0;
    const auto start = std::chrono::steady_clock::now();
    auto summary = publish_plan(*plan, o, [&](const replay_progress& p) {
        if (acked_at_kill == 0 && p.acked >= 20) {  // mid-replay, for sure
            acked_at_kill = p.acked;
            broker_.stop();
        }
    });
    ASSERT_GT(acked_at_kill, 0u);
    ASSERT_FALSE(summary.ok());
    EXPECT_EQ(summary.error(), errc::io_error);
    EXPECT_NE(summary.detail().find("rows acknowledged"), std::string::npos) << summary.detail();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
}

}  // namespace
}  // namespace turbotwin::replay
