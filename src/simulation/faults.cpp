#include "turbotwin/simulation/faults.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>

#include "random_stream.hpp"
#include "rounding.hpp"

namespace turbotwin::simulation {

namespace {

// ---------------------------------------------------------------- parsing

constexpr std::string_view kind_names[] = {"spike", "stuck", "dropout", "drift"};
constexpr fault_kind kinds[] = {fault_kind::spike, fault_kind::stuck, fault_kind::dropout, fault_kind::drift};

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

// A finite decimal number taking the whole text ("1e999", "nan", "0.5x" are not).
std::optional<double> parse_number(std::string_view text) {
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::string known_sensor_list() {
    std::string s;
    for (auto name : sensor_names) (s += s.empty() ? "" : ", ") += name;
    return s;
}

// Parses one `KIND[:key=value,...]` entry; `where` names it in messages.
Result<fault_entry> parse_entry(std::string_view text, const std::string& where) {
    auto fail = [&](const std::string& why) -> Result<fault_entry> { return {errc::invalid_argument, where + ": " + why}; };

    const auto colon = text.find(':');
    const std::string_view kind_text = trim(text.substr(0, colon));
    fault_entry entry;
    const auto kind_at = std::find(std::begin(kind_names), std::end(kind_names), kind_text);
    if (kind_at == std::end(kind_names))
        return fail("unknown fault kind '" + std::string(kind_text) + "' (expected spike, stuck, dropout or drift)");
    entry.kind = kinds[kind_at - std::begin(kind_names)];
    // Defaults that depend on the kind; see fault_entry.
    if (entry.kind == fault_kind::spike) {
        entry.size_sigma = default_spike_sigma;
        entry.length_cycles = 1;
    } else if (entry.kind == fault_kind::drift) {
        entry.size_sigma = default_drift_sigma_per_10_cycles;
    }
    if (colon == std::string_view::npos) return entry;

    std::string_view options = text.substr(colon + 1);
    if (trim(options).empty()) return fail("nothing after ':' (expected key=value[,key=value...])");
    std::vector<std::string_view> seen;
    while (true) {
        const auto comma = options.find(',');
        const std::string_view option = trim(options.substr(0, comma));
        if (option.empty()) return fail("empty option (a stray ',')");
        const auto eq = option.find('=');
        if (eq == std::string_view::npos) return fail("expected key=value, got '" + std::string(option) + "'");
        const std::string_view key = trim(option.substr(0, eq));
        const std::string_view value = trim(option.substr(eq + 1));
        std::string quoted(1, '\'');  // built up rather than "'" + ...: GCC 12 warns falsely on that (-Wrestrict)
        (quoted += value) += '\'';
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) return fail("key '" + std::string(key) + "' given twice");
        seen.push_back(key);

        if (key == "sensor") {
            if (value == "random") {
                entry.sensor.reset();
            } else if (auto index = sensor_index(value)) {
                entry.sensor = *index;
            } else {
                return fail("unknown sensor " + quoted + " (expected random or one of " + known_sensor_list() + ")");
            }
        } else if (key == "engines") {
            const auto v = parse_number(value);
            if (!v || *v < 0.0 || *v > 1.0) return fail("engines must be a share of the fleet in 0..1, got " + quoted);
            entry.engines_fraction = *v;
        } else if (key == "start") {
            const auto v = parse_number(value);
            const bool fraction = v && *v >= 0.0 && *v < 1.0;
            const bool cycle = v && *v >= 1.0 && *v <= static_cast<double>(max_cycle) && std::floor(*v) == *v;
            if (!fraction && !cycle)
                return fail("start must be a fraction of the record in [0, 1) or a cycle number in 1.." +
                            std::to_string(max_cycle) + ", got " + quoted);
            entry.start = *v;
        } else if (key == "size") {
            const auto v = parse_number(value);
            if (!v || *v <= 0.0) return fail("size must be a positive number of noise standard deviations, got " + quoted);
            // Checked for every kind (a typo should not pass), used by spike and drift only.
            if (entry.kind == fault_kind::spike || entry.kind == fault_kind::drift) entry.size_sigma = *v;
        } else if (key == "length") {
            std::int64_t n = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || n < 1 || n > max_cycle)
                return fail("length must be a whole number of cycles in 1.." + std::to_string(max_cycle) + ", got " + quoted);
            entry.length_cycles = n;
        } else {
            return fail("unknown key '" + std::string(key) + "' (expected sensor, engines, start, size or length)");
        }
        if (comma == std::string_view::npos) break;
        options.remove_prefix(comma + 1);
    }
    return entry;
}

// ---------------------------------------------------------------- injection

// The fault streams are apart from simulate_fleet's (seed, unit) streams even for the same seed:
// otherwise unit 3's sign draws would replay unit 3's noise draws.
constexpr std::uint64_t fault_seed_tag = 0x6661756c74730001ULL;  // "faults", 1

// Entry j picks its engines from stream (j + 1) << 32 and draws each engine's sensor and sign
// from ((j + 1) << 32) | unit: an engine's draws depend on neither the fleet size nor the others.
std::uint64_t entry_stream(std::size_t entry, std::uint64_t unit) {
    return (static_cast<std::uint64_t>(entry + 1) << 32) | (unit & 0xffffffffULL);
}

// First faulty index into e.cycles for `start`, or nullopt when the record ends before it.
std::optional<std::size_t> first_faulty_index(const simulated_engine& e, double start) {
    const std::size_t n = e.cycles.size();
    if (n == 0) return std::nullopt;
    if (start < 1.0) return std::min(n - 1, static_cast<std::size_t>(std::floor(start * static_cast<double>(n))));
    const auto cycle = static_cast<std::int64_t>(start);
    const auto at = std::find_if(e.cycles.begin(), e.cycles.end(), [cycle](const reading& r) { return r.cycle >= cycle; });
    if (at == e.cycles.end()) return std::nullopt;
    return static_cast<std::size_t>(at - e.cycles.begin());
}

// Cycles after the first faulty one at which a drift of `size_sigma` per 10 cycles first reaches
// drift_detectable_sigma: the smallest k with size (k + 1) / 10 >= 3. The relative slack keeps
// 30 / 0.3 from landing one cycle late on the division's rounding.
std::int64_t drift_cycles_to_detectable(double size_sigma) {
    const double steps = std::ceil(10.0 * drift_detectable_sigma / size_sigma * (1.0 - 1e-12));
    return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::min(steps, 2.0 * max_cycle)) - 1);
}

