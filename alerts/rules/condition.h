// A rule's condition over a closed window's results: parsed and type-checked
// once when the configuration loads, evaluated at each window close (off the
// per-event path).
//
//   psi > 0.2                                  one alert per feature
//   ks_p_value < 0.01 and rows >= 500
//   missing_rate > baseline_missing_rate + 0.1
//   drift_share >= 0.3                         one alert per model
//   performance.roc_auc < baseline.roc_auc - 0.05
//   any feature: psi > 0.2                     a quantifier: one alert per model
//   count(feature: drift) >= 3
//   schema.new_columns > 0 or schema.missing_columns > 0
//   prediction.psi > 0.1 and not label.drift
//
// Names: a feature's statistics (every key a detector emits: psi, ks_p_value,
// ...) and its missing_rate, baseline_missing_rate, type_error_rate,
// infinite_rate, drift (true/false), drift_value and threshold; the window's
// rows, drift_share, dataset_drift, features_compared, features_drifted,
// schema.new_columns and schema.missing_columns (counts);
// performance.<metric> and baseline.<metric> (accuracy, precision, recall,
// f1, roc_auc, log_loss, mae, rmse, r2, rows); prediction.<name> and
// label.<name>, the same names of the prediction and label columns.
// Operators, loosest first: `any feature: E`, `all feature: E` (the body
// runs to the end of the enclosing parentheses); or; and; not; < <= > >= ==
// !=; + -; * /; unary -; then abs(E), min(E, E), max(E, E),
// count(feature: E), (E), numbers, true, false.
//
// A condition naming a feature's statistic outside a quantifier has feature
// scope: it is evaluated for each feature (role feature) of the window, and
// each feature has its own alert. Otherwise it is evaluated once per window.
//
// Logic is three-valued: a statistic undefined on the window (null in the
// report: an empty side, a constant baseline, no labels joined yet) makes
// what depends on it unknown, and an unknown condition neither fires nor
// resolves (Kleene: false and unknown is false, true or unknown is true).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/check/check.h"
#include "driftd/common/result.h"

namespace driftd::alerts {

enum class Truth : uint8_t { kFalse, kTrue, kUnknown };
const char* to_string(Truth t);

enum class ConditionScope : uint8_t { kModel, kFeature };

class Condition {
 public:
  // At most this many bytes and this depth of nesting.
  static constexpr size_t kMaxLength = 4096;
  static constexpr int kMaxDepth = 64;

  // A syntax error, an unknown name or a type error: the message starts
  // with "column N: " (1-based, in `text`). `max_length` bounds what a
  // config may hold; a canonical form (fully parenthesized, so up to a few
  // times its source) is read back with a larger one.
  static Result<Condition> parse(std::string_view text, size_t max_length = kMaxLength);

  ConditionScope scope() const { return scope_; }
  // `feature`: the feature being judged, for feature scope (else ignored).
  Truth evaluate(const CheckReport& window, const FeatureResult* feature) const;

  // The two sides of the condition's first comparison (leftmost), for
  // templates ({{value}}, {{threshold}}); nullopt when undefined or when the
  // condition has no comparison.
  struct Sides {
    std::optional<double> value, threshold;
  };
  Sides sides(const CheckReport& window, const FeatureResult* feature) const;

  // Whether the condition can be true, and whether it can be false, judged
  // from the ranges of the values it reads (psi >= 0; p-values, rates and
  // shares in [0, 1]; counts >= 0) and from what a conjunction says of one
  // value (psi > 0.5 and psi < 0.2). Conservative: values are taken as
  // independent, so "can" may be wrong on real windows, "cannot" never is.
  struct Reach {
    bool can_be_true = true, can_be_false = true;
    std::string ranges;  // the bounded values it reads: "psi in [0, +inf)"
  };
  Reach reach() const;

  const std::string& text() const { return text_; }
  // Fully parenthesized, with names as resolved: what `driftd rules check`
  // prints. Parsing it gives the same condition.
  std::string canonical() const;

 private:
  enum class Op : uint8_t {
    kNumber,
    kBool,
    kRef,
    kNeg,
    kNot,
    kAnd,
    kOr,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kLt,
    kLe,
    kGt,
    kGe,
    kEq,
    kNe,
    kAbs,
    kMin,
    kMax,
    kAny,
    kAll,
    kCount,
  };
  // What a name reads.
  enum class Ref : uint8_t {
    kNone,
    kRows,
    kDriftShare,
    kDatasetDrift,
    kFeaturesCompared,
    kFeaturesDrifted,
    kNewColumns,
    kMissingColumns,
    kPerformance,
    kBaselinePerformance,
    kColumn,
  };
  // Which column a column name reads: the feature judged (or iterated by a
  // quantifier), the prediction or the label.
  enum class Target : uint8_t { kFeature, kPrediction, kLabel };
  enum class Field : uint8_t {
    kStatistic,
    kMissingRate,
    kBaselineMissingRate,
    kTypeErrorRate,
    kInfiniteRate,
    kDrift,
    kDriftValue,
    kThreshold,
  };
  struct Node {
    Op op = Op::kNumber;
    bool is_bool = false;  // its type: true/false, else a number
    int a = -1, b = -1;    // operands
    double number = 0;     // kNumber; kBool: 0 or 1
    Ref ref = Ref::kNone;  // kRef
    Target target = Target::kFeature;
    Field field = Field::kStatistic;
    std::string key;  // a statistic's or a metric's name
    int height = 1;   // of the subtree
  };
  struct Value;
  class Parser;
  class Analyzer;
  Value eval(int node, const CheckReport& window, const FeatureResult* feature) const;
  void print(int node, std::string& out) const;

  std::string text_;
  std::vector<Node> nodes_;
  int root_ = -1;
  int first_comparison_ = -1;
  ConditionScope scope_ = ConditionScope::kModel;
};

}  // namespace driftd::alerts
