// Structured logs of the daemon: one JSON object per line on stderr
// ({"ts","level","msg"}), the message escaped here.
#pragma once

#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "driftd/io/json_writer.h"

namespace driftd {

// The daemon's logger: JSON lines on stderr at `level` (trace, debug, info,
// warn, error, critical, off), replacing the command line's plain one.
void setup_logging(const std::string& level);

template <class... Args>
void jlog(spdlog::level::level_enum level, fmt::format_string<Args...> f, Args&&... args) {
  if (!spdlog::should_log(level)) return;
  std::string escaped;
  JsonWriter::append_escaped(escaped, fmt::format(f, std::forward<Args>(args)...));
  // append_escaped writes the quotes; the logger's pattern supplies them.
  spdlog::log(level, "{}", std::string_view(escaped).substr(1, escaped.size() - 2));
}

}  // namespace driftd
