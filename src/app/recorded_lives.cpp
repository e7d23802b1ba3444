#include "turbotwin/app/recorded_lives.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

namespace turbotwin::app {

const char* to_string(life_end e) noexcept {
    switch (e) {
        case life_end::failure: return "failure";
        case life_end::removal: return "removal";
        case life_end::maintenance: return "maintenance";
    }
    return "?";
}

std::vector<reading> recorded_life::readings_from_life_start() const {
    std::vector<reading> out = readings;
    for (auto& r : out) r.cycle -= start_cycle;
    return out;
}

std::optional<std::int64_t> recorded_life::true_rul(std::int64_t cycle) const noexcept {
    if (end != life_end::failure) return std::nullopt;
    return end_cycle - cycle;
}

std::size_t recorded_fleet::count(life_end e) const noexcept {
    return std::size_t(std::count_if(lives.begin(), lives.end(), [e](const recorded_life& l) { return l.end == e; }));
}

Result<recorded_fleet> read_recorded_lives(store::database& db) {
    auto events = db.events();
    if (!events) return {events.error(), events.detail()};
    // Each engine's events in the order recorded: at one cycle, a failure then a maintenance
    // ends the old life, a maintenance then a failure ends a new one that read nothing.
    std::map<std::string, std::vector<const store::event_row*>> by_asset;
    for (const auto& e : *events) by_asset[e.asset].push_back(&e);

    struct ending {
        std::int64_t start, end;
        life_end how;
    };
    recorded_fleet fleet;
    std::vector<std::pair<std::size_t, recorded_life>> ordered;  // (index of the ending event, life)
    for (const auto& [asset, list] : by_asset) {
        std::vector<std::pair<const store::event_row*, ending>> endings;
        std::int64_t start = 0;
        bool closed = false;
        for (const auto* e : list) {
            if (e->type == "maintenance") {
                if (!closed) endings.push_back({e, {start, e->cycle, life_end::maintenance}});
                start = e->cycle;
                closed = false;
            } else if ((e->type == "failure" || e->type == "removal") && !closed) {
                endings.push_back({e, {start, e->cycle, e->type == "failure" ? life_end::failure : life_end::removal}});
                closed = true;
            }
        }
        if (endings.empty()) continue;
        std::size_t missing = 0;
        auto readings = db.readings(asset, endings.back().second.end, &missing);
        if (!readings) return {readings.error(), readings.detail()};
        fleet.readings_missing += missing;
        for (const auto& [event, life] : endings) {
            recorded_life out;
            out.asset = asset;
            out.start_cycle = life.start;
            out.end_cycle = life.end;
            out.end = life.how;
            for (const auto& r : *readings)
                if (r.cycle > life.start && r.cycle <= life.end) out.readings.push_back(r);
            if (out.readings.empty()) continue;
            ordered.emplace_back(std::size_t(event - events->data()), std::move(out));
        }
    }
    std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& entry : ordered) fleet.lives.push_back(std::move(entry.second));
    return fleet;
}

Result<recorded_fleet> read_recorded_lives(const std::string& data_dir) {
    const auto db_path = (std::filesystem::path(data_dir) / "turbotwin.db").string();
    if (!std::filesystem::exists(db_path)) return {errc::not_found, "no turbotwin.db in " + data_dir + " (the folder `serve --data-dir` wrote)"};
    auto db = store::database::open_reader(db_path);
    if (!db) return {db.error(), db.detail()};
    return read_recorded_lives(**db);
}

}  // namespace turbotwin::app
