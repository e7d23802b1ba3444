#include "durable_state.hpp"

#include "turbotwin/codec/command.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "turbotwin/app/history_rerun.hpp"
#include "turbotwin/app/runtime.hpp"
#include "turbotwin/codec/telemetry.hpp"

namespace turbotwin::app {

namespace fs = std::filesystem;

namespace {
constexpr const char* model_key = "model";
}  // namespace

Result<std::unique_ptr<durable_state>> durable_state::open(const std::string& data_dir, const codec::durability_config& config,
                                                           const twin::twin_config& twin_config) {
    std::unique_ptr<durable_state> d(new durable_state());
    d->config_ = config;
    d->twin_config_ = twin_config;
    auto lock = store::dir_lock::acquire(data_dir);
    if (!lock) return {lock.error(), lock.detail()};
    d->lock_ = std::move(*lock);

    const auto db_path = (fs::path(data_dir) / "turbotwin.db").string();
    auto db = store::database::open(db_path, config.fsync ? store::sync_mode::full : store::sync_mode::normal);
    if (!db) return {db.error(), db.detail()};
    d->db_ = std::move(*db);
    auto reader = store::database::open_reader(db_path);
    if (!reader) return {reader.error(), reader.detail()};
    d->reader_ = std::move(*reader);

    // Snapshots only make sense with the model that produced them.
    const std::string& model = twin_config.model->name;
    auto stored_model = d->db_->meta(model_key);
    if (!stored_model) return {stored_model.error(), stored_model.detail()};
    if (*stored_model && **stored_model != model)
        return {errc::invalid_argument, db_path + " holds the state of model '" + **stored_model + "', not of '" + model +
                                            "': use that model, or another --data-dir (or move this one away) to start afresh"};
    if (!*stored_model) {
        if (auto r = d->db_->set_meta(model_key, model); !r) return {r.error(), r.detail()};
    }

    auto cp = d->db_->checkpoint();
    if (!cp) return {cp.error(), cp.detail()};
    d->checkpoint_at_open_ = *cp;

    store::journal_options jo;
    jo.segment_bytes = config.journal_segment_bytes;
    jo.fsync = config.fsync;
    // Numbers continue after the checkpoint even if the journal files were lost.
    auto j = store::journal::open((fs::path(data_dir) / "journal").string(), jo, *cp + 1);
    if (!j) return {j.error(), j.detail()};
    d->journal_ = std::move(*j);
    return d;
}

durable_state::~durable_state() { stop(); }

Result<restore_report> durable_state::restore(fleet& engines, fleet_view& view) {
    restore_report report;
    report.checkpoint = checkpoint_at_open_;
    Result<bool> outcome{true};
    auto twins = db_->load_twins([&](store::twin_row&& row) {
        if (!outcome) return;
        auto tw = twin::asset_twin::restore(row.snapshot, twin_config_);
        if (!tw) {
            // A snapshot another model wrote (a server stopped in the middle of a promotion): the
            // engine's stored readings give its twin under this model.
            std::size_t missing = 0;
            auto rebuilt = rebuild_twin(*db_, row.asset, row.last_cycle, twin_config_, &missing);
            if (!rebuilt || missing > 0 || rebuilt->first.last_cycle() != row.last_cycle) {
                outcome = Result<bool>{tw.error(), "cannot restore " + row.asset + " from " + db_->path() + ": " + tw.detail() +
                                                      " (written by another version or model? use another --data-dir to start afresh)"};
                return;
            }
            spdlog::warn("{}: its snapshot is not of model '{}': rebuilt from its {} stored readings", row.asset, twin_config_.model->name,
                         rebuilt->second.readings);
            tw = Result<twin::asset_twin>(std::move(rebuilt->first));
            ++report.rebuilt;
        }
        engines.adopt(std::make_unique<twin::asset_twin>(std::move(*tw)), row.updated_ms);
        report.restored.emplace_back(row.asset, row.last_cycle);
        ++report.twins;
    });
    if (!twins) return {twins.error(), twins.detail()};
    if (!outcome) return {outcome.error(), outcome.detail()};
    auto alerts = db_->load_alert_changes([&](store::stored_alert&& a) {
        view.record_alert(a.alert);
        ++report.alert_changes;
        if (!a.published) report.unpublished.push_back(std::move(a.alert));
    });
    if (!alerts) return {alerts.error(), alerts.detail()};
    return report;
}

Result<std::size_t> durable_state::warm_shadows(fleet& engines, const twin::twin_config& shadow, const restore_report& restored) {
    std::size_t warmed = 0;
    for (const auto& [asset, last_cycle] : restored.restored) {
        std::size_t missing = 0;
        auto rebuilt = rebuild_twin(*db_, asset, last_cycle, shadow, &missing);
        if (!rebuilt) return {rebuilt.error(), rebuilt.detail()};
        if (missing > 0 || rebuilt->second.readings == 0) continue;
        engines.adopt_shadow(std::make_unique<twin::asset_twin>(std::move(rebuilt->first)));
        ++warmed;
    }
    return warmed;
}

Result<bool> durable_state::record_serving(const std::string& active_hash, const std::string& shadow_hash) {
    if (auto r = db_->set_meta(serving_model_key, active_hash); !r) return r;
    return db_->set_meta(serving_shadow_key, shadow_hash);
}

void durable_state::start_writer(const fleet& engines) {
    store::writer_options wo;
    wo.commit_interval = std::chrono::milliseconds(config_.commit_interval_ms);
    wo.commit_records = config_.commit_records;
    writer_ = std::make_unique<store::batch_writer>(
        *db_, wo, [&engines] { return engines.processed_watermark(); },
        // Entries up to the checkpoint are in committed snapshots: their segments can go.
        [this](std::uint64_t checkpoint) { journal_->release(checkpoint); }, checkpoint_at_open_);
}

Result<std::uint64_t> durable_state::replay_journal(fleet& engines, metrics& counters) {
    return journal_->replay(checkpoint_at_open_, [&](store::journal_entry&& e) {
        counters.journal_replayed.fetch_add(1, std::memory_order_relaxed);
        // Only admitted messages were journaled; the topic is checked again all the same.
        Result<std::string> asset{errc::bad_asset_id};
        if (codec::is_command_topic(e.topic)) {
            if (auto c = codec::parse_command_topic(e.topic)) asset = std::move(c->first);
        } else {
            asset = codec::asset_from_telemetry_topic(e.topic);
        }
        if (!asset) return;
        engines.enqueue(std::move(*asset), std::move(e.topic), std::move(e.payload), e.seq, /*replayed=*/true);
    });
}

Result<std::vector<store::rul_row>> durable_state::history(const std::string& asset, std::int64_t from, std::int64_t to) const {
    return reader_->rul_range(asset, from, to);
}

void durable_state::mark_published(store::alert_key key) {
    if (writer_) writer_->mark_published(std::move(key));
}

void durable_state::batch_done(store::change_set&& changes) {
    if (!config_.rul_history) changes.ruls.clear();
    if (!config_.readings)
        for (auto& r : changes.ruls) r.input.reset();
    if (writer_) {
        writer_->submit(std::move(changes));
        return;
    }
    // Not reached in serve (the writer starts before any message); never drop a change set.
    if (auto r = db_->commit({changes}, checkpoint_at_open_, {}); !r) spdlog::error("store: {}", r.message());
}

Result<bool> durable_state::flush() {
    if (!writer_) return true;
    return writer_->flush();
}

void durable_state::stop() {
    if (writer_) writer_->stop();
}

std::string durable_state::prometheus() const {
    std::string out;
    auto metric = [&](const char* name, const char* type, const char* help, double v) {
        out += "# HELP "; out += name; out += ' '; out += help; out += "\n# TYPE "; out += name; out += ' '; out += type;
        out += '\n'; out += name; out += ' ';
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", v);
        out += buf;
        out += '\n';
    };
    const auto j = journal_->stats();
    metric("turbotwin_journal_bytes", "gauge", "Bytes in the ingest journal's segment files.", double(j.bytes));
    metric("turbotwin_journal_segments", "gauge", "Ingest journal segment files.", double(j.segments));
    metric("turbotwin_journal_last_seq", "gauge", "Sequence number of the last journaled message.", double(journal_->last_seq()));
    if (writer_) {
        const auto w = writer_->stats();
        metric("turbotwin_store_checkpoint_seq", "gauge", "Journal position covered by the committed snapshots.", double(w.checkpoint));
        metric("turbotwin_store_commits_total", "counter", "Store transactions committed.", double(w.commits));
        metric("turbotwin_store_records_total", "counter", "Twin, RUL and alert records committed.", double(w.records));
        metric("turbotwin_store_commit_failures_total", "counter", "Store commits that failed (retried).", double(w.failures));
        metric("turbotwin_store_pending_records", "gauge", "Records waiting for the next commit.", double(w.pending_records));
        metric("turbotwin_store_last_commit_ms", "gauge", "Duration of the last store commit.", w.last_commit_ms);
    }
    return out;
}

}  // namespace turbotwin::app
