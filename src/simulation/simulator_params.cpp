#include "turbotwin/simulation/simulator_params.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "engine_variables.hpp"
#include "rounding.hpp"

namespace turbotwin::simulation {

namespace {

constexpr std::string_view format_tag = "turbotwin-simulator-params/1";

// Rounded to d decimals; dividing by an exact power of ten gives the double nearest the short
// decimal, so the JSON writer prints it short.
double round_decimals(double x, int d) { return std::round(x * detail::pow10(d)) / detail::pow10(d); }

// Rounded to n significant digits, same care about exactness.
double round_significant(double x, int n) {
    if (x == 0.0 || !std::isfinite(x)) return x;
    const int e = static_cast<int>(std::floor(std::log10(std::abs(x))));
    const int shift = n - 1 - e;
    if (shift >= 0) return std::round(x * std::pow(10.0, shift)) / std::pow(10.0, shift);
    const double p = std::pow(10.0, -shift);
    return std::round(x / p) * p;
}

bool finite(double v) { return std::isfinite(v); }

// nlohmann's pretty printer puts every array element on its own line, which turns a 29 x 29
// correlation matrix into 900 lines; flat arrays (no nested array or object) go on one line.
std::string compact_flat_arrays(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    auto skip_string = [&](std::size_t i) {  // index just past the string starting at s[i] == '"'
        for (++i; i < s.size(); ++i) {
            if (s[i] == '\\') ++i;
            else if (s[i] == '"') return i + 1;
        }
        return i;
    };
    std::size_t i = 0;
    while (i < s.size()) {
        if (s[i] == '"') {
            const std::size_t end = skip_string(i);
            out.append(s, i, end - i);
            i = end;
            continue;
        }
        if (s[i] == '[') {
            std::size_t j = i + 1;
            bool flat = true;
            while (j < s.size() && s[j] != ']') {
                if (s[j] == '[' || s[j] == '{') { flat = false; break; }
                j = s[j] == '"' ? skip_string(j) : j + 1;
            }
            if (flat && j < s.size()) {
                out += '[';
                for (std::size_t k = i + 1; k < j;) {
                    if (s[k] == '"') {
                        const std::size_t end = skip_string(k);
                        out.append(s, k, end - k);
                        k = end;
                    } else {
                        if (!std::isspace(static_cast<unsigned char>(s[k]))) out += s[k];
                        if (s[k] == ',') out += ' ';
                        ++k;
                    }
                }
                out += ']';
                i = j + 1;
                continue;
            }
        }
        out += s[i++];
    }
    return out;
}

Result<bool> invalid_params(std::string what) { return {errc::invalid_argument, std::move(what)}; }

}  // namespace

std::string_view column_name(std::size_t i) noexcept {
    if (i < setting_count) return setting_names[i];
    if (i < column_count) return sensor_names[i - setting_count];
    return {};
}

double wear_fraction(double t, double life, double k) noexcept {
    const double u = t / life;
    if (std::abs(k) < 1e-9) return u;
    return std::expm1(k * u) / std::expm1(k);
}

Result<bool> validate_simulator_params(const simulator_params& p) {
    const auto& life = p.life;
    if (!finite(life.log_mean) || !finite(life.log_sd) || life.log_sd < 0)
        return invalid_params("life: log_mean must be finite and log_sd finite and >= 0");
    if (life.min_cycles < min_life_cycles || life.max_cycles < life.min_cycles || life.max_cycles > max_cycle)
        return invalid_params("life: need " + std::to_string(min_life_cycles) + " <= min_cycles <= max_cycles <= " +
                              std::to_string(max_cycle));
    if (!finite(p.wear.k) || p.wear.k <= 0 || p.wear.k > 50) return invalid_params("wear: k must be within (0, 50]");
    if (!finite(p.wear.log_k_sd) || p.wear.log_k_sd < 0) return invalid_params("wear: log_k_sd must be finite and >= 0");
    for (std::size_t i = 0; i < column_count; ++i) {
        const auto& c = p.column(i);
        const std::string name(column_name(i));
        if (c.decimals < 0 || c.decimals > detail::max_decimals)
            return invalid_params(name + ": decimals must be within 0.." + std::to_string(detail::max_decimals));
        if (c.constant) {
            if (!finite(c.value)) return invalid_params(name + ": constant value must be finite");
            continue;
        }
        for (double v : {c.initial_mean, c.initial_sd, c.drift_mean, c.drift_sd, c.noise_sd})
            if (!finite(v)) return invalid_params(name + ": every number must be finite");
        if (c.initial_sd < 0 || c.drift_sd < 0 || c.noise_sd < 0) return invalid_params(name + ": spreads must be >= 0");
    }
    const auto& corr = p.correlation;
    std::set<std::size_t> seen;
    for (const auto& v : corr.variables) {
        const auto slot = detail::variable_slot(v);
        if (!slot) return invalid_params("correlation: unknown variable '" + v + "'");
        if (!seen.insert(*slot).second) return invalid_params("correlation: variable '" + v + "' listed twice");
    }
    const std::size_t n = corr.variables.size();
    if (corr.matrix.size() != n) return invalid_params("correlation: matrix needs one row per variable");
    for (std::size_t i = 0; i < n; ++i) {
        if (corr.matrix[i].size() != n) return invalid_params("correlation: matrix must be square");
        for (std::size_t j = 0; j < n; ++j) {
            const double r = corr.matrix[i][j];
            if (!finite(r) || r < -1 || r > 1) return invalid_params("correlation: entries must be within -1..1");
            if (i == j && r != 1) return invalid_params("correlation: the diagonal must be 1");
            if (r != corr.matrix[j][i]) return invalid_params("correlation: matrix must be symmetric");
        }
    }
    return true;
}

void raise_decimals(simulator_params& params, const std::array<int, column_count>& decimals) {
    for (std::size_t i = 0; i < column_count; ++i) {
        auto& c = params.column(i);
        c.decimals = std::clamp(std::max(c.decimals, decimals[i]), 0, detail::max_decimals);
    }
}

Result<std::array<int, column_count>> cmapss_printed_decimals(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {errc::io_error, "cannot open " + path};
    std::array<int, column_count> decimals{};
    std::string line;
    std::vector<std::string> fields;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        fields.clear();
        for (std::string w; words >> w;) fields.push_back(w);
        if (fields.size() != 2 + column_count) continue;
        for (std::size_t i = 0; i < column_count; ++i) {
            const std::string& f = fields[2 + i];
            const auto dot = f.find('.');
            if (dot == std::string::npos) continue;
            std::size_t digits = 0;
            for (std::size_t k = dot + 1; k < f.size() && std::isdigit(static_cast<unsigned char>(f[k])); ++k) ++digits;
            decimals[i] = std::max(decimals[i], static_cast<int>(std::min<std::size_t>(digits, detail::max_decimals)));
        }
    }
    if (in.bad()) return {errc::io_error, "read error in " + path};
    return decimals;
}

