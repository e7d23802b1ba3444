#include "turbotwin/store/database.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace turbotwin::store {

namespace {

// Bump with a migration when the tables change; a file from a newer turbotwin is refused.
constexpr int schema_version = 8;  // 2: alert_changes.risk_rul; 3: ack_by, ack_at_ms, ack_comment; 4: rul_history.levels;
                                   // 5: alert_changes.type, sensor, reason, model, model_hash, config_hash, code_version;
                                   // 6: rul_history.reading, alert_changes.twin_state; 7: shadow_history, model_audit;
                                   // 8: twins is a rowid table (see below)

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS twins (
  asset      TEXT PRIMARY KEY,
  last_cycle INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  snapshot   BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS rul_history (
  asset    TEXT NOT NULL,
  cycle    INTEGER NOT NULL,
  rul      REAL,
  rul_lo   REAL,
  rul_hi   REAL,
  severity TEXT NOT NULL,
  levels   BLOB,
  reading  BLOB,
  PRIMARY KEY (asset, cycle)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shadow_history (
  asset       TEXT NOT NULL,
  cycle       INTEGER NOT NULL,
  model_hash  TEXT NOT NULL,
  active_hash TEXT NOT NULL,
  rul         REAL,
  rul_lo      REAL,
  rul_hi      REAL,
  severity    TEXT NOT NULL,
  PRIMARY KEY (asset, cycle, model_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS model_audit (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  action        TEXT NOT NULL,
  by            TEXT NOT NULL,
  at_ms         INTEGER NOT NULL,
  from_model    TEXT NOT NULL,
  from_hash     TEXT NOT NULL,
  to_model      TEXT NOT NULL,
  to_hash       TEXT NOT NULL,
  engines       INTEGER NOT NULL,
  fresh_engines INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,
  asset  TEXT NOT NULL,
  type   TEXT NOT NULL,
  cycle  INTEGER NOT NULL,
  note   TEXT NOT NULL,
  by     TEXT NOT NULL,
  at_ms  INTEGER NOT NULL,
  UNIQUE (asset, type, cycle)
);
CREATE TABLE IF NOT EXISTS alert_changes (
  seq           INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id      TEXT NOT NULL,
  asset         TEXT NOT NULL,
  state         TEXT NOT NULL,
  severity      TEXT NOT NULL,
  cycle         INTEGER NOT NULL,
  raised_cycle  INTEGER NOT NULL,
  cleared_cycle INTEGER,
  rul           REAL,
  rul_lo        REAL,
  rul_hi        REAL,
  risk_rul      REAL,
  ack_by        TEXT,
  ack_at_ms     INTEGER,
  ack_comment   TEXT,
  published     INTEGER NOT NULL DEFAULT 0,
  type          TEXT NOT NULL DEFAULT 'rul',
  sensor        TEXT,
  reason        TEXT,
  model         TEXT,
  model_hash    TEXT,
  config_hash   TEXT,
  code_version  TEXT,
  twin_state    TEXT,
  UNIQUE (alert_id, state)
);
)sql";

// Schema 8: `twins` was WITHOUT ROWID up to 7. A row of such a table keeps at most about 1,000
// bytes in its page, so every snapshot (1,088 bytes) spilled into an overflow page of its own:
// two pages written per snapshot, and 4 KB on disk for each engine. A rowid table keeps rows up
// to 4,061 bytes in the page, three snapshots to a page.
constexpr const char* twins_to_rowid_sql = R"sql(
CREATE TABLE twins_v8 (
  asset      TEXT PRIMARY KEY,
  last_cycle INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  snapshot   BLOB NOT NULL
);
INSERT INTO twins_v8(asset, last_cycle, updated_ms, snapshot) SELECT asset, last_cycle, updated_ms, snapshot FROM twins;
DROP TABLE twins;
ALTER TABLE twins_v8 RENAME TO twins;
)sql";

constexpr const char* checkpoint_key = "journal_checkpoint";

struct stmt_finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// Resets a statement when the scope ends, so that every path leaves it reusable.
class stmt_use {
public:
    explicit stmt_use(sqlite3_stmt* s) : s_(s) {}
    ~stmt_use() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    stmt_use(const stmt_use&) = delete;
    stmt_use& operator=(const stmt_use&) = delete;
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_;
};

// SQLite stores NaN as NULL; read it back as NaN so that no value turns into a number.
double column_double(sqlite3_stmt* s, int i) {
    return sqlite3_column_type(s, i) == SQLITE_NULL ? std::numeric_limits<double>::quiet_NaN() : sqlite3_column_double(s, i);
}

std::string column_text(sqlite3_stmt* s, int i) {
    const auto* p = sqlite3_column_text(s, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

// SQLITE_STATIC (no copy): every bound string outlives the step, and stmt_use clears the
// bindings before the statement is used again.
int bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    return sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
}


// One rul_history row from a statement selecting cycle, rul, rul_lo, rul_hi, severity, levels.
rul_row read_rul_row(sqlite3_stmt* s, const std::string& asset) {
    rul_row r;
    r.asset = asset;
    r.cycle = sqlite3_column_int64(s, 0);
    r.rul = column_double(s, 1);
    r.rul_lo = column_double(s, 2);
    r.rul_hi = column_double(s, 3);
    r.level = alerting::parse_severity(column_text(s, 4)).value_or(alerting::severity::normal);
    if (const void* blob = sqlite3_column_blob(s, 5)) {
        r.levels.resize(static_cast<std::size_t>(sqlite3_column_bytes(s, 5)) / sizeof(float));
        std::memcpy(r.levels.data(), blob, r.levels.size() * sizeof(float));
    }
    return r;
}

// A reading as stored: the settings, then the sensors, as doubles bit for bit (NaN included) in
// host order, so that re-running the history gives the very same numbers.
using reading_blob = std::array<double, setting_count + sensor_count>;

reading_blob to_blob(const reading& r) {
    reading_blob b;
    std::copy(r.settings.begin(), r.settings.end(), b.begin());
    std::copy(r.sensors.begin(), r.sensors.end(), b.begin() + setting_count);
    return b;
}

reading from_blob(std::int64_t cycle, const reading_blob& b) {
    reading r;
    r.cycle = cycle;
    std::copy(b.begin(), b.begin() + setting_count, r.settings.begin());
    std::copy(b.begin() + setting_count, b.end(), r.sensors.begin());
    return r;
}

}  // namespace

struct database::statements {
    stmt_ptr begin, commit, rollback;
    stmt_ptr upsert_twin, insert_rul, insert_alert, mark_published, insert_event, insert_shadow, insert_audit;
    stmt_ptr get_meta, set_meta;
};

database::database(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

database::~database() {
    st_.reset();  // statements before the connection
    if (db_) sqlite3_close_v2(db_);
}

std::string database::error_text(const std::string& what) const {
    return what + " (" + path_ + "): " + (db_ ? sqlite3_errmsg(db_) : "no database");
}

Result<bool> database::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message ? message : sqlite3_errmsg(db_);
        sqlite3_free(message);
        return {errc::io_error, "sqlite (" + path_ + "): " + text};
    }
    return true;
}

Result<std::unique_ptr<database>> database::open(const std::string& path, sync_mode sync) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    std::unique_ptr<database> db(new database(path, raw));
    if (rc != SQLITE_OK) return {errc::io_error, db->error_text("cannot open the state database")};
    sqlite3_busy_timeout(raw, 5000);  // e.g. someone reading it with the sqlite3 shell

    // WAL: the writer never blocks readers, and a commit is one append to the WAL file.
    {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(raw, "PRAGMA journal_mode=WAL", -1, &s, nullptr) != SQLITE_OK)
            return {errc::io_error, db->error_text("cannot set WAL mode")};
        stmt_ptr guard(s);
        if (sqlite3_step(s) != SQLITE_ROW || column_text(s, 0) != "wal")
            return {errc::io_error, db->error_text("the file system does not support WAL mode")};
    }
    if (auto r = db->exec(sync == sync_mode::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"); !r) return {r.error(), r.detail()};

    int version = 0;
    {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(raw, "PRAGMA user_version", -1, &s, nullptr) != SQLITE_OK)
            return {errc::io_error, db->error_text("cannot read the schema version")};
        stmt_ptr guard(s);
        if (sqlite3_step(s) == SQLITE_ROW) version = sqlite3_column_int(s, 0);
    }
    if (version > schema_version)
        return {errc::invalid_argument, path + " was written by a newer turbotwin (schema " + std::to_string(version) + ", this one knows " +
                                            std::to_string(schema_version) + ")"};
    if (auto r = db->exec(schema_sql); !r) return {r.error(), r.detail()};
    // Migrations of files from older versions, in one transaction with the version bump: a
    // crash halfway leaves the old, readable file. Tables the old file lacked were just created
    // complete, so each column is added only where it is missing.
    if (version < schema_version) {
        auto has_column = [&](const char* table, const char* column) {
            sqlite3_stmt* s = nullptr;
            const std::string sql = std::string("SELECT 1 FROM pragma_table_info('") + table + "') WHERE name = '" + column + "'";
            if (sqlite3_prepare_v2(raw, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return false;
            stmt_ptr guard(s);
            return sqlite3_step(s) == SQLITE_ROW;
        };
        const std::pair<const char*, const char*> added[] = {{"alert_changes", "risk_rul REAL"}, {"alert_changes", "ack_by TEXT"},
                                                             {"alert_changes", "ack_at_ms INTEGER"}, {"alert_changes", "ack_comment TEXT"},
                                                             {"rul_history", "levels BLOB"}, {"alert_changes", "type TEXT NOT NULL DEFAULT 'rul'"},
                                                             {"alert_changes", "sensor TEXT"}, {"alert_changes", "reason TEXT"},
                                                             {"alert_changes", "model TEXT"}, {"alert_changes", "model_hash TEXT"},
                                                             {"alert_changes", "config_hash TEXT"}, {"alert_changes", "code_version TEXT"},
                                                             {"rul_history", "reading BLOB"}, {"alert_changes", "twin_state TEXT"}};
        std::string sql = "BEGIN IMMEDIATE;";
        for (const auto& [table, column] : added) {
            const std::string name(column, std::strchr(column, ' '));
            if (!has_column(table, name.c_str())) sql += std::string("ALTER TABLE ") + table + " ADD COLUMN " + column + ";";
        }
        if (version < 8) {
            sqlite3_stmt* st = nullptr;
            bool without_rowid = false;
            if (sqlite3_prepare_v2(raw, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'twins'", -1, &st, nullptr) == SQLITE_OK) {
                stmt_ptr guard(st);
                without_rowid = sqlite3_step(st) == SQLITE_ROW && column_text(st, 0).find("WITHOUT ROWID") != std::string::npos;
            }
            if (without_rowid) sql += twins_to_rowid_sql;
        }
        sql += "PRAGMA user_version=" + std::to_string(schema_version) + "; COMMIT;";
        if (auto r = db->exec(sql.c_str()); !r) {
            (void)db->exec("ROLLBACK");
            return {r.error(), "migrating " + path + " to schema " + std::to_string(schema_version) + ": " + r.detail()};
        }
    }
    if (auto r = db->prepare_all(); !r) return {r.error(), r.detail()};
    return db;
}

Result<bool> database::prepare_all() {
    st_ = std::make_unique<statements>();
    auto prep = [&](stmt_ptr& out, const char* sql) -> bool {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) return false;
        out.reset(s);
        return true;
    };
    const bool ok =
        prep(st_->begin, "BEGIN IMMEDIATE") && prep(st_->commit, "COMMIT") && prep(st_->rollback, "ROLLBACK") &&
        prep(st_->upsert_twin,
             "INSERT INTO twins(asset, last_cycle, updated_ms, snapshot) VALUES(?1, ?2, ?3, ?4) "
             "ON CONFLICT(asset) DO UPDATE SET last_cycle = excluded.last_cycle, updated_ms = excluded.updated_ms, "
             "snapshot = excluded.snapshot") &&
        prep(st_->insert_rul, "INSERT OR REPLACE INTO rul_history(asset, cycle, rul, rul_lo, rul_hi, severity, levels, reading) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") &&
        // A change already stored (the same alert id entering the same state) is kept as it was,
        // with its published flag: re-applying a journal entry must not make it look new.
        prep(st_->insert_alert,
             "INSERT INTO alert_changes(alert_id, asset, state, severity, cycle, raised_cycle, cleared_cycle, rul, rul_lo, rul_hi, "
             "risk_rul, ack_by, ack_at_ms, ack_comment, type, sensor, reason, model, model_hash, config_hash, code_version, twin_state) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) "
             "ON CONFLICT(alert_id, state) DO NOTHING") &&
        // The same event re-applied from the journal is stored once.
        prep(st_->insert_event,
             "INSERT INTO events(asset, type, cycle, note, by, at_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(asset, type, cycle) DO NOTHING") &&
        prep(st_->insert_shadow,
             "INSERT OR REPLACE INTO shadow_history(asset, cycle, model_hash, active_hash, rul, rul_lo, rul_hi, severity) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)") &&
        prep(st_->insert_audit,
             "INSERT INTO model_audit(action, by, at_ms, from_model, from_hash, to_model, to_hash, engines, fresh_engines) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") &&
        prep(st_->mark_published, "UPDATE alert_changes SET published = 1 WHERE alert_id = ?1 AND state = ?2") &&
        prep(st_->get_meta, "SELECT value FROM meta WHERE key = ?1") &&
        prep(st_->set_meta, "INSERT INTO meta(key, value) VALUES(?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
    if (!ok) return {errc::io_error, error_text("cannot prepare statements")};
    return true;
}

Result<std::optional<std::string>> database::meta(const std::string& key) {
    // A reader connection (open_reader) prepares nothing up front: a one-off statement then.
    stmt_ptr one_off;
    if (!st_) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = ?1", -1, &raw, nullptr) != SQLITE_OK)
            return {errc::io_error, error_text("cannot read meta " + key)};
        one_off.reset(raw);
    }
    stmt_use s(st_ ? st_->get_meta.get() : one_off.get());
    bind_text(s.get(), 1, key);
    const int rc = sqlite3_step(s.get());
    if (rc == SQLITE_ROW) return std::optional<std::string>(column_text(s.get(), 0));
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return {errc::io_error, error_text("cannot read meta " + key)};
}

Result<bool> database::set_meta(const std::string& key, const std::string& value) {
    stmt_use s(st_->set_meta.get());
    bind_text(s.get(), 1, key);
    bind_text(s.get(), 2, value);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return {errc::io_error, error_text("cannot write meta " + key)};
    return true;
}

Result<std::uint64_t> database::checkpoint() {
    auto v = meta(checkpoint_key);
    if (!v) return {v.error(), v.detail()};
    if (!*v) return std::uint64_t{0};
    std::uint64_t n = 0;
    for (char c : **v) {
        if (c < '0' || c > '9') return {errc::parse_error, path_ + ": bad journal checkpoint '" + **v + "'"};
        n = n * 10 + std::uint64_t(c - '0');
    }
    return n;
}

Result<std::size_t> database::load_twins(const std::function<void(twin_row&&)>& fn) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT asset, last_cycle, updated_ms, snapshot FROM twins ORDER BY asset", -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read twins")};
    stmt_ptr s(raw);
    std::size_t n = 0;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        twin_row row;
        row.asset = column_text(raw, 0);
        row.last_cycle = sqlite3_column_int64(raw, 1);
        row.updated_ms = sqlite3_column_int64(raw, 2);
        const auto* blob = static_cast<const char*>(sqlite3_column_blob(raw, 3));
        row.snapshot.assign(blob ? blob : "", static_cast<std::size_t>(sqlite3_column_bytes(raw, 3)));
        fn(std::move(row));
        ++n;
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read twins")};
    return n;
}