// Applies one entry to one engine's `sensor`; nullopt when the engine is too short for it.
std::optional<injected_fault> apply_fault(simulated_engine& engine, const fault_entry& f, std::size_t sensor, int sign,
                                          const channel_model& channel, const sensor_spec* range) {
    auto first = first_faulty_index(engine, f.start);
    if (!first) return std::nullopt;
    auto& cycles = engine.cycles;
    const std::size_t n = cycles.size();

    double stuck_value = missing;
    if (f.kind == fault_kind::stuck) {
        // A stuck probe repeats what it read last, so it needs a reading before the fault.
        *first = std::max<std::size_t>(*first, 1);
        if (*first >= n) return std::nullopt;
        for (std::size_t i = *first; i-- > 0;)
            if (!std::isnan(cycles[i].sensors[sensor])) {
                stuck_value = cycles[i].sensors[sensor];
                break;
            }
        if (std::isnan(stuck_value)) return std::nullopt;  // nothing was ever read: nothing to repeat
    }
    const std::size_t last = f.length_cycles ? std::min<std::size_t>(n - 1, *first + static_cast<std::size_t>(*f.length_cycles) - 1) : n - 1;

    injected_fault truth;
    truth.unit = engine.unit;
    truth.kind = f.kind;
    truth.sensor = sensor;
    truth.start_cycle = cycles[*first].cycle;
    truth.end_cycle = cycles[last].cycle;
    truth.noise_sd = channel.noise_sd;
    const bool offsets = f.kind == fault_kind::spike || f.kind == fault_kind::drift;
    if (offsets) {
        truth.size_sigma = f.size_sigma;
        truth.sign = sign;
    }
    if (f.kind == fault_kind::drift) {
        const std::int64_t detectable = truth.start_cycle + drift_cycles_to_detectable(f.size_sigma);
        if (detectable <= truth.end_cycle) truth.detectable_cycle = detectable;
    }

    for (std::size_t i = *first; i <= last; ++i) {
        double& v = cycles[i].sensors[sensor];
        if (std::isnan(v)) continue;  // missing stays missing, whatever else the probe does
        switch (f.kind) {
            case fault_kind::stuck: v = stuck_value; break;
            case fault_kind::dropout: v = missing; break;
            case fault_kind::spike: v = detail::round_to_decimals(v + sign * f.size_sigma * channel.noise_sd, channel.decimals); break;
            case fault_kind::drift: {
                const double bias = sign * drift_bias_sigma(f.size_sigma, cycles[i].cycle - truth.start_cycle) * channel.noise_sd;
                v = detail::round_to_decimals(v + bias, channel.decimals);
                break;
            }
        }
        // Saturate rather than leave the range: the server would drop an implausible value,
        // turning the spike or drift into a dropout.
        if (offsets && range && (v < range->min || v > range->max)) {
            v = std::clamp(v, range->min, range->max);
            ++truth.clipped_cycles;
        }
    }
    return truth;
}