std::string simulator_params_to_json(const simulator_params& p) {
    using ojson = nlohmann::ordered_json;
    ojson doc;
    doc["format"] = format_tag;
    doc["model"] = "x(t) = initial + drift (exp(k t/L) - 1)/(exp(k) - 1) + noise, per engine; see docs/simulator.md";
    doc["fitted_on"] = p.fitted_on;
    doc["fitted_engines"] = p.fitted_engines;
    doc["life"] = {{"log_mean", round_decimals(p.life.log_mean, 4)},
                   {"log_sd", round_decimals(p.life.log_sd, 4)},
                   {"min_cycles", p.life.min_cycles},
                   {"max_cycles", p.life.max_cycles}};
    doc["wear"] = {{"k", round_decimals(p.wear.k, 3)}, {"log_k_sd", round_significant(p.wear.log_k_sd, 4)}};
    auto channels = [&](std::size_t first, std::size_t count) {
        ojson list = ojson::array();
        for (std::size_t i = first; i < first + count; ++i) {
            const auto& c = p.column(i);
            ojson j;
            j["name"] = column_name(i);
            j["decimals"] = c.decimals;
            if (c.constant) {
                j["constant"] = true;
                j["value"] = round_decimals(c.value, c.decimals);
            } else {
                // Means to two digits finer than the data prints; the rest to 4 significant digits,
                // more than a 100-engine fit can support. Zero spreads and drifts are left out
                // (the reader defaults them), which keeps the settings' entries short.
                j["initial_mean"] = round_decimals(c.initial_mean, c.decimals + 2);
                for (auto [key, v] : {std::pair{"initial_sd", c.initial_sd}, std::pair{"drift_mean", c.drift_mean},
                                      std::pair{"drift_sd", c.drift_sd}})
                    if (v != 0.0) j[key] = round_significant(v, 4);
                j["noise_sd"] = round_significant(c.noise_sd, 4);
            }
            list.push_back(std::move(j));
        }
        return list;
    };
    doc["settings"] = channels(0, setting_count);
    doc["sensors"] = channels(setting_count, sensor_count);
    ojson matrix = ojson::array();
    for (std::size_t i = 0; i < p.correlation.matrix.size(); ++i) {
        ojson row = ojson::array();
        for (std::size_t j = 0; j < p.correlation.matrix[i].size(); ++j)
            row.push_back(i == j ? 1.0 : round_decimals(p.correlation.matrix[i][j], 3));
        matrix.push_back(std::move(row));
    }
    doc["engine_correlation"] = {{"variables", p.correlation.variables}, {"matrix", std::move(matrix)}};
    return compact_flat_arrays(doc.dump(2)) + "\n";
}