namespace {
constexpr const char* alert_columns =
    "SELECT alert_id, asset, state, severity, cycle, raised_cycle, cleared_cycle, rul, rul_lo, rul_hi, published, "
    "risk_rul, ack_by, ack_at_ms, ack_comment, type, sensor, reason, model, model_hash, config_hash, code_version, twin_state "
    "FROM alert_changes ";

// One alert change from a statement selecting alert_columns.
Result<stored_alert> read_alert(sqlite3_stmt* raw, const std::string& path) {
    stored_alert sa;
    auto& a = sa.alert;
    a.id = column_text(raw, 0);
    a.asset = column_text(raw, 1);
    const auto state = alerting::parse_alert_state(column_text(raw, 2));
    const auto level = alerting::parse_severity(column_text(raw, 3));
    if (!state || !level) return {errc::parse_error, path + ": alert " + a.id + " has a bad state or severity"};
    a.state = *state;
    a.level = *level;
    a.cycle = sqlite3_column_int64(raw, 4);
    a.raised_cycle = sqlite3_column_int64(raw, 5);
    if (sqlite3_column_type(raw, 6) != SQLITE_NULL) a.cleared_cycle = sqlite3_column_int64(raw, 6);
    a.rul = column_double(raw, 7);
    a.rul_lo = column_double(raw, 8);
    a.rul_hi = column_double(raw, 9);
    sa.published = sqlite3_column_int(raw, 10) != 0;
    a.risk_rul = column_double(raw, 11);
    if (sqlite3_column_type(raw, 12) != SQLITE_NULL)
        a.ack = alerting::acknowledgement{column_text(raw, 12), sqlite3_column_int64(raw, 13), column_text(raw, 14)};
    const auto type = alerting::parse_alert_type(column_text(raw, 15));
    if (!type) return {errc::parse_error, path + ": alert " + a.id + " has a bad type"};
    a.type = *type;
    if (sqlite3_column_type(raw, 16) != SQLITE_NULL) a.sensor = column_text(raw, 16);
    if (sqlite3_column_type(raw, 17) != SQLITE_NULL) a.reason = column_text(raw, 17);
    // NULL in rows stored before provenance was recorded: shown as empty strings.
    a.model = column_text(raw, 18);
    a.model_hash = column_text(raw, 19);
    a.config_hash = column_text(raw, 20);
    a.code_version = column_text(raw, 21);
    if (sqlite3_column_type(raw, 22) != SQLITE_NULL) a.fired_state = std::make_shared<const alerting::deferred_text>(column_text(raw, 22));
    return sa;
}
}  // namespace

