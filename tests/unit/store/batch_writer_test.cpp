#include "turbotwin/store/batch_writer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "temp_dir.hpp"
#include "turbotwin/store/dir_lock.hpp"

namespace turbotwin::store {
namespace {

using namespace std::chrono_literals;

change_set one_twin(const std::string& asset, std::int64_t cycle) {
    change_set cs;
    cs.twins.push_back({asset, cycle, "snap" + std::to_string(cycle), cycle});
    cs.ruls.push_back({asset, cycle, double(200 - cycle), 0, 0, alerting::severity::normal, {}, std::nullopt});
    return cs;
}

TEST(batch_writer, flush_commits_everything_submitted_with_the_watermark_read_first) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    std::atomic<std::uint64_t> watermark{0};
    std::atomic<std::uint64_t> released{0};
    writer_options o;
    o.commit_interval = 10s;  // only flush() commits here
    batch_writer w(**db, o, [&] { return watermark.load(); }, [&](std::uint64_t c) { released = c; });
    for (int c = 1; c <= 50; ++c) w.submit(one_twin(std::string(1, 'E').append(std::to_string(c % 3)), c));
    watermark = 50;
    ASSERT_TRUE(w.flush().ok());
    EXPECT_EQ(*(*db)->checkpoint(), 50u);
    EXPECT_EQ(released.load(), 50u);
    EXPECT_EQ((*db)->rul_history("E1", 1000)->size(), 17u);
    const auto s = w.stats();
    EXPECT_EQ(s.commits, 1u);
    EXPECT_EQ(s.records, 100u);
    EXPECT_EQ(s.pending_records, 0u);
}

TEST(batch_writer, commits_on_its_own_every_interval) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    writer_options o;
    o.commit_interval = 20ms;
    batch_writer w(**db, o, [] { return std::uint64_t{7}; }, nullptr);
    w.submit(one_twin("E", 1));
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (w.stats().commits == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    EXPECT_GE(w.stats().commits, 1u);
    EXPECT_EQ(w.stats().checkpoint, 7u);
}

TEST(batch_writer, the_checkpoint_never_moves_back) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    std::atomic<std::uint64_t> watermark{100};
    batch_writer w(**db, {}, [&] { return watermark.load(); }, nullptr, 100);
    watermark = 40;  // a bug elsewhere must not undo a committed checkpoint
    w.submit(one_twin("E", 1));
    ASSERT_TRUE(w.flush().ok());
    EXPECT_EQ(*(*db)->checkpoint(), 100u);
}

TEST(batch_writer, stop_flushes_what_is_pending) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    {
        writer_options o;
        o.commit_interval = 10s;
        batch_writer w(**db, o, [] { return std::uint64_t{3}; }, nullptr);
        w.submit(one_twin("E", 1));
        w.submit(one_twin("E", 2));
    }  // destructor stops
    EXPECT_EQ((*db)->rul_history("E", 10)->size(), 2u);
    EXPECT_EQ(*(*db)->checkpoint(), 3u);
}

TEST(batch_writer, many_submitters_lose_nothing_under_backpressure) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    writer_options o;
    o.commit_interval = 5ms;
    o.commit_records = 50;
    o.max_pending_records = 100;  // submitters must wait for commits
    batch_writer w(**db, o, [] { return std::uint64_t{0}; }, nullptr);
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t)
        workers.emplace_back([&, t] {
            for (int c = 1; c <= 250; ++c) w.submit(one_twin(std::string(1, 'W').append(std::to_string(t)), c));
        });
    for (auto& t : workers) t.join();
    ASSERT_TRUE(w.flush().ok());
    for (int t = 0; t < 4; ++t) EXPECT_EQ((*db)->rul_history("W" + std::to_string(t), 1000)->size(), 250u);
}

TEST(batch_writer, a_published_mark_may_arrive_before_its_alert_change) {
    testing_support::temp_dir dir;
    auto db = database::open(dir.file("t.db"), sync_mode::normal);
    ASSERT_TRUE(db.ok());
    writer_options o;
    o.commit_interval = 10s;
    batch_writer w(**db, o, [] { return std::uint64_t{0}; }, nullptr);
    w.mark_published({"E-1", alerting::alert_state::active});
    ASSERT_TRUE(w.flush().ok());  // no such alert change yet: the mark waits
    change_set cs;
    alerting::alert a;
    a.id = "E-1";
    a.asset = "E";
    cs.alerts.push_back(a);
    w.submit(cs);
    ASSERT_TRUE(w.flush().ok());
    bool published = false;
    ASSERT_TRUE((*db)->load_alert_changes([&](stored_alert&& s) { published = s.published; }).ok());
    EXPECT_TRUE(published);
}

TEST(dir_lock, a_second_holder_is_refused_until_the_first_lets_go) {
    testing_support::temp_dir dir;
    auto first = dir_lock::acquire(dir.path().string());
    ASSERT_TRUE(first.ok()) << first.message();
    auto second = dir_lock::acquire(dir.path().string());
    EXPECT_FALSE(second.ok());
    EXPECT_EQ(second.error(), errc::invalid_argument);
    first = Result<std::unique_ptr<dir_lock>>(errc::io_error);  // releases
    EXPECT_TRUE(dir_lock::acquire(dir.path().string()).ok());
}

}  // namespace
}  // namespace turbotwin::store
