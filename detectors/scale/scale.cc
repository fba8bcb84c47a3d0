#include "detectors/scale/scale.h"

#include "driftd/stats/robust.h"

namespace driftd {
namespace {
constexpr DriftTest kTest = {"std_ratio", 1, 0.05, true};
constexpr StatisticInfo kStats[] = {
    {"scale_p_value", true, false, DriftDirection::kLowerIsDrift, 0.05, 0, 1,
     "p-value of the two-sample z test of the winsorized mean absolute deviation (a calibrated "
     "test of the default verdict)",
     &kTest}};
}  // namespace

std::span<const StatisticInfo> ScaleDetector::statistics() const {
  return kStats;
}

void ScaleDetector::numeric(const NumericComparison& in, StatisticSink& out) const {
  out.put("scale_p_value", stats::robust_scale_p(in.robust_baseline, in.robust_current));
}

}  // namespace driftd