Result<std::size_t> database::load_alert_changes(const std::function<void(stored_alert&&)>& fn) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, (std::string(alert_columns) + "ORDER BY seq").c_str(), -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read alerts")};
    stmt_ptr s(raw);
    std::size_t n = 0;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        auto sa = read_alert(raw, path_);
        if (!sa) return {sa.error(), sa.detail()};
        fn(std::move(*sa));
        ++n;
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read alerts")};
    return n;
}

Result<std::vector<alerting::alert>> database::alert_changes(const std::string& alert_id) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, (std::string(alert_columns) + "WHERE alert_id = ?1 ORDER BY seq").c_str(), -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read alert " + alert_id)};
    stmt_ptr s(raw);
    bind_text(raw, 1, alert_id);
    std::vector<alerting::alert> out;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        auto sa = read_alert(raw, path_);
        if (!sa) return {sa.error(), sa.detail()};
        out.push_back(std::move(sa->alert));
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read alert " + alert_id)};
    return out;
}

Result<std::vector<model_pair_row>> database::model_pairs(const std::string& model_hash, const std::string& active_hash) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT s.asset, s.cycle, r.rul, s.rul, r.severity, s.severity FROM shadow_history s "
                           "JOIN rul_history r ON r.asset = s.asset AND r.cycle = s.cycle "
                           "WHERE s.model_hash = ?1 AND s.active_hash = ?2 ORDER BY s.asset, s.cycle",
                           -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read the shadow history")};
    stmt_ptr s(raw);
    bind_text(raw, 1, model_hash);
    bind_text(raw, 2, active_hash);
    std::vector<model_pair_row> out;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        model_pair_row p;
        p.asset = column_text(raw, 0);
        p.cycle = sqlite3_column_int64(raw, 1);
        p.active_rul = column_double(raw, 2);
        p.shadow_rul = column_double(raw, 3);
        p.active_level = alerting::parse_severity(column_text(raw, 4)).value_or(alerting::severity::normal);
        p.shadow_level = alerting::parse_severity(column_text(raw, 5)).value_or(alerting::severity::normal);
        out.push_back(std::move(p));
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read the shadow history")};
    return out;
}

