// RFC 4180 CSV: comma-separated, fields optionally in double quotes ("" inside quotes is a quote), CRLF or
// LF line ends. The MMLU and C-Eval files use it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pangu {

using CsvRow = std::vector<std::string>;

// Throws an Error naming `origin` and the line of an unterminated quoted field.
std::vector<CsvRow> parse_csv(std::string_view text, const std::string& origin);

}  // namespace pangu
