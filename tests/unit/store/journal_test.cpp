#include "turbotwin/store/journal.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"

namespace turbotwin::store {
namespace {

namespace fs = std::filesystem;

std::vector<journal_entry> read_all(const journal& j, std::uint64_t after = 0) {
    std::vector<journal_entry> out;
    auto n = j.replay(after, [&](journal_entry&& e) { out.push_back(std::move(e)); });
    EXPECT_TRUE(n.ok()) << n.message();
    return out;
}

std::vector<fs::path> segment_files(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".log") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string topic_of(int i) { return "turbotwin/v1/engines/ENG-" + std::to_string(i % 7) + "/telemetry"; }
std::string payload_of(int i) { return "{\"cycle\":" + std::to_string(i) + ",\"sensors\":{\"T24\":641.82}}"; }

TEST(crc32, matches_the_zlib_check_value) {
    const std::string nine = "123456789";
    EXPECT_EQ(crc32(0, nine.data(), nine.size()), 0xCBF43926u);
    // Continuing in pieces gives the same value as in one go.
    EXPECT_EQ(crc32(crc32(0, nine.data(), 4), nine.data() + 4, 5), 0xCBF43926u);
}

TEST(journal, appends_and_reads_back_in_order_with_increasing_sequence_numbers) {
    testing_support::temp_dir dir;
    auto j = journal::open(dir.file("j"), {});
    ASSERT_TRUE(j.ok()) << j.message();
    for (int i = 1; i <= 100; ++i) {
        auto r = (*j)->append(topic_of(i), payload_of(i));
        EXPECT_TRUE(r.durable);
        EXPECT_EQ(r.seq, std::uint64_t(i));
    }
    const auto all = read_all(**j);
    ASSERT_EQ(all.size(), 100u);
    for (int i = 1; i <= 100; ++i) {
        EXPECT_EQ(all[i - 1].seq, std::uint64_t(i));
        EXPECT_EQ(all[i - 1].topic, topic_of(i));
        EXPECT_EQ(all[i - 1].payload, payload_of(i));
    }
    EXPECT_EQ(read_all(**j, 90).size(), 10u);
    EXPECT_EQ((*j)->last_seq(), 100u);
}

TEST(journal, binary_and_empty_payloads_survive_bit_for_bit) {
    testing_support::temp_dir dir;
    std::string binary;
    for (int i = 0; i < 1024; ++i) binary += static_cast<char>(i % 256);
    {
        auto j = journal::open(dir.file("j"), {});
        ASSERT_TRUE(j.ok());
        (*j)->append("a/b", binary);
        (*j)->append("", "");
    }
    auto j = journal::open(dir.file("j"), {});
    ASSERT_TRUE(j.ok());
    const auto all = read_all(**j);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].payload, binary);
    EXPECT_EQ(all[1].topic, "");
    EXPECT_EQ(all[1].payload, "");
}

TEST(journal, reopening_continues_the_sequence) {
    testing_support::temp_dir dir;
    {
        auto j = journal::open(dir.file("j"), {});
        ASSERT_TRUE(j.ok());
        for (int i = 1; i <= 5; ++i) (*j)->append(topic_of(i), payload_of(i));
    }
    auto j = journal::open(dir.file("j"), {});
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)->last_seq(), 5u);
    EXPECT_EQ((*j)->append("t", "p").seq, 6u);
    EXPECT_EQ(read_all(**j).size(), 6u);
}

TEST(journal, starts_after_the_checkpoint_even_when_the_files_are_gone) {
    testing_support::temp_dir dir;
    auto j = journal::open(dir.file("j"), {}, 1001);
    ASSERT_TRUE(j.ok());
    EXPECT_EQ((*j)->append("t", "p").seq, 1001u);
}

