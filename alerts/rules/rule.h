// Alert rules: what a rule is once configured (RuleSpec, read from
// [[rules]] by alerts/rules/rules_toml.cc), its compiled form (Rule: the
// conditions parsed and the templates checked at load), and the state
// machine of one alert (AlertState): inactive, pending, firing, resolved.
//
// A rule is evaluated when a window closes, never per event. A rule whose
// condition has feature scope (`psi > 0.2`) has one alert per feature of the
// model; otherwise one per model. An alert:
//   inactive/resolved --condition true--> pending
//   pending --held `for` windows (or `for` event time), cooldown over--> firing
//   pending --condition false--> inactive (or resolved, if it fired before)
//   firing --resolve condition true (default: condition false)--> resolved
// A window with fewer than min_rows rows, or where the condition (or the
// resolve condition) is unknown, changes nothing: thin windows and missing
// statistics neither fire nor resolve.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "alerts/rules/condition.h"
#include "driftd/common/binary_io.h"
#include "driftd/common/result.h"
#include "driftd/window/window.h"

namespace driftd::alerts {

enum class Severity : uint8_t { kInfo, kWarning, kCritical };
const char* to_string(Severity s);

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// A window bound as people read it: RFC 3339 UTC for time windows, the
// event sequence number for count windows.
std::string format_bound(int64_t bound, bool time_window);
// Six significant digits; "unknown" for nullopt.
std::string format_value(std::optional<double> v);

// A rule as configured.
struct RuleSpec {
  std::string name;       // [A-Za-z_][A-Za-z0-9_.-]*: unique per model
  std::string condition;  // see condition.h
  std::string resolve;    // empty: the condition is false
  Severity severity = Severity::kWarning;
  int64_t for_windows = 1;  // consecutive windows the condition must hold
  int64_t for_ms = -1;      // or, when >= 0, event time it must hold (time windows)
  int64_t cooldown_ms = 0;  // event time after a resolve before it may fire again
  uint64_t min_rows = 100;  // thinner windows change nothing
  // Judged on the window against the second reference (training-serving
  // skew) instead of the training baseline; such a window's alerts carry
  // the label `reference`.
  bool against_reference = false;
  std::vector<std::string> models;  // empty: every model
  std::vector<std::string> sinks;   // where its alerts go ([[sinks]] names); empty: every sink
  KeyValues labels, annotations;    // values are templates
  // For messages: "driftd.toml:12: rules[0]".
  std::string where;
  // Where each key's value is, for messages about it ("driftd.toml:14:
  // rules[0].condition"); keys: condition, resolve, labels.NAME,
  // annotations.NAME. Missing: `where` + "." + key.
  std::map<std::string, std::string> where_key;
};

// A label or annotation value: text with {{value}} placeholders.
class Template {
 public:
  enum class Var : uint8_t {
    kRule,
    kSeverity,
    kModel,
    kVersion,
    kFeature,
    kValue,
    kThreshold,
    kWindowId,
    kWindowStart,
    kWindowEnd,
    kRows,
    kState,
  };
  // `feature_scope`: whether {{feature}} has a value. Errors name the
  // placeholder and list the known ones.
  static Result<Template> parse(std::string_view text, bool feature_scope);
  struct Context {
    const RuleSpec* rule = nullptr;
    std::string_view model, version, feature, state;
    const WindowResult* window = nullptr;
    bool time_window = true;  // window bounds as RFC 3339 times, else sequence numbers
    std::optional<double> value, threshold;
  };
  std::string render(const Context& c) const;
  const std::string& text() const { return text_; }

 private:
  struct Part {
    std::string literal;
    std::optional<Var> var;
  };
  std::string text_;
  std::vector<Part> parts_;
};

// A compiled rule: immutable, shared by the models it applies to.
class Rule {
 public:
  // Errors start with the spec's `where` of the key at fault.
  static Result<Rule> compile(RuleSpec spec);

