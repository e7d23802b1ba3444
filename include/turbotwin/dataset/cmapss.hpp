#pragma once
/// Reading and writing C-MAPSS text files: 26 space-separated columns per row
/// (unit, cycle, 3 settings, 21 sensors), trailing spaces allowed. NASA's files have no missing
/// values; ours may (injected sensor dropouts): a setting or sensor written `nan` is missing.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "turbotwin/core/reading.hpp"
#include "turbotwin/core/result.hpp"

namespace turbotwin::dataset {

struct cmapss_row {
    long unit = 0;
    reading data;
};

/// A line that could not be used, with where it is.
struct line_issue {
    std::string file;
    std::size_t line = 0;  ///< 1-based
    std::string message;
};

struct cmapss_file {
    std::vector<cmapss_row> rows;    ///< usable rows, in file order
    std::vector<line_issue> issues;  ///< skipped lines (blank lines are skipped silently)
};

/// Parses one row. Blank lines are an error here; read_cmapss skips them. A measurement that
/// reads as NaN (`nan`, `NaN`, `-nan`) is missing and becomes `missing`; infinities and numbers
/// beyond a double's range are errors.
Result<cmapss_row> parse_cmapss_line(std::string_view line);

/// Reads a whole file; fails only when the file cannot be opened.
Result<cmapss_file> read_cmapss(const std::string& path);

/// One engine's rows, in file order.
struct engine_trajectory {
    long unit = 0;
    std::vector<reading> cycles;
    /// True remaining life at the last row, cycles: 0 in run-to-failure files; more for a life
    /// whose recorded failure came after its last reading (learning from the store).
    std::int64_t rul_after_last = 0;
};

/// Groups rows by unit, engines in order of first appearance, each engine's rows in file order.
std::vector<engine_trajectory> group_by_unit(const std::vector<cmapss_row>& rows);

/// Writes one row in C-MAPSS format (values printed with round-trip precision, missing as `nan`).
void write_cmapss_row(std::ostream& out, long unit, const reading& r);

}  // namespace turbotwin::dataset
