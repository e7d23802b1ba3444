#pragma once
/// The engine lives a server's store recorded, split at the operator events (POST
/// /api/v1/assets/{id}/events): what `turbotwin train --from-store` learns from. A life runs from
/// the engine's first reading, or from a maintenance event, to the event that ended it. Only a
/// failure gives the true remaining life; a removal, or a maintenance visit before any failure,
/// leaves it unknown beyond the end (right-censored). docs/scenarios.md, "Learning from the fleet".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"
#include "turbotwin/store/database.hpp"

namespace turbotwin::app {

/// How a recorded life ended.
enum class life_end {
    failure,      ///< a recorded failure: the true RUL of every reading is known
    removal,      ///< removed before failure: censored
    maintenance,  ///< a shop visit started a new life before any failure: censored
};
const char* to_string(life_end e) noexcept;

struct recorded_life {
    std::string asset;
    std::int64_t start_cycle = 0;  ///< the maintenance event's cycle that began it (0: the engine's first life)
    std::int64_t end_cycle = 0;    ///< the cycle of the event that ended it
    life_end end = life_end::failure;
    /// The readings the twin applied in this life (start_cycle < cycle <= end_cycle), oldest
    /// first, with the engine's own cycle numbers, as stored.
    std::vector<reading> readings;

    /// The readings with cycles counted from the life's start, as the twin's model saw them
    /// (asset_twin feeds it cycle - life_start): a new twin given these computes what the live one did.
    std::vector<reading> readings_from_life_start() const;
    /// True RUL at `cycle` (the engine's numbering): end_cycle - cycle for a failure; nullopt for
    /// a censored life (only known to be more than that).
    std::optional<std::int64_t> true_rul(std::int64_t cycle) const noexcept;
};

struct recorded_fleet {
    std::vector<recorded_life> lives;  ///< in the order their ending events were recorded
    std::size_t readings_missing = 0;  ///< history rows stored without their reading (durability.readings off, or before schema 6)
    std::size_t count(life_end e) const noexcept;
};

/// Every life of every engine with an event, ended by that event, from `db`'s events (in the
/// order recorded, which is the order the twins applied them) and readings. Lives without a
/// reading (e.g. a failure recorded at the cycle of a maintenance visit) are left out; the
/// readings of an engine's current, unfinished life are not read.
Result<recorded_fleet> read_recorded_lives(store::database& db);

/// The same from DATA_DIR/turbotwin.db, opened read-only: it works while `serve` runs on the
/// folder (WAL: it reads what serve had committed, at most a commit interval behind).
Result<recorded_fleet> read_recorded_lives(const std::string& data_dir);

}  // namespace turbotwin::app
