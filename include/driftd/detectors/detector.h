// A detector computes one family of statistics for one column, comparing
// the current data with the baseline profile. Each lives in its own folder
// under detectors/ and is listed once in detectors/registry.cc.
//
// Detectors receive everything precomputed (sorted values, bins on the
// baseline cut points, category counts aligned on the union of categories),
// so that each is a few lines of arithmetic over spans and the expensive
// passes over the data happen once per column.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "driftd/baseline/baseline.h"
#include "driftd/stats/reconstruction.h"
#include "driftd/stats/robust.h"
#include "driftd/stats/two_sample.h"

namespace driftd {

inline constexpr double kUnbounded = std::numeric_limits<double>::infinity();

// Which way a statistic points to drift, when it is used as a drift method.
enum class DriftDirection { kHigherIsDrift, kLowerIsDrift, kNotAMethod };

// A statistic that is the p-value of one of the default verdict's
// calibrated tests (docs/VERDICTS.md): a column drifts on it when the
// p-value passes the family-wise correction at the false-alarm rate and the
// change is large enough to matter, |effect - center| >= floor
// ([drift.floors] overrides the floor by the effect's name).
struct DriftTest {
  const char* effect;  // the statistic (or report field) measuring the change's size
  double center;       // the effect's value when nothing changed (std_ratio: 1)
  double floor;        // the smallest |effect - center| that is drift
  // Two-sided, of a change with a direction (the sign of effect - center):
  // the sequential charts watch each direction apart.
  bool signed_change = false;
};

struct StatisticInfo {
  const char* key;   // report key, e.g. "psi"
  bool numeric;      // emitted for numeric columns
  bool categorical;  // emitted for categorical columns (neither: for "_multivariate")
  DriftDirection direction;
  double default_threshold;  // when used as the drift method
  // The values it can take (infinity: unbounded), for the warnings on alert
  // conditions that can never be true.
  double min_value, max_value;
  const char* description;          // one line: the metric's HELP, the docs
  const DriftTest* test = nullptr;  // set when it is a calibrated test's p-value
};

// A column's cells in the window (or the checked file), for the tests of
// missing values and type errors.
struct CellCounts {
  uint64_t rows = 0;         // rows of the window
  uint64_t missing = 0;      // cells absent or null
  uint64_t type_errors = 0;  // numeric columns: cells that were not numbers
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
  const CellCounts& cells;
  // Winsorized location and spread of both sides (stats/robust.h): the
  // baseline sample's, and the current values' against it.
  const stats::RobustReference& robust_baseline;
  const stats::RobustMoments& robust_current;
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
  const CellCounts& cells;
};

// The numeric features of a window (or the checked file) together: their
// rows' errors of reconstruction from the baseline's principal components
// (stats/reconstruction.h), reported as the pseudo-column "_multivariate".
struct MultivariateComparison {
  const stats::ReconstructionModel& model;
  const stats::ReconstructionSums& current;
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
  virtual void multivariate(const MultivariateComparison&, StatisticSink&) const {}
};

// Every detector, in report order.
std::span<const Detector* const> all_detectors();

// The statistic with this key, if a detector emits it.
const StatisticInfo* find_statistic(std::string_view key);

// Proportions with zeros replaced by `floor` (the PSI convention).
std::vector<double> floored(std::span<const double> p, double floor);

}  // namespace driftd
