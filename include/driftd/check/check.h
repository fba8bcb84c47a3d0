// The batch drift check: a serving sample against a baseline, every column
// through every detector, a drift decision per column and for the dataset,
// and performance when prediction and label columns are present.
#pragma once

#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/check/drift_rules.h"
#include "driftd/common/result.h"
#include "driftd/io/readers.h"
#include "driftd/io/same_bytes.h"
#include "driftd/stats/performance.h"

namespace driftd {

struct CheckOptions {
  DriftRules rules;
  double threshold = 0.5;    // classification threshold on the score
  std::optional<Task> task;  // override of the inferred task
  ReadOptions read;
};

struct StatValue {
  std::string key;
  std::optional<double> value;
};

// A column's distribution on the baseline's bins, as the HTML report draws
// it. Numeric: the baseline's quantile bins (`edges`: their cut points, one
// fewer than the bins). Categorical: the baseline's categories with the
// largest shares, then the new ones from `first_new` (names in `labels`,
// the rest of each pooled in one bin).
struct Distribution {
  std::vector<double> edges;
  std::vector<std::string> labels;
  std::vector<double> baseline, current;  // shares of present values per bin
  size_t first_new = SIZE_MAX;
};

// A calibrated test that made its column drift: its p-value passed the
// family-wise correction and its effect the floor.
// Or, in the daemon, whose sequential chart alarmed (window/sequential.h).
struct DriftReason {
  std::string test;             // the p-value statistic, e.g. "location_p_value"
  double p_value = 1;           // as the test gave it
  double adjusted_p_value = 1;  // Holm's (or Bonferroni's) over the window's tests; NaN: sequential
  std::string effect;           // e.g. "mean_shift"
  double effect_value = 0, floor = 0;  // sequential: the run's mean effect
  bool sequential = false;
  double cusum = 0;      // sequential: the chart's S, over its threshold
  uint64_t windows = 0;  // sequential: the run's length
};

struct FeatureResult {
  std::string name;
  ColumnKind kind = ColumnKind::kNumeric;
  ColumnRole role = ColumnRole::kFeature;
  std::string status = "ok";  // "ok" or "missing_in_serving"
  uint64_t rows = 0, missing = 0, type_errors = 0, infinite = 0;
  double missing_rate = 0, baseline_missing_rate = 0, type_error_rate = 0, infinite_rate = 0;
  std::vector<StatValue> stats;
  bool drift = false;
  DriftRule rule;
  // The rule's statistic; for "calibrated", the smallest adjusted p-value
  // of the column's tests.
  std::optional<double> drift_value;
  std::vector<DriftReason> reasons;  // "calibrated": why it drifts
  double severity = 0;               // how far past (or short of) its threshold; for sorting
  // For the HTML report (not in the JSON report or the windows log).
  std::shared_ptr<const Distribution> distribution;

  std::optional<double> get(std::string_view key) const;
};

struct CheckReport {
  std::string model_name, model_version;
  uint64_t rows = 0;
  uint64_t skipped_rows = 0;
  std::vector<RowError> skipped_examples;
  std::vector<FeatureResult> features;       // baseline column order
  std::vector<std::string> new_columns;      // in the serving data only
  std::vector<std::string> missing_columns;  // in the baseline only
  uint64_t features_compared = 0, features_drifted = 0;
  double drift_share = 0;
  double share_threshold = 0;
  bool dataset_drift = false;
  std::vector<std::string> drifting_features;  // features that drift, in column order
  // The calibrated method's family, when any column used it.
  std::optional<double> false_alarm_rate;
  uint64_t calibrated_tests = 0;
  std::optional<Performance> performance, baseline_performance;
};

// Compares an already-read table (read with baseline.schema()).
CheckReport compare(const Baseline& baseline, const Table& table, const CheckOptions& options);
// The same, reusing the table's arrays as working memory (no copy of every
// numeric column): the table is left with its numeric columns compacted
// and sorted.
CheckReport compare(const Baseline& baseline, Table&& table, const CheckOptions& options);

// Pieces the batch check and the daemon's windows share.
struct NumericComparison;

// Maps category text to its bin in a categorical baseline profile: the
// baseline's categories in order, then its 'other' bin when non-empty.
// Names pooled into 'other' (or any name, when the pooled names were not all
// kept) go to 'other'; a name the baseline never saw is kNew.
class CategoryBins {
 public:
  static constexpr uint32_t kNew = 0xffffffffu;
  explicit CategoryBins(const CategoricalProfile& profile);
  uint32_t bin_of(std::string_view category) const {
    if (!packed_.empty() && category.size() <= ShortText::kMax) {
      const ShortText text = ShortText::of(category);
      // Every candidate compared, no exit on a match: which one matches is
      // random from event to event, and an exit on it mispredicts.
      uint32_t matches = 0;
      for (size_t i = 0; i < packed_.size(); ++i) {
        matches |= static_cast<uint32_t>(packed_[i] == text) << i;
      }
      if (matches != 0) return static_cast<uint32_t>(std::countr_zero(matches));
      return bin_of_absent(category);
    }
    return bin_of_searched(category);
  }
  // The bin of the JSON string whose raw text starts at `raw` (just after
  // its opening quote, in a buffer with 16 readable bytes from there) when
  // it is plainly one of the baseline's categories; -1 says only that it
  // was not matched this way (escapes, long text, a new category, or a
  // column of many categories): bin_of decides then.
  int bin_of_json_string(const char* raw) const { return raw_.find_json_string(raw); }
  std::string_view category(uint32_t bin) const { return profile_.categories[bin].category; }
  size_t size() const { return size_; }  // baseline bins, 'other' included

