// Fuzz target: the TOML readers of user configuration: the daemon's config
// (driftd.toml: every section, key and value checked at load) and the
// drift rules of `driftd check --rules`. Paths in the config resolve
// against tests/data, so a config naming golden/baseline_v1.json loads it.
#include <cstdint>
#include <string>

#include "driftd/check/check.h"
#include "driftd/daemon/daemon_config.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string source = driftd::fuzz::data_path("fuzz.toml");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)driftd::parse_daemon_config(text, source);
  (void)driftd::parse_drift_rules(text, source);
  return 0;
}
