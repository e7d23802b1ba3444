#include "turbotwin/app/history_rerun.hpp"

#include <algorithm>

namespace turbotwin::app {

rerun_outcome rerun_history(twin::asset_twin& tw, const std::vector<reading>& readings, std::vector<store::event_row> events) {
    std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.cycle < b.cycle; });
    rerun_outcome out;
    std::size_t next = 0;
    auto apply_events_before = [&](std::int64_t cycle) {
        for (; next < events.size() && events[next].cycle < cycle; ++next)
            if (tw.record_event(events[next].type, events[next].cycle)) ++out.events;
    };
    for (const auto& r : readings) {
        apply_events_before(r.cycle);
        auto u = tw.process(r);
        if (!u) {
            ++out.refused;
            continue;
        }
        ++out.readings;
        out.last = std::move(*u);
    }
    apply_events_before(max_cycle + 1);
    return out;
}

Result<std::pair<twin::asset_twin, rerun_outcome>> rebuild_twin(store::database& db, const std::string& asset, std::int64_t upto,
                                                                 const twin::twin_config& config, std::size_t* missing, bool events_at_upto) {
    auto readings = db.readings(asset, upto, missing);
    if (!readings) return {readings.error(), readings.detail()};
    auto events = db.events();
    if (!events) return {events.error(), events.detail()};
    std::erase_if(*events, [&](const store::event_row& e) { return e.asset != asset || e.cycle > upto || (!events_at_upto && e.cycle == upto); });
    twin::asset_twin tw(asset, config);
    auto outcome = rerun_history(tw, *readings, std::move(*events));
    return std::pair<twin::asset_twin, rerun_outcome>{std::move(tw), std::move(outcome)};
}

}  // namespace turbotwin::app
