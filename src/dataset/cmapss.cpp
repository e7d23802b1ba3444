#include "turbotwin/dataset/cmapss.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <ostream>
#include <unordered_map>

namespace turbotwin::dataset {

namespace {
constexpr std::size_t column_count = 2 + setting_count + sensor_count;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// Shortest text that parses back to the same double; any NaN is "missing" and prints as "nan".
std::string round_trip(double v) {
    if (std::isnan(v)) return "nan";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string("nan");
}
}  // namespace

Result<cmapss_row> parse_cmapss_line(std::string_view line) {
    std::array<std::string_view, column_count> fields;
    std::size_t n = 0, i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i >= line.size()) break;
        std::size_t start = i;
        while (i < line.size() && !is_space(line[i])) ++i;
        if (n == column_count) return {errc::parse_error, "more than 26 columns"};
        fields[n++] = line.substr(start, i - start);
    }
    if (n != column_count) return {errc::parse_error, "expected 26 columns, found " + std::to_string(n)};

    cmapss_row row;
    auto parse_int = [](std::string_view f, long& out) {
        auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), out);
        return ec == std::errc{} && p == f.data() + f.size();
    };
    long cycle = 0;
    if (!parse_int(fields[0], row.unit) || row.unit < 1) return {errc::parse_error, "unit is not a positive integer: '" + std::string(fields[0]) + "'"};
    if (!parse_int(fields[1], cycle) || cycle < 1 || cycle > max_cycle)
        return {errc::parse_error, "cycle is not an integer in 1.." + std::to_string(max_cycle) + ": '" + std::string(fields[1]) + "'"};
    row.data.cycle = cycle;
    for (std::size_t c = 2; c < column_count; ++c) {
        double v = 0;
        std::string_view f = fields[c];
        auto [p, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
        if (ec != std::errc{} || p != f.data() + f.size() || std::isinf(v))
            return {errc::parse_error, "column " + std::to_string(c + 1) + " is neither a finite number nor nan: '" + std::string(f) + "'"};
        // One NaN for every spelling ("-nan" included), so a missing value always looks the same.
        if (std::isnan(v)) v = missing;
        if (c < 2 + setting_count) row.data.settings[c - 2] = v;
        else row.data.sensors[c - 2 - setting_count] = v;
    }
    return row;
}

Result<cmapss_file> read_cmapss(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {errc::io_error, "cannot open " + path};
    cmapss_file file;
    std::string line;
    std::size_t line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        bool blank = true;
        for (char c : line) if (!is_space(c)) { blank = false; break; }
        if (blank) continue;
        auto row = parse_cmapss_line(line);
        if (row) file.rows.push_back(std::move(*row));
        else file.issues.push_back({path, line_no, row.message()});
    }
    if (in.bad()) return {errc::io_error, "read error in " + path};
    return file;
}

std::vector<engine_trajectory> group_by_unit(const std::vector<cmapss_row>& rows) {
    std::vector<engine_trajectory> engines;
    std::unordered_map<long, std::size_t> slot;
    for (const auto& row : rows) {
        auto [it, inserted] = slot.try_emplace(row.unit, engines.size());
        if (inserted) engines.push_back({row.unit, {}});
        engines[it->second].cycles.push_back(row.data);
    }
    return engines;
}

void write_cmapss_row(std::ostream& out, long unit, const reading& r) {
    out << unit << ' ' << r.cycle;
    for (double v : r.settings) out << ' ' << round_trip(v);
    for (double v : r.sensors) out << ' ' << round_trip(v);
    out << '\n';
}

}  // namespace turbotwin::dataset