TEST(journal, a_torn_last_record_is_ignored_and_cut_off) {
    testing_support::temp_dir dir;
    {
        auto j = journal::open(dir.file("j"), {});
        ASSERT_TRUE(j.ok());
        for (int i = 1; i <= 10; ++i) (*j)->append(topic_of(i), payload_of(i));
    }
    // GIVEN a crash in the middle of the 11th write: its header and half its bytes are on disk
    const auto files = segment_files(dir.file("j"));
    ASSERT_EQ(files.size(), 1u);
    const auto intact = fs::file_size(files[0]);
    {
        auto j = journal::open(dir.file("j"), {});  // writes the 11th into a scratch segment
        ASSERT_TRUE(j.ok());
        (*j)->append(topic_of(11), payload_of(11));
    }
    auto scratch = segment_files(dir.file("j"));
    ASSERT_EQ(scratch.size(), 2u);
    std::string whole;
    {
        std::ifstream in(scratch[1], std::ios::binary);
        whole.assign(std::istreambuf_iterator<char>(in), {});
    }
    fs::remove(scratch[1]);
    {
        std::ofstream out(files[0], std::ios::binary | std::ios::app);
        out.write(whole.data(), std::streamsize(whole.size() / 2));
    }
    ASSERT_GT(fs::file_size(files[0]), intact);

    // WHEN the journal is opened again
    auto j = journal::open(dir.file("j"), {});
    ASSERT_TRUE(j.ok()) << j.message();

    // THEN the ten whole records are read, the torn one is dropped and its bytes truncated
    const auto all = read_all(**j);
    ASSERT_EQ(all.size(), 10u);
    EXPECT_EQ(all.back().payload, payload_of(10));
    EXPECT_EQ(fs::file_size(files[0]), intact);
    EXPECT_EQ((*j)->stats().truncated_bytes, whole.size() / 2);
    // and appending goes on after the last whole record
    EXPECT_EQ((*j)->append("t", "p").seq, 11u);
    EXPECT_EQ(read_all(**j).size(), 11u);
}

TEST(journal, a_corrupted_record_ends_the_segment) {
    testing_support::temp_dir dir;
    {
        auto j = journal::open(dir.file("j"), {});
        ASSERT_TRUE(j.ok());
        for (int i = 1; i <= 3; ++i) (*j)->append(topic_of(i), payload_of(i));
    }
    const auto files = segment_files(dir.file("j"));
    ASSERT_FALSE(files.empty());
    // Flip one payload byte of the last record (power loss without fsync can leave garbage).
    {
        std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-3, std::ios::end);
        f.put('#');
    }
    auto j = journal::open(dir.file("j"), {});
    ASSERT_TRUE(j.ok());
    const auto all = read_all(**j);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all.back().seq, 2u);
}

TEST(journal, rotates_segments_and_release_deletes_only_covered_ones) {
    testing_support::temp_dir dir;
    journal_options o;
    o.segment_bytes = 4096;  // about 40 records per segment
    auto j = journal::open(dir.file("j"), o);
    ASSERT_TRUE(j.ok());
    for (int i = 1; i <= 500; ++i) (*j)->append(topic_of(i), payload_of(i));
    const auto before = (*j)->stats();
    EXPECT_GT(before.segments, 5u);
    EXPECT_EQ(read_all(**j).size(), 500u);

    // WHEN the checkpoint reaches 250
    (*j)->release(250);

    // THEN every record after 250 can still be replayed, and older segments are gone
    const auto after = (*j)->stats();
    EXPECT_LT(after.segments, before.segments);
    EXPECT_LT(after.bytes, before.bytes);
    const auto rest = read_all(**j, 250);
    ASSERT_EQ(rest.size(), 250u);
    EXPECT_EQ(rest.front().seq, 251u);
    const auto all = read_all(**j);
    ASSERT_FALSE(all.empty());
    EXPECT_LE(all.front().seq, 251u);  // the segment holding 251 is kept whole

    // Releasing everything keeps the segment being written.
    (*j)->release(500);
    EXPECT_EQ((*j)->stats().segments, 1u);
    EXPECT_EQ((*j)->append("t", "p").seq, 501u);
    EXPECT_EQ(read_all(**j, 500).size(), 1u);

    // Reopened, the sequence carries on from what is left.
    j = Result<std::unique_ptr<journal>>(errc::io_error);
    auto again = journal::open(dir.file("j"), o);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->append("t", "p").seq, 502u);
}

TEST(journal, empty_segments_from_restarts_do_not_pile_up) {
    testing_support::temp_dir dir;
    for (int i = 0; i < 5; ++i) {
        auto j = journal::open(dir.file("j"), {});
        ASSERT_TRUE(j.ok());
    }
    EXPECT_EQ(segment_files(dir.file("j")).size(), 1u);
}

TEST(journal, fsync_mode_writes_the_same_records) {
    testing_support::temp_dir dir;
    journal_options o;
    o.fsync = true;
    auto j = journal::open(dir.file("j"), o);
    ASSERT_TRUE(j.ok());
    for (int i = 1; i <= 5; ++i) EXPECT_TRUE((*j)->append(topic_of(i), payload_of(i)).durable);
    EXPECT_EQ(read_all(**j).size(), 5u);
}

}  // namespace
}  // namespace turbotwin::store