Result<std::vector<model_audit_row>> database::model_audit(std::size_t limit) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT seq, action, by, at_ms, from_model, from_hash, to_model, to_hash, engines, fresh_engines "
                           "FROM model_audit ORDER BY seq DESC LIMIT ?1",
                           -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read the model audit")};
    stmt_ptr s(raw);
    sqlite3_bind_int64(raw, 1, static_cast<sqlite3_int64>(std::min<std::size_t>(limit, std::numeric_limits<std::int32_t>::max())));
    std::vector<model_audit_row> out;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW)
        out.push_back({sqlite3_column_int64(raw, 0), column_text(raw, 1), column_text(raw, 2), sqlite3_column_int64(raw, 3),
                       column_text(raw, 4), column_text(raw, 5), column_text(raw, 6), column_text(raw, 7),
                       sqlite3_column_int64(raw, 8), sqlite3_column_int64(raw, 9)});
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read the model audit")};
    return out;
}

Result<std::vector<reading>> database::readings(const std::string& asset, std::int64_t upto, std::size_t* missing) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT cycle, reading FROM rul_history WHERE asset = ?1 AND cycle <= ?2 ORDER BY cycle", -1, &raw, nullptr) !=
        SQLITE_OK)
        return {errc::io_error, error_text("cannot read the readings of " + asset)};
    stmt_ptr s(raw);
    bind_text(raw, 1, asset);
    sqlite3_bind_int64(raw, 2, upto);
    std::vector<reading> out;
    if (missing) *missing = 0;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        const void* blob = sqlite3_column_blob(raw, 1);
        if (!blob || static_cast<std::size_t>(sqlite3_column_bytes(raw, 1)) != sizeof(reading_blob)) {
            if (missing) ++*missing;
            continue;
        }
        reading_blob values;
        std::memcpy(values.data(), blob, sizeof values);
        out.push_back(from_blob(sqlite3_column_int64(raw, 0), values));
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read the readings of " + asset)};
    return out;
}

