// Fuzz target: a rule test file (`driftd rules test`), TOML from a team's
// repository: its inline [[rules]] (names, conditions, templates, for,
// cooldown), inline windows and expectations. Inputs that name other files
// (config, rule_files, windows_log) are skipped: the target reads no files.
// Besides memory errors, it aborts when a report's counts disagree.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "alerts/rules/rule_tests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* key : {"config", "rule_files", "windows_log"}) {
    if (text.find(key) != std::string::npos) return 0;
  }
  auto report = driftd::alerts::run_rule_tests_text(text, "fuzz.toml");
  if (report && (report->passed > report->tests || report->text.empty())) std::abort();
  return 0;
}