Result<simulator_params> simulator_params_from_json(std::string_view text) {
    const auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    if (doc.is_discarded()) return {errc::malformed_json, "simulator params are not valid JSON"};
    if (!doc.is_object()) return {errc::not_an_object, "simulator params must be a JSON object"};
    simulator_params p;
    // The typed accessors throw on a missing key or a wrong type; one catch turns any of them
    // into a Result naming the problem.
    try {
        if (doc.at("format").get<std::string>() != format_tag)
            return {errc::invalid_argument, "unknown format '" + doc.at("format").get<std::string>() + "'"};
        p.fitted_on = doc.value("fitted_on", std::string{});
        p.fitted_engines = doc.value("fitted_engines", 0);
        const auto& life = doc.at("life");
        p.life.log_mean = life.at("log_mean").get<double>();
        p.life.log_sd = life.at("log_sd").get<double>();
        p.life.min_cycles = life.at("min_cycles").get<int>();
        p.life.max_cycles = life.at("max_cycles").get<int>();
        const auto& wear = doc.at("wear");
        p.wear.k = wear.at("k").get<double>();
        p.wear.log_k_sd = wear.value("log_k_sd", 0.0);

        std::array<bool, column_count> present{};
        for (const char* group : {"settings", "sensors"}) {
            for (const auto& j : doc.at(group)) {
                const auto name = j.at("name").get<std::string>();
                std::size_t i = 0;
                while (i < column_count && column_name(i) != name) ++i;
                const bool right_group = std::string_view(group) == "settings" ? i < setting_count : i >= setting_count;
                if (i == column_count || !right_group)
                    return {errc::invalid_argument, std::string("unknown ") + group + " name '" + name + "'"};
                if (present[i]) return {errc::invalid_argument, "'" + name + "' listed twice"};
                present[i] = true;
                auto& c = p.column(i);
                c.decimals = j.at("decimals").get<int>();
                c.constant = j.value("constant", false);
                if (c.constant) {
                    c.value = j.at("value").get<double>();
                } else {
                    c.initial_mean = j.at("initial_mean").get<double>();
                    c.initial_sd = j.value("initial_sd", 0.0);
                    c.drift_mean = j.value("drift_mean", 0.0);
                    c.drift_sd = j.value("drift_sd", 0.0);
                    c.noise_sd = j.at("noise_sd").get<double>();
                }
            }
        }
        for (std::size_t i = 0; i < column_count; ++i)
            if (!present[i]) return {errc::invalid_argument, "column '" + std::string(column_name(i)) + "' is missing"};

        if (doc.contains("engine_correlation")) {
            const auto& corr = doc.at("engine_correlation");
            p.correlation.variables = corr.at("variables").get<std::vector<std::string>>();
            p.correlation.matrix = corr.at("matrix").get<std::vector<std::vector<double>>>();
        }
    } catch (const nlohmann::json::exception& e) {
        return {errc::wrong_type, e.what()};
    }
    if (auto ok = validate_simulator_params(p); !ok) return {ok.error(), ok.detail()};
    return p;
}

Result<simulator_params> load_simulator_params(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {errc::io_error, "cannot open " + path};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return {errc::io_error, "read error in " + path};
    auto p = simulator_params_from_json(text.str());
    if (!p) return {p.error(), path + ": " + p.detail()};
    return p;
}

Result<bool> save_simulator_params(const simulator_params& params, const std::string& path) {
    if (auto ok = validate_simulator_params(params); !ok) return ok;
    const std::string text = simulator_params_to_json(params);
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return {errc::io_error, "cannot write " + tmp};
        out << text;
        out.flush();
        if (!out) return {errc::io_error, "write error in " + tmp};
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return {errc::io_error, "cannot rename " + tmp + " to " + path};
    }
    return true;
}

}  // namespace turbotwin::simulation
