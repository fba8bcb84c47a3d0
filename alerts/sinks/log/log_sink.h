// The log sink: each notification as one JSON line appended to a file
// (fsynced before it counts as delivered), for audit trails and for tools
// that tail a file.
#pragma once

#include <string_view>

#include "alerts/sinks/sink.h"

namespace driftd::alerts {

inline constexpr std::string_view kLogSinkKeys = "path";

Result<std::shared_ptr<Sink>> make_log_sink(TableReader& r, const SinkSettings& settings,
                                            const std::string& state_dir);

}  // namespace driftd::alerts
