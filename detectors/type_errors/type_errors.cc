#include "detectors/type_errors/type_errors.h"

#include "driftd/stats/calibrated_tests.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"type_error_rate", 0, 0.001};
constexpr StatisticInfo kStats[] = {
    {"type_error_p_value", true, false, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the two-proportion test of the type-error rate (a calibrated test of the "
     "default verdict)",
     &kTest}};
}  // namespace

std::span<const StatisticInfo> TypeErrorsDetector::statistics() const {
  return kStats;
}

void TypeErrorsDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  if (in.cells.rows == 0 || in.baseline.rows == 0) {
    out.put("type_error_p_value", std::nullopt);
    return;
  }
  out.put("type_error_p_value", stats::two_proportion_p(in.baseline.type_errors, in.baseline.rows,
                                                        in.cells.type_errors, in.cells.rows));
}

}  // namespace driftd