Result<std::vector<rul_row>> database::rul_history(const std::string& asset, std::size_t limit) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT cycle, rul, rul_lo, rul_hi, severity, levels FROM rul_history WHERE asset = ?1 ORDER BY cycle DESC LIMIT ?2",
                           -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read RUL history")};
    stmt_ptr s(raw);
    bind_text(raw, 1, asset);
    sqlite3_bind_int64(raw, 2, static_cast<sqlite3_int64>(std::min<std::size_t>(limit, std::numeric_limits<std::int32_t>::max())));
    std::vector<rul_row> out;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        out.push_back(read_rul_row(raw, asset));
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read RUL history")};
    return out;
}

Result<std::vector<rul_row>> database::rul_range(const std::string& asset, std::int64_t from, std::int64_t to) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "SELECT cycle, rul, rul_lo, rul_hi, severity, levels FROM rul_history WHERE asset = ?1 AND cycle BETWEEN ?2 AND ?3 "
                           "ORDER BY cycle",
                           -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read RUL history")};
    stmt_ptr s(raw);
    bind_text(raw, 1, asset);
    sqlite3_bind_int64(raw, 2, from);
    sqlite3_bind_int64(raw, 3, to);
    std::vector<rul_row> out;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        out.push_back(read_rul_row(raw, asset));
    }
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read RUL history")};
    return out;
}

