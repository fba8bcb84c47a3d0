// The windows log's line format (docs/formats/windows-log.md).
#pragma once

#include <string>
#include <string_view>

#include "driftd/common/result.h"
#include "driftd/window/window.h"

namespace driftd {

// The core report shape plus model, window id, bounds and row count, on one line.
std::string window_json_line(const WindowResult& w, const WindowSettings& settings);
// Reads such a line back: id, bounds, and per feature its statistics, drift
// and missing rate, drift share, performance and the reference's report
// (what the metrics show; what they do not need may be left out).
Result<WindowResult> parse_window_line(std::string_view line, const std::string& source);

}  // namespace driftd
