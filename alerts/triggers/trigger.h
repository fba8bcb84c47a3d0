// Retraining triggers: a policy per model says which alerts start a
// retrain (`on`: rule names) or which windows do (`condition`: a rule
// condition, judged on each window of at least `min_rows` rows), how long to wait after one
// (`cooldown`) and how many a day at most (`max_per_day`), and where it goes (`sinks`, typically a
// signed webhook or the airflow sink). When a window makes one of those alerts fire, the policy
// sends one trigger with the evidence: the alerts that fired, the window, its drifting features
// with their statistics, performance against the baseline's, and the baseline's identity. Its
// idempotency key is built from (policy, model, version, rule, window id): a window closed again
// after a crash makes the same key, which the outbox keeps once and a receiver (Airflow's
// dag_run_id) acts on once. Policy state (the last triggers' times) is in the checkpoint. Time is
// the window's event time for time windows, the wall clock for count windows. See docs/ALERTS.md.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "alerts/rules/rule.h"
#include "driftd/common/binary_io.h"
#include "driftd/window/window.h"
#include "src/common/toml_reader.h"

namespace driftd::alerts {

struct TriggerSpec {
  std::string name;
  std::vector<std::string> on;  // rule names
  // A condition (alerts/rules/condition.h) that starts a retrain on any
  // window where it is true (feature scope: for some feature), when no
  // `on` rule fired there; null: none.
  std::shared_ptr<const Condition> condition;
  uint64_t min_rows = 100;          // windows with fewer rows never trigger by condition
  std::vector<std::string> models;  // empty: every model
  int64_t cooldown_ms = 24 * 3'600'000;
  int64_t max_per_day = 1;
  std::vector<std::string> sinks;  // empty: every sink that takes triggers
  std::string where;               // file:line of its table
  std::map<std::string, std::string> where_key;

  bool applies_to(std::string_view model) const;
};
using TriggerList = std::vector<std::shared_ptr<const TriggerSpec>>;

// Reads `[[triggers]]` of `parent` (absent: none); names unique.
Result<TriggerList> parse_triggers(TableReader& parent, std::string_view key);

// One trigger made, or one held back by its policy.
struct Trigger {
  std::string policy, model, version, rule, window_id;
  std::string key;   // the idempotency key
  std::string body;  // trigger_json
  std::vector<std::string> sinks;
  bool sent = true;  // false: held back (`held_back` says why)
  std::string held_back;
};

// The state and decisions of one model's policies.
class ModelTriggers {
 public:
  // `baseline_json`: the baseline's identity, a JSON object.
  ModelTriggers(std::string model, std::string version, bool time_windows,
                std::string baseline_json, TriggerList policies);

  // After the model's rules judged window `w` and made `changes`.
  // `now_ms`: the wall clock (count windows' time).
  void evaluate(const WindowResult& w, const std::vector<Notification>& changes, int64_t now_ms,
                std::vector<Trigger>& out);

  const TriggerList& policies() const { return policies_; }

  // The last triggers' times per policy (the checkpoint's). load() keeps
  // the state of the policies it still has.
  void save(ByteWriter& w) const;
  Status load(ByteReader& r);

 private:
  std::string model_, version_;
  bool time_windows_;
  std::string baseline_json_;
  TriggerList policies_;
  // Per policy: the times of its triggers of the last 24 hours, oldest
  // first (the newest is the cooldown's start).
  std::vector<std::vector<int64_t>> sent_;
};

// "trigger/<policy>/<model>@<version>/<rule>/<window id>".
std::string trigger_key(const std::string& policy, const std::string& model,
                        const std::string& version, const std::string& rule,
                        const std::string& window_id);

}  // namespace driftd::alerts