std::string shortest(double v) {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("nan");
}

}  // namespace

std::string_view fault_kind_name(fault_kind kind) noexcept {
    for (std::size_t i = 0; i < std::size(kinds); ++i)
        if (kinds[i] == kind) return kind_names[i];
    return "unknown";
}

Result<fault_spec> parse_fault_spec(std::string_view text) {
    std::string file_text;
    std::string source;  // "PATH:" for a spec file, so messages point at its line
    if (!trim(text).empty() && trim(text).front() == '@') {
        const std::string path(trim(trim(text).substr(1)));
        if (path.empty()) return {errc::invalid_argument, "'@' needs a file name (@path/to/spec)"};
        std::ifstream in(path, std::ios::binary);
        if (!in) return {errc::io_error, "cannot open fault spec file " + path};
        std::ostringstream contents;
        contents << in.rdbuf();
        if (in.bad()) return {errc::io_error, "read error in fault spec file " + path};
        file_text = std::move(contents).str();
        text = file_text;
        source = path + ":";
    }

    fault_spec spec;
    std::size_t line_no = 0;
    while (!text.empty() || line_no == 0) {
        ++line_no;
        const auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        while (true) {
            const auto semicolon = line.find(';');
            const std::string_view entry_text = trim(line.substr(0, semicolon));
            if (!entry_text.empty()) {
                std::string where = source.empty() ? "" : source + std::to_string(line_no) + ": ";
                where += "fault " + std::to_string(spec.faults.size() + 1) + " '" + std::string(entry_text) + "'";
                auto entry = parse_entry(entry_text, where);
                if (!entry) return {entry.error(), entry.detail()};
                spec.faults.push_back(*entry);
            }
            if (semicolon == std::string_view::npos) break;
            line.remove_prefix(semicolon + 1);
        }
    }
    if (spec.faults.empty()) return {errc::invalid_argument, (source.empty() ? "" : source + " ") + "no fault in the spec"};
    return spec;
}

double drift_bias_sigma(double size_sigma, std::int64_t cycles_since_start) noexcept {
    return size_sigma * static_cast<double>(cycles_since_start + 1) / 10.0;
}