  const RuleSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  ConditionScope scope() const { return condition_.scope(); }
  const Condition& condition() const { return condition_; }
  const std::optional<Condition>& resolve() const { return resolve_; }
  const std::vector<std::pair<std::string, Template>>& labels() const { return labels_; }
  const std::vector<std::pair<std::string, Template>>& annotations() const { return annotations_; }
  bool applies_to(std::string_view model) const;
  // What `driftd rules check` prints: the rule, parsed, on a few lines.
  std::string describe() const;
  // A condition that can never be true (or never false), a resolve that can
  // never be true: each a message naming the key, for the log at start-up
  // and `rules check`. Not errors: the rule is valid, only pointless.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  RuleSpec spec_;
  Condition condition_;
  std::optional<Condition> resolve_;
  std::vector<std::pair<std::string, Template>> labels_, annotations_;
  std::vector<std::string> warnings_;
};

enum class Phase : uint8_t { kInactive, kPending, kFiring, kResolved };
const char* to_string(Phase p);

// One alert's state: part of the checkpoint, so that a restart neither
// forgets a firing alert nor fires it again.
struct AlertState {
  Phase phase = Phase::kInactive;
  uint64_t held = 0;          // consecutive windows the condition held (pending, firing)
  int64_t pending_since = 0;  // end of the first of them
  int64_t fired_at = 0;       // end of the window it fired at
  int64_t resolved_at = 0;    // end of the window it last resolved at
  bool ever_resolved = false;
  std::string fired_window;                // id of the window it fired at
  std::optional<double> value, threshold;  // at the last window that held
};

enum class Transition : uint8_t { kNone, kFired, kResolved };

// One window's step. `condition`, `resolve`: the truth of each on the
// window (resolve: kUnknown when the rule has none). Thin windows are the
// caller's to skip.
Transition step(AlertState& state, const RuleSpec& rule, Truth condition, Truth resolve,
                const WindowResult& window);

// A change of an alert, to be delivered.
struct Notification {
  std::string rule, model, version, feature;  // feature: empty for model scope
  Severity severity = Severity::kWarning;
  bool firing = true;  // else resolved
  std::string window_id;
  int64_t window_start = 0, window_end = 0;
  bool time_window = true;
  uint64_t rows = 0;
  std::optional<double> value, threshold;
  int64_t fired_at = 0, resolved_at = 0;  // window ends (resolved_at: when resolved)
  KeyValues labels, annotations;          // rendered
  std::vector<std::string> sinks;         // the rule's; empty: every sink
  // Unique per change: model, version, rule, feature, the window it
  // happened at and firing/resolved. A window closed again after a
  // restart makes the same key.
  std::string key;
};
// Which alert a notification is about, the same for all its changes:
// "model@version/rule|feature" (the outbox's `alert` column; a version 1
// outbox is migrated to the same string).
std::string alert_identity(const Notification& n);
// The notification as one JSON object (the log sink's line, the
// webhook's body): see docs/ALERTS.md.
std::string notification_json(const Notification& n);

// The alerts of one model: its rules and each one's states (one per
// feature for feature scope).
class ModelAlerts {
 public:
  ModelAlerts(std::string model, std::string version, bool time_windows,
              std::vector<std::shared_ptr<const Rule>> rules);

  // Evaluates every rule on a closed window; appends what changed.
  void evaluate(const WindowResult& window, std::vector<Notification>& out);

  const std::vector<std::shared_ptr<const Rule>>& rules() const { return rules_; }
  struct Active {
    const Rule* rule;
    std::string feature;
    const AlertState* state;
  };
  // Alerts pending or firing.
  std::vector<Active> active() const;

  // The states, keyed by rule name and feature. load() keeps the states of
  // rules that still exist and drops the others (a reload may remove rules).
  void save(ByteWriter& w) const;
  Status load(ByteReader& r);

 private:
  Notification notify(const Rule& rule, const std::string& feature, const AlertState& s,
                      const WindowResult& w, bool firing) const;

  std::string model_, version_;
  bool time_windows_;
  std::vector<std::shared_ptr<const Rule>> rules_;
  // Per rule (by index): feature ("" for model scope) -> state.
  std::vector<std::map<std::string, AlertState, std::less<>>> states_;
};

}  // namespace driftd::alerts