Result<std::vector<event_row>> database::events() {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT asset, type, cycle, note, by, at_ms FROM events ORDER BY seq", -1, &raw, nullptr) != SQLITE_OK)
        return {errc::io_error, error_text("cannot read events")};
    stmt_ptr s(raw);
    std::vector<event_row> out;
    int rc = 0;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW)
        out.push_back({column_text(raw, 0), column_text(raw, 1), sqlite3_column_int64(raw, 2), column_text(raw, 3), column_text(raw, 4),
                       sqlite3_column_int64(raw, 5)});
    if (rc != SQLITE_DONE) return {errc::io_error, error_text("cannot read events")};
    return out;
}

Result<std::unique_ptr<database>> database::open_reader(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, nullptr);
    std::unique_ptr<database> db(new database(path, raw));
    if (rc != SQLITE_OK) return {errc::io_error, db->error_text("cannot open the state database for reading")};
    sqlite3_busy_timeout(raw, 2000);
    return db;
}

Result<bool> database::commit(const std::vector<change_set>& changes, std::uint64_t checkpoint_seq,
                              const std::vector<alert_key>& published, std::vector<alert_key>* unmatched) {
    auto step_done = [](sqlite3_stmt* s) { return sqlite3_step(s) == SQLITE_DONE; };
    auto fail = [&](const std::string& what) -> Result<bool> {
        Result<bool> r{errc::io_error, error_text(what)};
        stmt_use rb(st_->rollback.get());
        if (sqlite3_get_autocommit(db_) == 0) (void)sqlite3_step(rb.get());
        return r;
    };
    {
        stmt_use s(st_->begin.get());
        if (!step_done(s.get())) return {errc::io_error, error_text("cannot begin a transaction")};
    }

    // An engine touched by several batches is written once, with its latest snapshot.
    std::unordered_map<std::string_view, const twin_row*> latest;
    for (const auto& cs : changes)
        for (const auto& t : cs.twins) latest[t.asset] = &t;
    for (const auto& [asset, t] : latest) {
        stmt_use s(st_->upsert_twin.get());
        bind_text(s.get(), 1, t->asset);
        sqlite3_bind_int64(s.get(), 2, t->last_cycle);
        sqlite3_bind_int64(s.get(), 3, t->updated_ms);
        sqlite3_bind_blob64(s.get(), 4, t->snapshot.data(), t->snapshot.size(), SQLITE_STATIC);
        if (!step_done(s.get())) return fail("cannot store the twin of " + t->asset);
    }
    for (const auto& cs : changes) {
        for (const auto& r : cs.ruls) {
            stmt_use s(st_->insert_rul.get());
            bind_text(s.get(), 1, r.asset);
            sqlite3_bind_int64(s.get(), 2, r.cycle);
            sqlite3_bind_double(s.get(), 3, r.rul);
            sqlite3_bind_double(s.get(), 4, r.rul_lo);
            sqlite3_bind_double(s.get(), 5, r.rul_hi);
            sqlite3_bind_text(s.get(), 6, alerting::to_string(r.level), -1, SQLITE_STATIC);
            // float32 in host order (little-endian on every platform we build for).
            if (!r.levels.empty()) sqlite3_bind_blob64(s.get(), 7, r.levels.data(), r.levels.size() * sizeof(float), SQLITE_STATIC);
            reading_blob input;
            if (r.input) {
                input = to_blob(*r.input);
                sqlite3_bind_blob64(s.get(), 8, input.data(), sizeof input, SQLITE_STATIC);
            }
            if (!step_done(s.get())) return fail("cannot store the RUL history of " + r.asset);
        }
        for (const auto& a : cs.alerts) {
            stmt_use s(st_->insert_alert.get());
            bind_text(s.get(), 1, a.id);
            bind_text(s.get(), 2, a.asset);
            sqlite3_bind_text(s.get(), 3, alerting::to_string(a.state), -1, SQLITE_STATIC);
            sqlite3_bind_text(s.get(), 4, alerting::to_string(a.level), -1, SQLITE_STATIC);
            sqlite3_bind_int64(s.get(), 5, a.cycle);
            sqlite3_bind_int64(s.get(), 6, a.raised_cycle);
            if (a.cleared_cycle) sqlite3_bind_int64(s.get(), 7, *a.cleared_cycle);
            else sqlite3_bind_null(s.get(), 7);
            sqlite3_bind_double(s.get(), 8, a.rul);
            sqlite3_bind_double(s.get(), 9, a.rul_lo);
            sqlite3_bind_double(s.get(), 10, a.rul_hi);
            sqlite3_bind_double(s.get(), 11, a.risk_rul);
            if (a.ack) {
                bind_text(s.get(), 12, a.ack->by);
                sqlite3_bind_int64(s.get(), 13, a.ack->at_ms);
                bind_text(s.get(), 14, a.ack->comment);
            }  // else NULL: stmt_use cleared the bindings
            sqlite3_bind_text(s.get(), 15, alerting::to_string(a.type), -1, SQLITE_STATIC);
            if (a.type == alerting::alert_type::sensor_fault) {
                bind_text(s.get(), 16, a.sensor);
                bind_text(s.get(), 17, a.reason);
            }
            bind_text(s.get(), 18, a.model);
            bind_text(s.get(), 19, a.model_hash);
            bind_text(s.get(), 20, a.config_hash);
            bind_text(s.get(), 21, a.code_version);
            if (a.fired_state) bind_text(s.get(), 22, a.fired_state->get());  // TreeSHAP runs here, if nobody asked yet
            if (!step_done(s.get())) return fail("cannot store alert " + a.id);
        }
    }
    for (const auto& cs : changes)
        for (const auto& e : cs.events) {
            stmt_use s(st_->insert_event.get());
            bind_text(s.get(), 1, e.asset);
            bind_text(s.get(), 2, e.type);
            sqlite3_bind_int64(s.get(), 3, e.cycle);
            bind_text(s.get(), 4, e.note);
            bind_text(s.get(), 5, e.by);
            sqlite3_bind_int64(s.get(), 6, e.at_ms);
            if (!step_done(s.get())) return fail("cannot store an event of " + e.asset);
        }
    for (const auto& cs : changes) {
        for (const auto& r : cs.shadow_ruls) {
            stmt_use s(st_->insert_shadow.get());
            bind_text(s.get(), 1, r.asset);
            sqlite3_bind_int64(s.get(), 2, r.cycle);
            bind_text(s.get(), 3, r.model_hash);
            bind_text(s.get(), 4, r.active_hash);
            sqlite3_bind_double(s.get(), 5, r.rul);
            sqlite3_bind_double(s.get(), 6, r.rul_lo);
            sqlite3_bind_double(s.get(), 7, r.rul_hi);
            sqlite3_bind_text(s.get(), 8, alerting::to_string(r.level), -1, SQLITE_STATIC);
            if (!step_done(s.get())) return fail("cannot store the shadow estimate of " + r.asset);
        }
        for (const auto& a : cs.audits) {
            stmt_use s(st_->insert_audit.get());
            bind_text(s.get(), 1, a.action);
            bind_text(s.get(), 2, a.by);
            sqlite3_bind_int64(s.get(), 3, a.at_ms);
            bind_text(s.get(), 4, a.from_model);
            bind_text(s.get(), 5, a.from_hash);
            bind_text(s.get(), 6, a.to_model);
            bind_text(s.get(), 7, a.to_hash);
            sqlite3_bind_int64(s.get(), 8, a.engines);
            sqlite3_bind_int64(s.get(), 9, a.fresh_engines);
            if (!step_done(s.get())) return fail("cannot store the model audit");
        }
        for (const auto& [key, value] : cs.meta) {
            stmt_use s(st_->set_meta.get());
            bind_text(s.get(), 1, key);
            bind_text(s.get(), 2, value);
            if (!step_done(s.get())) return fail("cannot store meta " + key);
        }
    }
    for (const auto& k : published) {
        stmt_use s(st_->mark_published.get());
        bind_text(s.get(), 1, k.id);
        sqlite3_bind_text(s.get(), 2, alerting::to_string(k.state), -1, SQLITE_STATIC);
        if (!step_done(s.get())) return fail("cannot mark alert " + k.id + " published");
        if (sqlite3_changes(db_) == 0 && unmatched) unmatched->push_back(k);
    }
    {
        stmt_use s(st_->set_meta.get());
        const std::string value = std::to_string(checkpoint_seq);
        sqlite3_bind_text(s.get(), 1, checkpoint_key, -1, SQLITE_STATIC);
        bind_text(s.get(), 2, value);
        if (!step_done(s.get())) return fail("cannot store the journal checkpoint");
    }
    {
        stmt_use s(st_->commit.get());
        if (!step_done(s.get())) return fail("cannot commit");
    }
    return true;
}

}  // namespace turbotwin::store
