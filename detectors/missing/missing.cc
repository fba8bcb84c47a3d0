#include "detectors/missing/missing.h"

#include "driftd/stats/calibrated_tests.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"missing_rate_change", 0, 0.01, true};
constexpr StatisticInfo kStats[] = {
    {"missing_rate_change", true, true, DriftDirection::kNotAMethod, 0, -1, 1,
     "Missing rate minus the baseline's"},
    {"missing_p_value", true, true, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the two-proportion test of the missing rate (a calibrated test of the default "
     "verdict)",
     &kTest}};

void put(const ColumnProfile& base, const CellCounts& cells, StatisticSink& out) {
  if (cells.rows == 0 || base.rows == 0) {
    out.put("missing_rate_change", std::nullopt);
    out.put("missing_p_value", std::nullopt);
    return;
  }
  out.put("missing_rate_change",
          static_cast<double>(cells.missing) / static_cast<double>(cells.rows) -
              static_cast<double>(base.missing) / static_cast<double>(base.rows));
  out.put("missing_p_value",
          stats::two_proportion_p(base.missing, base.rows, cells.missing, cells.rows));
}
}  // namespace

std::span<const StatisticInfo> MissingDetector::statistics() const {
  return kStats;
}

void MissingDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  put(in.baseline, in.cells, out);
}

void MissingDetector::categorical(const CategoricalComparison& in, StatisticSink& out) const {
  put(in.baseline, in.cells, out);
}

}  // namespace driftd
