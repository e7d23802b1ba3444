#include "turbotwin/app/history_rerun.hpp"

#include "turbotwin/codec/command.hpp"

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

std::vector<store::rul_row> rerun_journal(const std::string& asset, const std::vector<cluster::journal_record>& journal,
                                          const twin::twin_config& config, const codec::telemetry_limits& limits, std::int64_t from,
                                          std::int64_t to) {
    std::vector<store::rul_row> rows;
    twin::asset_twin tw(asset, config);
    const auto events_topic = codec::event_command_topic(asset);
    for (const auto& record : journal) {
        if (record.topic == events_topic) {
            if (auto e = codec::decode_event_command(record.payload)) (void)tw.record_event(e->type, e->cycle);
            continue;
        }
        if (!record.topic.empty()) continue;  // an acknowledgement: no part of the RUL history
        auto decoded = codec::decode_telemetry(record.payload, limits);
        if (!decoded) continue;
        auto u = tw.process(std::move(decoded->data));
        if (!u || u->cycle < from || u->cycle > to) continue;
        std::vector<float> levels;
        levels.reserve(tw.channel_count());
        for (std::size_t i = 0; i < tw.channel_count(); ++i) levels.push_back(float(tw.channel_level(i)));
        rows.push_back({asset, u->cycle, u->estimate.rul, u->estimate.rul_lo, u->estimate.rul_hi, u->level, std::move(levels), std::nullopt});
    }
    return rows;
}

}  // namespace turbotwin::app
