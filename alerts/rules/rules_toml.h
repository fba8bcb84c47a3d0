// Alert rules in TOML: `[[rules]]` at the top of driftd.toml or in the files
// its `rule_files` names (every model, or those named by `models`), and
// `[[models.rules]]` (that model; a rule of the same name replaces the
// top-level one for it). See docs/ALERTS.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "alerts/rules/rule.h"
#include "src/common/toml_reader.h"

namespace driftd::alerts {

using RuleList = std::vector<std::shared_ptr<const Rule>>;

// Reads and compiles the array of tables `key` of `parent` (absent: none).
// `per_model`: the rules of one model, which may not name `models`.
Result<RuleList> parse_rules(TableReader& parent, std::string_view key, bool per_model);

// Appends the [[rules]] of each file (a file holds nothing else) to `rules`;
// a name used twice, here or there, is an error naming both places.
Status load_rule_files(const std::vector<std::string>& paths, RuleList& rules);

// The rules one model runs: the top-level ones that apply to it, each
// replaced by the model's own of the same name, then the model's others.
// Refuses event-time durations (`for`, `cooldown`) on count windows, and a
// model's own rule against a second reference it does not have (top-level
// ones of that kind apply to the models that have one).
Result<RuleList> rules_for_model(const RuleList& defaults, const RuleList& own,
                                 const std::string& model, bool time_windows, bool has_reference);

}  // namespace driftd::alerts
