#pragma once
// serve's durable state under the data dir: the ingest journal, the SQLite store and its batch
// writer, wired to the fleet. The crash-consistency argument is in docs/durability.md.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/app/fleet.hpp"
#include "turbotwin/app/fleet_view.hpp"
#include "turbotwin/app/metrics.hpp"
#include "turbotwin/codec/config.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/store/batch_writer.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/store/dir_lock.hpp"
#include "turbotwin/store/journal.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

/// What start-up found in the data dir.
struct restore_report {
    std::uint64_t checkpoint = 0;           ///< journal position the snapshots cover
    std::size_t twins = 0;                  ///< engines restored from snapshots
    std::size_t alert_changes = 0;          ///< alert changes loaded into the view
    std::vector<alerting::alert> unpublished;  ///< alert changes the broker never acknowledged
    std::vector<std::pair<std::string, std::int64_t>> restored;  ///< each engine restored, with its last cycle
    std::size_t rebuilt = 0;  ///< of which rebuilt from their readings (snapshot written under another model)
};

class durable_state final : public change_sink {
public:
    /// Locks `data_dir`, opens DATA_DIR/turbotwin.db and DATA_DIR/journal/. Fails when another
    /// process holds the folder or when its state was written with another model.
    static Result<std::unique_ptr<durable_state>> open(const std::string& data_dir, const codec::durability_config& config,
                                                       const twin::twin_config& twin_config);
    ~durable_state() override;

    /// Gives every stored twin to the fleet and every stored alert change to the view. Before
    /// start_writer() and before any message.
    Result<restore_report> restore(fleet& engines, fleet_view& view);
    /// Builds each restored engine's twin under the shadow model from its stored readings and
    /// gives it to the fleet (before any message). Returns how many; engines whose history has
    /// no readings get none (their shadow starts at their next reading).
    Result<std::size_t> warm_shadows(fleet& engines, const twin::twin_config& shadow, const restore_report& restored);
    /// Notes which models this server runs (meta; for shadow-report). Before start_writer().
    Result<bool> record_serving(const std::string& active_hash, const std::string& shadow_hash);
    const std::string& database_path() const { return db_->path(); }
    /// Starts committing the fleet's change sets, with its processed watermark as checkpoint.
    void start_writer(const fleet& engines);
    /// Re-applies every journal entry after the checkpoint, in journal order (before connecting).
    Result<std::uint64_t> replay_journal(fleet& engines, metrics& counters);

    /// Appends one arriving message to the journal (Paho's thread).
    store::append_result append(std::string_view topic, std::string_view payload) { return journal_->append(topic, payload); }
    /// An engine's stored RUL history (committed rows; the last commit interval is not there
    /// yet), oldest first. Thread-safe: its own read-only connection.
    Result<std::vector<store::rul_row>> history(const std::string& asset, std::int64_t from, std::int64_t to) const;

    /// The broker acknowledged an alert change's message.
    void mark_published(store::alert_key key);

    void batch_done(store::change_set&& changes) override;

    /// Commits everything handed over so far (the final checkpoint at shutdown).
    Result<bool> flush();
    /// Flushes and stops the writer thread. Idempotent.
    void stop();

    /// The store takes commits (false while they fail, e.g. disk full).
    bool healthy() const { return !writer_ || writer_->healthy(); }

    /// Prometheus gauges: journal size, checkpoint, commits, pending records.
    std::string prometheus() const;

private:
    durable_state() = default;

    codec::durability_config config_;
    twin::twin_config twin_config_;
    std::uint64_t checkpoint_at_open_ = 0;
    std::unique_ptr<store::dir_lock> lock_;
    std::unique_ptr<store::database> db_;
    std::unique_ptr<store::database> reader_;  ///< REST's history reads
    std::unique_ptr<store::journal> journal_;
    std::unique_ptr<store::batch_writer> writer_;  // last: stopped before the others go
};

}  // namespace turbotwin::app