 private:
  uint32_t bin_of_searched(std::string_view category) const;
  // 'other' or kNew: a category not among the baseline's own.
  uint32_t bin_of_absent(std::string_view category) const;
  const CategoricalProfile& profile_;
  StringIndex index_;
  // A column of few categories is searched by bytes instead: cheaper than
  // hashing the text (the daemon does this for every event). Text of up to
  // 16 bytes is compared as packed words (a category longer than that gets
  // an entry no such text equals), longer text byte by byte.
  static constexpr size_t kMaxScanned = 16;
  std::vector<ShortText> packed_;  // the categories, bin order, packed; empty: hash
  JsonStringSet raw_;              // the same, for raw JSON strings; empty: hash
  size_t size_ = 0;
};

// A column's result before its statistics: identity, rule, counts and rates.
FeatureResult start_feature(const ColumnProfile& base, const DriftRules& rules, uint64_t rows,
                            uint64_t missing, uint64_t type_errors, uint64_t infinite);
// Runs every detector on a numeric column's comparison, appending to r.stats.
void run_numeric_detectors(const NumericComparison& in, FeatureResult& r);
// Runs every detector on a categorical column: `current_bins` per baseline
// bin (CategoryBins order), `new_counts` one per category the baseline lacks
// (`new_names` their names; a last count without a name pools the rest).
void compare_categorical_bins(const ColumnProfile& base, std::span<const uint64_t> current_bins,
                              std::span<const uint64_t> new_counts,
                              std::span<const std::string_view> new_names, uint64_t present,
                              FeatureResult& r);
// The multivariate test's pseudo-column (kMultivariateColumn) from the
// window's (or file's) row errors, its drift decided as decide_drift does.
FeatureResult compare_multivariate(const stats::ReconstructionModel& model,
                                   const stats::ReconstructionSums& sums, const DriftRules& rules,
                                   uint64_t rows);
// Sets r.drift, drift_value and severity from r.rule and r.stats (a
// column judged by the calibrated method is left to decide_calibrated).
void decide_drift(FeatureResult& r);
// The calibrated method, over every column whose rule it is: the p-values
// of their calibrated tests are one family, adjusted by rules.correction;
// a column drifts on a test whose adjusted p-value is at most the
// false-alarm rate and whose effect passes its floor (docs/VERDICTS.md).
void decide_calibrated(CheckReport& report, const DriftRules& rules);
// A calibrated test's effect in a column: a statistic, else a rate of the
// report (type_error_rate).
std::optional<double> effect_of(const FeatureResult& r, std::string_view effect);
// Dataset-level fields (missing columns, counts, drift share) from features.
void summarize_features(CheckReport& report);

// Reads `input` with the baseline's schema and compares.
Result<CheckReport> run_check(const Baseline& baseline, const FileBuffer& input,
                              const CheckOptions& options);

}  // namespace driftd
