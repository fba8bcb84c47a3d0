// Fuzz target: a windows-log line read back (parse_window_line), as
// `driftd rules replay` and `rules test` read a log given to them and the
// daemon reads its checkpoint's latest window. Besides memory errors, it
// aborts when a line that parses, written again and parsed again, does not
// give the same line (what the daemon judged is what replay judges).
#include <cstdint>
#include <cstdlib>
#include <string>

#include "driftd/window/window.h"
#include "driftd/window/window_line.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const driftd::fuzz::HeapLine line(std::string_view(reinterpret_cast<const char*>(data), size));
  auto w = driftd::parse_window_line(std::string_view(line.data(), size), "fuzz.jsonl");
  if (!w) return 0;
  driftd::WindowSettings settings;
  const std::string once = driftd::window_json_line(*w, settings);
  auto again = driftd::parse_window_line(once, "again");
  if (!again) std::abort();  // a line driftd wrote must read back
  if (driftd::window_json_line(*again, settings) != once) std::abort();
  return 0;
}
