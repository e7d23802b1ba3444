#pragma once
/// The durable state of the fleet in one SQLite file (WAL mode): each engine's twin snapshot
/// and last cycle, its RUL history, every alert change, and the journal checkpoint. Everything
/// of one commit lands in one transaction, so a snapshot, the history rows it produced and the
/// checkpoint that covers it are always consistent with one another.
///
/// One writer at a time: the batch_writer's thread (or start-up code before it runs).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "turbotwin/alerting/rules.hpp"
#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"

struct sqlite3;

namespace turbotwin::store {

/// One engine's latest state.
struct twin_row {
    std::string asset;
    std::int64_t last_cycle = 0;
    std::string snapshot;          ///< twin::asset_twin::snapshot()
    std::int64_t updated_ms = 0;   ///< server wall clock of the last update
};

/// One processed reading's estimate.
struct rul_row {
    std::string asset;
    std::int64_t cycle = 0;
    double rul = 0, rul_lo = 0, rul_hi = 0;
    alerting::severity level = alerting::severity::normal;
    std::vector<float> levels;  ///< filtered sensor levels, in the model's channel order (may be empty)
    /// The reading as the twin applied it (decoded; NaN where absent or implausible), so that the
    /// engine's history can be re-run (`turbotwin explain`, shadow models). Unset in rows from
    /// before schema 6, and not read back by the history queries.
    std::optional<reading> input;
};

/// An engine event an operator recorded: ground truth for later learning.
struct event_row {
    std::string asset;
    std::string type;  ///< maintenance, failure, removal
    std::int64_t cycle = 0;
    std::string note;
    std::string by;
    std::int64_t at_ms = 0;
};

/// A shadow (candidate) model's estimate of one reading, beside the active model's rul_row.
struct shadow_row {
    std::string asset;
    std::int64_t cycle = 0;
    std::string model_hash;   ///< the candidate's
    std::string active_hash;  ///< the model active when it was made
    double rul = 0, rul_lo = 0, rul_hi = 0;
    alerting::severity level = alerting::severity::normal;  ///< the alert severity the candidate would have had
};

/// A model promotion or rollback: who, when, from which model to which.
struct model_audit_row {
    std::int64_t seq = 0;  ///< assigned by the store
    std::string action;    ///< promote, rollback
    std::string by;
    std::int64_t at_ms = 0;
    std::string from_model, from_hash, to_model, to_hash;
    std::int64_t engines = 0;        ///< engines switched
    std::int64_t fresh_engines = 0;  ///< of which the candidate had no state (they start afresh)
};

/// What one worker batch changed. Later change sets win over earlier ones for the same engine.
struct change_set {
    std::vector<twin_row> twins;
    std::vector<rul_row> ruls;
    std::vector<alerting::alert> alerts;  ///< each alert change (raised, cleared) in order
    std::vector<event_row> events;
    std::vector<shadow_row> shadow_ruls;
    std::vector<model_audit_row> audits;
    std::vector<std::pair<std::string, std::string>> meta;  ///< settings written with the batch (e.g. the active model)

    bool empty() const noexcept {
        return twins.empty() && ruls.empty() && alerts.empty() && events.empty() && shadow_ruls.empty() && audits.empty() && meta.empty();
    }
    std::size_t records() const noexcept {
        return twins.size() + ruls.size() + alerts.size() + events.size() + shadow_ruls.size() + audits.size() + meta.size();
    }
};

/// One reading as both models saw it (shadow report).
struct model_pair_row {
    std::string asset;
    std::int64_t cycle = 0;
    double active_rul = 0, shadow_rul = 0;
    alerting::severity active_level = alerting::severity::normal, shadow_level = alerting::severity::normal;
};

/// An alert change: the alert id and the state it entered.
struct alert_key {
    std::string id;
    alerting::alert_state state = alerting::alert_state::active;
    bool operator==(const alert_key&) const = default;
};

/// An alert change as stored, with whether the broker acknowledged its MQTT message.
struct stored_alert {
    alerting::alert alert;
    bool published = false;
};

enum class sync_mode {
    normal,  ///< WAL + synchronous=NORMAL: commits survive a process crash, maybe not power loss
    full,    ///< WAL + synchronous=FULL: commits survive power loss too
};

class database {
public:
    /// Opens or creates the database file and its schema. Fails on a file from a newer schema.
    static Result<std::unique_ptr<database>> open(const std::string& path, sync_mode sync);
    /// A read-only connection to a database that open() has set up, for readers on other
    /// threads (REST): in WAL mode it sees committed data and never blocks the writer.
    static Result<std::unique_ptr<database>> open_reader(const std::string& path);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    /// Journal position up to which every message is reflected in the stored snapshots (0: none).
    Result<std::uint64_t> checkpoint();
    /// A free-form setting stored with the data (e.g. the model name); nullopt when unset.
    Result<std::optional<std::string>> meta(const std::string& key);
    Result<bool> set_meta(const std::string& key, const std::string& value);

    /// Every stored twin, in asset order.
    Result<std::size_t> load_twins(const std::function<void(twin_row&&)>& fn);
    /// Every alert change, oldest first.
    Result<std::size_t> load_alert_changes(const std::function<void(stored_alert&&)>& fn);
    /// The last `limit` RUL rows of an asset, newest first.
    Result<std::vector<rul_row>> rul_history(const std::string& asset, std::size_t limit);
    /// Every recorded event, oldest first.
    Result<std::vector<event_row>> events();
    /// An asset's RUL rows with from <= cycle <= to, oldest first, with their sensor levels.
    Result<std::vector<rul_row>> rul_range(const std::string& asset, std::int64_t from, std::int64_t to);
    /// The readings an asset's twin applied with cycle <= `upto`, oldest first (rows stored
    /// before schema 6 have none and are left out: `missing` counts them when given).
    Result<std::vector<reading>> readings(const std::string& asset, std::int64_t upto, std::size_t* missing = nullptr);
    /// Readings both models estimated: the candidate `model_hash` while `active_hash` was active,
    /// in asset and cycle order.
    Result<std::vector<model_pair_row>> model_pairs(const std::string& model_hash, const std::string& active_hash);
    /// The promotions and rollbacks, newest first.
    Result<std::vector<model_audit_row>> model_audit(std::size_t limit);
    /// Every alert change of one alert, oldest first (empty: no such alert).
    Result<std::vector<alerting::alert>> alert_changes(const std::string& alert_id);

    /// One transaction: the change sets in order, the published marks, and the new checkpoint.
    /// A mark whose alert change is not (yet) stored is returned in `unmatched`.
    Result<bool> commit(const std::vector<change_set>& changes, std::uint64_t checkpoint_seq,
                        const std::vector<alert_key>& published, std::vector<alert_key>* unmatched = nullptr);

    const std::string& path() const noexcept { return path_; }

private:
    struct statements;
    database(std::string path, sqlite3* db);
    Result<bool> exec(const char* sql);
    Result<bool> prepare_all();
    std::string error_text(const std::string& what) const;

    std::string path_;
    sqlite3* db_ = nullptr;
    std::unique_ptr<statements> st_;
};

}  // namespace turbotwin::store
