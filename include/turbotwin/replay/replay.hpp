#pragma once
/// Replays C-MAPSS files to a broker as telemetry messages: the library behind
/// `turbotwin replay`. Loading (file errors) and publishing (broker errors) are separate steps
/// so the command can tell them apart (exit 2 and exit 1).
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/dataset/cmapss.hpp"
#include "turbotwin/mqtt/client.hpp"

namespace turbotwin::replay {

/// One message to publish.
struct replay_row {
    std::string asset;  ///< asset id, e.g. "ENG-001"
    reading data;
};

/// Everything to publish, in publish order, plus the lines that were skipped.
struct replay_plan {
    std::vector<replay_row> rows;
    std::vector<dataset::line_issue> issues;  ///< bad lines, "FILE:LINE: message" when printed
    std::size_t engines = 0;                  ///< distinct asset ids
};

/// Reads the files in the order given (read_cmapss) and maps unit N to
/// asset_id_for_unit(prefix, N); the same unit in two files is the same engine. Without
/// `interleave` rows keep file order; with it they are merged by cycle (interleave_by_cycle).
/// Fails (io_error) only when a file cannot be opened or read.
Result<replay_plan> load_replay_plan(const std::vector<std::string>& files, const std::string& prefix, bool interleave);

/// Reorders rows as a fleet flying together: all engines' cycle 1, then all engines' cycle 2...
/// A k-way merge of each engine's own sequence, so one engine's rows are never reordered even
/// when its cycles are not increasing; rows with equal cycles keep their input order (stable).
void interleave_by_cycle(std::vector<replay_row>& rows);

struct replay_options {
    std::string broker_url = "tcp://127.0.0.1:1883";
    std::string client_id;                        ///< empty: generated
    std::string username;                         ///< optional (docs/security.md)
    std::string password;                         ///< optional, needs a username; never logged
    mqtt::tls_options tls;                        ///< used for ssl:// / mqtts:// URLs or when a file is set
    int qos = 1;                                  ///< 1: every row is acknowledged by the broker
    double rows_per_second = 0;                   ///< pacing; 0 or less: as fast as acks allow
    /// Window of unacknowledged publishes. Paho C 1.3 gets slower as it grows (list-based
    /// in-flight bookkeeping): 20,000 rows to a local mosquitto on 2 cores (Release, busy box)
    /// ran at 11-18k rows/s with 64-256 in flight but 9-11k with 1000-2000. 256 still covers
    /// 10 ms of round trip at 25k rows/s.
    std::size_t max_in_flight = 256;
    std::chrono::milliseconds connect_timeout{5000};
    /// Give up when the oldest publish has been unacknowledged this long (broker gone, stalled),
    /// or when a lost connection cannot be made again within it.
    std::chrono::milliseconds ack_timeout{10000};
    /// After a lost connection is made again, wait this long before publishing: a broker that
    /// restarted without persistence has forgotten its subscribers' sessions, and what it gets
    /// before they have subscribed again is dropped. (With persistence nothing is lost anyway.)
    std::chrono::milliseconds resume_delay{2000};
    std::chrono::milliseconds progress_interval{1000};  ///< how often on_progress is called
    /// Polled between publishes; when it becomes true, publishing stops, in-flight messages get
    /// up to 2 s to be acknowledged, and the summary says cancelled. May be set by a signal handler.
    const std::atomic<bool>* stop = nullptr;
};

struct replay_progress {
    std::size_t total = 0;        ///< rows in the plan
    std::size_t sent = 0;         ///< handed to the client
    std::size_t acked = 0;        ///< acknowledged by the broker
    double seconds = 0;           ///< since the first publish
    double rows_per_second = 0;   ///< acked / seconds
};

struct replay_summary {
    std::size_t published = 0;    ///< rows acknowledged by the broker
    std::size_t sent = 0;         ///< rows handed to the client
    std::size_t bad_lines = 0;    ///< plan.issues.size()
    std::size_t engines = 0;
    double seconds = 0;           ///< connect excluded
    double rows_per_second = 0;
    bool cancelled = false;       ///< stopped through replay_options::stop
};

/// Connects, publishes every row of `plan` as encode_telemetry(row) on telemetry_topic(asset)
/// with a bounded window of tracked publishes, and waits for every acknowledgement. Errors
/// (io_error; detail says what): broker unreachable, a publish refused or failed, no ack within
/// ack_timeout. A cancelled replay is not an error: see replay_summary::cancelled.
/// `on_progress` (may be empty) is called every progress_interval on the calling thread.
Result<replay_summary> publish_plan(const replay_plan& plan, const replay_options& options,
                                    const std::function<void(const replay_progress&)>& on_progress = {});

/// The same over a client the caller has connected (and keeps): broker_url and client_id in
/// `options` are not used. Lets one process share a connection, e.g. a test that subscribes.
Result<replay_summary> publish_plan(const replay_plan& plan, const replay_options& options, mqtt::client& client,
                                    const std::function<void(const replay_progress&)>& on_progress = {});

/// Exit codes of `turbotwin replay`.
inline constexpr int exit_ok = 0;             ///< every row acknowledged
inline constexpr int exit_failed = 1;         ///< broker unreachable, or a publish failed
inline constexpr int exit_usage = 2;          ///< bad arguments, or a file cannot be read
inline constexpr int exit_interrupted = 130;  ///< stopped by Ctrl-C

/// The whole command: load, report bad lines to `err` as "FILE:LINE: message", publish with a
/// progress line on `err` every second unless `quiet`, then a summary line. Returns the exit code.
int run_replay(const std::vector<std::string>& files, const std::string& prefix, bool interleave,
               const replay_options& options, bool quiet, std::ostream& err);

}  // namespace turbotwin::replay