Result<std::vector<injected_fault>> inject_faults(std::vector<simulated_engine>& fleet, const fault_spec& spec,
                                                  const simulator_params& params, std::uint64_t seed,
                                                  const sensor_catalogue* catalogue) {
    std::vector<std::size_t> wearing;
    for (std::size_t s = 0; s < sensor_count; ++s)
        if (!params.sensors[s].constant) wearing.push_back(s);

    // Check every entry before touching the fleet, so a failure leaves it as it was. The ranges
    // are parse_fault_spec's, for a spec built in code.
    for (std::size_t j = 0; j < spec.faults.size(); ++j) {
        const auto& f = spec.faults[j];
        const std::string where = "fault " + std::to_string(j + 1) + " (" + std::string(fault_kind_name(f.kind)) + ")";
        const bool offsets = f.kind == fault_kind::spike || f.kind == fault_kind::drift;
        if (!(f.engines_fraction >= 0.0 && f.engines_fraction <= 1.0) || !(f.start >= 0.0 && f.start <= static_cast<double>(max_cycle)) ||
            (f.start >= 1.0 && std::floor(f.start) != f.start) || (offsets && !(f.size_sigma > 0.0 && std::isfinite(f.size_sigma))) ||
            (f.length_cycles && (*f.length_cycles < 1 || *f.length_cycles > max_cycle)) || (f.sensor && *f.sensor >= sensor_count))
            return {errc::invalid_argument, where + ": a value out of the range parse_fault_spec accepts"};
        if (!f.sensor && wearing.empty())
            return {errc::invalid_argument, where + ": sensor=random, but no sensor wears in the simulator params"};
        if (f.sensor && f.kind != fault_kind::dropout && params.sensors[*f.sensor].constant)
            return {errc::invalid_argument, where + ": " + std::string(sensor_names[*f.sensor]) +
                                                " is constant in the simulator params (no noise to scale by, and it "
                                                "reads the same stuck or not); pick a wearing sensor or a dropout"};
    }

    const std::uint64_t fault_seed = detail::mix64(seed ^ fault_seed_tag);
    std::vector<injected_fault> truth;
    for (std::size_t j = 0; j < spec.faults.size(); ++j) {
        const auto& f = spec.faults[j];
        detail::random_stream pick(fault_seed, entry_stream(j, 0));
        const auto count = static_cast<std::size_t>(std::llround(f.engines_fraction * static_cast<double>(fleet.size())));
        const auto chosen = detail::choose_exactly(fleet.size(), count, pick);
        for (std::size_t u = 0; u < fleet.size(); ++u) {
            if (!chosen[u]) continue;
            auto& engine = fleet[u];
            // Both draws always happen, in this order, so that the sign does not change with sensor=.
            detail::random_stream rng(fault_seed, entry_stream(j, static_cast<std::uint64_t>(engine.unit)));
            const std::size_t drawn = wearing.empty() ? 0 : wearing[static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(wearing.size()) - 1))];
            const int sign = rng.uniform() < 0.5 ? -1 : 1;
            const std::size_t sensor = f.sensor.value_or(drawn);
            const sensor_spec* range = catalogue ? &catalogue->sensors[sensor] : nullptr;
            if (auto injected = apply_fault(engine, f, sensor, sign, params.sensors[sensor], range))
                truth.push_back(*injected);
        }
    }
    std::stable_sort(truth.begin(), truth.end(), [](const injected_fault& a, const injected_fault& b) {
        return a.unit != b.unit ? a.unit < b.unit : a.start_cycle < b.start_cycle;
    });
    return truth;
}

void write_fault_truth(std::ostream& out, const std::vector<injected_fault>& faults) {
    std::string line = "unit,kind,sensor,start_cycle,end_cycle,size_sigma,sign,noise_sd,detectable_cycle,clipped_cycles\n";
    for (const auto& f : faults) {
        line += std::to_string(f.unit) + ',' + std::string(fault_kind_name(f.kind)) + ',' + std::string(sensor_names[f.sensor]) +
                ',' + std::to_string(f.start_cycle) + ',' + std::to_string(f.end_cycle) + ',' + shortest(f.size_sigma) + ',' +
                std::to_string(f.sign) + ',' + shortest(f.noise_sd) + ',' +
                (f.detectable_cycle ? std::to_string(*f.detectable_cycle) : std::string()) + ',' +
                std::to_string(f.clipped_cycles) + '\n';
    }
    out << line;
}

}  // namespace turbotwin::simulation
