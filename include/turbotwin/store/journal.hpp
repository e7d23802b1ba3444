#pragma once
/// The ingest journal: every telemetry message `serve` accepts is appended here, on Paho's
/// callback thread, before it is handed to the workers. Paho acknowledges a QoS 1 message to the
/// broker before it calls us, so from that moment this file is the only copy: a `write()` that
/// returned survives `kill -9` (the kernel owns the bytes); `fsync` is needed only against power
/// loss and is an option.
///
/// On disk: `DIR/journal-<first seq, 20 digits>.log` segments, each a run of records
///     u32 magic "TTJ1" | u32 topic bytes | u32 payload bytes | u64 seq | u32 crc32 | topic | payload
/// (little-endian, the crc covers everything after itself and the three header fields before it).
/// A record cut short by a crash, or one whose crc does not match, ends its segment: it and
/// anything after it are ignored and truncated away when the journal is opened.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/core/result.hpp"

namespace turbotwin::store {

struct journal_options {
    /// A new segment is started once the current one reaches this size. Only whole segments are
    /// deleted, so the journal holds at most the not yet checkpointed records plus one segment.
    std::uint64_t segment_bytes = 64ull * 1024 * 1024;
    /// fdatasync() after every record (and the folder after a new segment): survives power loss,
    /// costs a disk flush per message.
    bool fsync = false;
    /// Records larger than this are treated as corruption when reading back.
    std::uint32_t max_record_bytes = 256u * 1024 * 1024;
};

struct journal_entry {
    std::uint64_t seq = 0;
    std::string topic;
    std::string payload;
};

/// What append() did: the message's sequence number, and whether it is on disk. A failed write
/// still consumes a number, so sequence numbers stay in arrival order for the caller.
struct append_result {
    std::uint64_t seq = 0;
    bool durable = false;
};

struct journal_stats {
    std::uint64_t appended = 0;        ///< records written since open
    std::uint64_t write_failures = 0;  ///< appends that did not reach the file
    std::uint64_t segments = 0;        ///< segment files on disk
    std::uint64_t bytes = 0;           ///< bytes in those files
    std::uint64_t truncated_bytes = 0; ///< torn or corrupt tail bytes dropped at open
};

class journal {
public:
    /// Opens the journal in `dir` (created if missing): checks every segment, truncates a torn or
    /// corrupt tail, and starts a new segment whose first number is max(last + 1, next_seq_at_least).
    static Result<std::unique_ptr<journal>> open(const std::string& dir, journal_options options,
                                                 std::uint64_t next_seq_at_least = 1);
    ~journal();
    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;

    /// Appends one message with one write() (thread-safe; callers that need arrival order must
    /// serialize their calls themselves, as Paho's single callback thread does).
    append_result append(std::string_view topic, std::string_view payload);

    /// Calls `fn` for every record with seq > `after`, oldest first. Returns how many it read.
    Result<std::uint64_t> replay(std::uint64_t after, const std::function<void(journal_entry&&)>& fn) const;

    /// Deletes every segment whose records all have seq <= `upto` (the checkpoint). The segment
    /// being written is never deleted.
    void release(std::uint64_t upto);

    /// The last sequence number handed out (0 if none ever).
    std::uint64_t last_seq() const;
    journal_stats stats() const;
    const std::string& dir() const noexcept { return dir_; }

private:
    struct segment {
        std::uint64_t first_seq = 0;
        std::string path;
        std::uint64_t bytes = 0;
    };

    journal(std::string dir, journal_options options);
    Result<bool> start_segment(std::uint64_t first_seq);  // mu_ held or not yet shared

    std::string dir_;
    journal_options options_;
    mutable std::mutex mu_;
    std::vector<segment> segments_;  ///< oldest first; the last one is being written
    int fd_ = -1;                    ///< the last segment, O_APPEND
    std::uint64_t next_seq_ = 1;
    journal_stats stats_;
    std::string scratch_;            ///< reused record buffer
};

/// CRC-32 (IEEE 802.3, as zlib's crc32), continuing from `crc` (0 to start).
std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t size) noexcept;

}  // namespace turbotwin::store
