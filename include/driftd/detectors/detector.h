// A detector computes one family of statistics for one column, comparing
// the current data with the baseline profile. Each lives in its own folder
// under detectors/ and is listed once in detectors/registry.cc.
//
// Detectors receive everything precomputed (sorted values, bins on the
// baseline cut points, category counts aligned on the union of categories),
// so that each is a few lines of arithmetic over spans and the expensive
// passes over the data happen once per column.
#pragma once

#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/stats/two_sample.h"

namespace driftd {

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// Which way a statistic points to drift, when it is used as a drift method.
enum class DriftDirection { kHigherIsDrift, kLowerIsDrift, kNotAMethod };

struct StatisticInfo {
  const char* key;   // report key, e.g. "psi"
  bool numeric;      // emitted for numeric columns
  bool categorical;  // emitted for categorical columns
  DriftDirection direction;
  double default_threshold;  // when used as the drift method
  // The values it can take (infinity: unbounded), for the warnings on alert
  // conditions that can never be true.
  double min_value, max_value;
  const char* description;  // one line: the metric's HELP, the docs
};

struct NumericComparison {
  const ColumnProfile& baseline;
  std::span<const double> baseline_proportions;  // per baseline bin
  uint64_t current_count;                        // finite current values
  std::span<const double> current_proportions;   // on the baseline cut points
  const Moments& current_moments;
  // KS D and W1 between baseline sample and current values (one walk for
  // both); NaN when either side is empty.
  const stats::EcdfDistances& ecdf;
};

struct CategoricalComparison {
  const ColumnProfile& baseline;
  // Aligned on the union of categories (baseline's, its 'other' bin when
  // non-empty, then new ones).
  std::span<const uint64_t> baseline_counts;
  std::span<const uint64_t> current_counts;
  std::span<const double> baseline_proportions;
  std::span<const double> current_proportions;
  uint64_t current_count;      // present current values
  uint64_t new_category_rows;  // current values whose category the baseline lacks
};

// Statistics go out as (key, value); nullopt when undefined on this data.
class StatisticSink {
 public:
  virtual ~StatisticSink() = default;
  virtual void put(std::string_view key, std::optional<double> value) = 0;
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual std::string_view name() const = 0;
  virtual std::span<const StatisticInfo> statistics() const = 0;
  virtual void numeric(const NumericComparison&, StatisticSink&) const {}
  virtual void categorical(const CategoricalComparison&, StatisticSink&) const {}
};

// Every detector, in report order.
std::span<const Detector* const> all_detectors();

// The statistic with this key, if a detector emits it.
const StatisticInfo* find_statistic(std::string_view key);

// Proportions with zeros replaced by `floor` (the PSI convention).
std::vector<double> floored(std::span<const double> p, double floor);

}  // namespace driftd
