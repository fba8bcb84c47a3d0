// Rules reviewed like code: what `driftd rules check`, `rules test` and
// `rules replay` do (the command line prints what these return).
//
// A rule test file (TOML; see docs/ALERTS.md):
//   config = "driftd.toml"     the rules of a daemon configuration, or
//   [[rules]] ...              rules written here, as in driftd.toml, and/or
//   rule_files = ["a.toml"]    rule files, as driftd.toml's rule_files
//   [[tests]]
//   name = "..."
//   model = "fraud"            which model's rules (default: the only one)
//   windows_log = "w.jsonl"    windows from a windows log (this model's), or
//   [[tests.windows]]          windows written inline, in order:
//   rows = 1000
//   features.country = { psi = 0.31, drift = true }
//   [[tests.expect]]           every alert change the windows make, no more:
//   window = 2                 1-based
//   rule = "feature_psi"
//   state = "firing"           or "resolved"
//   feature = "country"        for one-alert-per-feature rules
//   annotations.summary = "..."   labels and annotations given must match
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "driftd/common/result.h"
#include "driftd/daemon/daemon_config.h"

namespace driftd::alerts {

// Every rule of every model, parsed, with the models it applies to;
// `count`: how many rules.
std::string describe_rules(const DaemonConfig& config, size_t& count);

// Each rule's warnings (Rule::warnings), once per rule, in config order.
std::vector<std::string> rule_warnings(const DaemonConfig& config);

struct RuleTestReport {
  size_t tests = 0, passed = 0;
  std::string text;  // one line per test, a diff under each failed one
};
// An error: the test file (or the configuration it names) is not valid.
Result<RuleTestReport> run_rule_tests(const std::string& path);
// The same on a file's text (`path`: for messages, and the base of the
// relative paths it names).
Result<RuleTestReport> run_rule_tests_text(std::string_view text, const std::string& path);

struct ReplayReport {
  size_t windows = 0;  // judged
  size_t skipped = 0;  // lines of models not configured
  size_t fired = 0, resolved = 0;
  std::string text;  // one line per alert change, then a summary
};
// Backtests the configured rules on a recorded windows log: what would
// have fired and resolved, and when.
Result<ReplayReport> replay_rules(const DaemonConfig& config, const std::string& windows_log);

}  // namespace driftd::alerts
