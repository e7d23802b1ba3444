#pragma once
/// Re-running an engine's stored history through a twin: what `turbotwin explain` does up to an
/// alert, and what `serve` does for a shadow model's twins at start-up (and for a twin whose
/// snapshot another model wrote).
#include <cstddef>
#include <optional>
#include <vector>

#include "turbotwin/cluster/node.hpp"
#include "turbotwin/codec/telemetry.hpp"
#include "turbotwin/store/database.hpp"
#include "turbotwin/twin/asset_twin.hpp"

namespace turbotwin::app {

struct rerun_outcome {
    std::optional<twin::twin_update> last;  ///< the last reading's update (none applied: empty)
    std::size_t readings = 0;               ///< readings applied
    std::size_t refused = 0;                ///< readings the twin refused
    std::size_t events = 0;                 ///< operator events applied
};

/// Applies `readings` (oldest first) and this engine's `events` to `tw` in their live order: an
/// event at cycle c came after the reading of cycle c and before any later one; events after
/// the last reading are applied at the end.
rerun_outcome rerun_history(twin::asset_twin& tw, const std::vector<reading>& readings, std::vector<store::event_row> events);

/// Reads the engine's readings up to `upto` and its events up to `upto` (before it, without
/// `events_at_upto`: the state right after the reading of `upto`) from `db` and re-runs them on a
/// new twin of `config`. `missing` counts history rows stored without their reading.
Result<std::pair<twin::asset_twin, rerun_outcome>> rebuild_twin(store::database& db, const std::string& asset, std::int64_t upto,
                                                                 const twin::twin_config& config, std::size_t* missing = nullptr,
                                                                 bool events_at_upto = true);

/// An engine's RUL history for cycles in [from, to], re-run from its journal (cluster mode keeps
/// no store): its readings through a new twin of `config`, its operator events in their place.
/// The twins are deterministic, so this is the history the live twin went through.
std::vector<store::rul_row> rerun_journal(const std::string& asset, const std::vector<cluster::journal_record>& journal,
                                          const twin::twin_config& config, const codec::telemetry_limits& limits, std::int64_t from,
                                          std::int64_t to);

}  // namespace turbotwin::app
